import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dumpYaml } from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { toClientModel } from '../../../operator/kube/client.kube.js';

const GOLDEN = 'test/operator/render/golden';

// What the serializer makes of an object; strings quoted, or a hash such as 0537047484e84732 reads back as a float.
const wire = (obj: unknown) => parse(dumpYaml(obj, { forceQuotes: true }));

describe('toClientModel', () => {
  // What client-node sends for a body is its serializer's output: only attributes its models know survive.
  for (const file of readdirSync(GOLDEN).filter((f) => f.endsWith('.yaml'))) {
    it(`${file}: every rendered object reaches the wire unchanged through the client's serializer`, () => {
      const objects = parseAllDocuments(readFileSync(`${GOLDEN}/${file}`, 'utf8')).map((d) => d.toJS() as { kind: string; apiVersion: string });
      expect(objects.length).to.be.greaterThan(0);
      for (const obj of objects) expect(wire(toClientModel(obj)), `${obj.kind}`).to.deep.equal(obj);
    });
  }

  it('keeps the from of a NetworkPolicy rule, which the serializer drops when the object is not converted first', () => {
    const policy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'p' },
      spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { a: 'b' } } }], ports: [{ port: 5432, protocol: 'TCP' }] }] },
    };
    expect(wire(policy).spec.ingress[0]).to.not.have.property('from');
    expect(wire(toClientModel(policy)).spec.ingress[0].from).to.deep.equal(policy.spec.ingress[0]!.from);
  });
});
