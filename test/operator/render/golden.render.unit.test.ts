import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1PodSpec } from '@kubernetes/client-node';
import { DEFAULT_IMAGES } from '../../../operator/api/images.api.js';
import { renderManifestObjects, renderManifests } from '../../../operator/render/manifests.render.js';
import { restrictedViolations } from './pod-security.js';

const EXAMPLES = 'examples';
const GOLDEN = 'test/operator/render/golden';
const examples = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const opts = { images: DEFAULT_IMAGES, namespace: 'default' };

/** A short readable diff: the first differing line with context, and how many lines differ. */
function diff(expected: string, actual: string): string {
  const e = expected.split('\n');
  const a = actual.split('\n');
  const first = e.findIndex((line, i) => line !== a[i]);
  const at = first === -1 ? Math.min(e.length, a.length) : first;
  const from = Math.max(0, at - 4);
  const show = (lines: string[], sign: string) =>
    lines
      .slice(from, at + 6)
      .map((l, i) => `${from + i + 1 === at + 1 ? sign : ' '} ${from + i + 1}: ${l}`)
      .join('\n');
  const differing = Math.max(e.length, a.length) - e.filter((l, i) => l === a[i]).length;
  return `first difference at line ${at + 1} (${differing} lines differ)\n--- golden\n${show(e, '-')}\n+++ rendered\n${show(a, '+')}\nrun: npx tsx hack/update-golden.ts`;
}

describe('golden files of examples/', () => {
  it('has a golden file for every example', () => {
    expect(examples.length).to.be.greaterThan(0);
    const golden = readdirSync(GOLDEN)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    expect(golden).to.deep.equal(examples);
  });

  for (const file of examples) {
    const text = readFileSync(join(EXAMPLES, file), 'utf8');

    it(`${file} renders exactly as its golden file`, () => {
      const expected = readFileSync(join(GOLDEN, file), 'utf8');
      const actual = renderManifests(text, file, opts);
      if (actual !== expected) expect.fail(diff(expected, actual));
    });

    it(`${file}: every pod passes Pod Security restricted`, () => {
      const pods = renderManifestObjects(text, file, opts).flatMap((o) => {
        const template = (o as { spec?: { template?: { spec?: V1PodSpec } } }).spec?.template?.spec;
        return template ? [{ name: `${o.kind}/${o.metadata?.name}`, spec: template }] : [];
      });
      expect(pods.length).to.be.greaterThan(0);
      for (const pod of pods) expect(restrictedViolations(pod.spec), pod.name).to.deep.equal([]);
    });
  }
});
