import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { CRD_PATH, TYPES_PATH, generate } from '../../../hack/gen-api.js';
import { crdObject } from '../../../operator/api/codegen.api.js';
import { printerColumns, rootSchema, type SchemaNode } from '../../../operator/api/schema.api.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function walk(node: SchemaNode, path: string, visit: (node: SchemaNode, path: string) => void): void {
  visit(node, path);
  for (const [name, child] of Object.entries(node.properties ?? {})) walk(child, `${path}.${name}`, visit);
  if (node.items) walk(node.items, `${path}[]`, visit);
  if (node.additionalProperties) walk(node.additionalProperties, `${path}{}`, visit);
}

function allNodes(): { node: SchemaNode; path: string }[] {
  const out: { node: SchemaNode; path: string }[] = [];
  walk(rootSchema, '', (node, path) => out.push({ node, path: path || '<root>' }));
  return out;
}

describe('GraminstaApp schema', () => {
  it('matches the committed CRD and types (run `npx tsx hack/gen-api.ts` after changing schema.api.ts)', async () => {
    const { crdYaml, typesTs } = await generate();
    expect(await readFile(root + CRD_PATH, 'utf8')).to.equal(crdYaml, `${CRD_PATH} is stale`);
    expect(await readFile(root + TYPES_PATH, 'utf8')).to.equal(typesTs, `${TYPES_PATH} is stale`);
  });

  it('describes every field', () => {
    const missing = allNodes()
      .filter(({ node }) => typeof node.description !== 'string' || node.description.trim().length < 8)
      .map(({ path }) => path);
    expect(missing).to.deep.equal([]);
  });

  it('is structural: every node has a type, or is int-or-string, or preserves unknown fields', () => {
    const untyped = allNodes()
      .filter(
        ({ node }) =>
          node.type === undefined &&
          node['x-kubernetes-int-or-string'] !== true &&
          node['x-kubernetes-preserve-unknown-fields'] !== true,
      )
      .map(({ path }) => path);
    expect(untyped).to.deep.equal([]);
  });

  it('has no defaults inside lists and no preserve-unknown-fields except the behavior passthrough', () => {
    const offenders: string[] = [];
    walk(rootSchema, '', (node, path) => {
      if (path.includes('[]') && node.default !== undefined) offenders.push(`default at ${path}`);
      if (node['x-kubernetes-preserve-unknown-fields'] && !path.endsWith('.behavior'))
        offenders.push(`preserve at ${path}`);
    });
    expect(offenders).to.deep.equal([]);
  });

  it('bounds every string and list that a CEL rule could read', () => {
    const unbounded = allNodes()
      .filter(({ path }) => path.startsWith('.spec'))
      .filter(
        ({ node }) =>
          (node.type === 'string' && node.maxLength === undefined && node.enum === undefined) ||
          (node.type === 'array' && node.maxItems === undefined) ||
          (node.additionalProperties !== undefined && node.maxProperties === undefined),
      )
      .map(({ path }) => path);
    expect(unbounded).to.deep.equal([]);
  });

  it('gives every CEL rule a message', () => {
    const rules = allNodes().flatMap(({ node }) => node['x-kubernetes-validations'] ?? []);
    expect(rules.length).to.be.greaterThan(8);
    for (const rule of rules) expect(rule.message.length, rule.rule).to.be.greaterThan(0);
  });

  it('declares the status and scale subresources, printer columns and short names', () => {
    const crd = crdObject() as unknown as {
      spec: {
        names: { shortNames: string[] };
        scope: string;
        versions: {
          subresources: { status: object; scale: Record<string, string> };
          additionalPrinterColumns: { name: string }[];
          schema: { openAPIV3Schema: Record<string, unknown> };
        }[];
      };
    };
    const version = crd.spec.versions[0]!;
    expect(crd.spec.scope).to.equal('Namespaced');
    expect(crd.spec.names.shortNames).to.include('gapp');
    expect(version.subresources.scale).to.deep.equal({
      specReplicasPath: '.spec.api.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    });
    expect(version.additionalPrinterColumns.map((c) => c.name)).to.deep.equal([
      'Stage',
      'API',
      'DB',
      'Cache',
      'Ready',
      'Age',
    ]);
    expect(JSON.stringify(version.schema.openAPIV3Schema)).not.to.match(/tsName|tsClientType/);
  });

  it('points every printer column and the scale paths at fields that exist', () => {
    const resolve = (jsonPath: string): SchemaNode | undefined => {
      let node: SchemaNode | undefined = rootSchema;
      for (const part of jsonPath
        .replace(/\[\?.*\]/, '[]')
        .split('.')
        .slice(1)) {
        if (part.endsWith('[]')) node = node?.properties?.[part.slice(0, -2)]?.items;
        else node = node?.properties?.[part];
      }
      return node;
    };
    for (const column of printerColumns.filter((c) => c.jsonPath.startsWith('.status'))) {
      expect(resolve(column.jsonPath), column.jsonPath).to.not.equal(undefined);
    }
    expect(resolve('.status.conditions[]')?.properties?.status?.type).to.equal('string');
    expect(resolve('.spec.api.replicas')?.type).to.equal('integer');
    expect(resolve('.status.replicas')?.type).to.equal('integer');
    expect(resolve('.status.selector')?.type).to.equal('string');
  });
});
