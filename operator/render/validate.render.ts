// A structural check of a spec against the CRD's OpenAPI schema, for offline rendering (the API server does it online).
import type { SchemaNode } from '../api/schema.api.js';

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Problems of a value against a schema node, each naming the field path; empty when it conforms (CEL rules excepted). */
export function schemaProblems(value: unknown, schema: SchemaNode, path: string): string[] {
  const actual = typeOf(value);
  if (schema['x-kubernetes-int-or-string']) {
    if (actual !== 'integer' && actual !== 'string')
      return [`${path}: must be an integer or a string, got ${actual}`];
  } else if (schema.type) {
    const ok = schema.type === actual || (schema.type === 'number' && actual === 'integer');
    if (!ok)
      return [`${path}: must be ${/^[aeiou]/.test(schema.type) ? 'an' : 'a'} ${schema.type}, got ${actual}`];
  }
  const out: string[] = [];
  if (schema.enum && !schema.enum.includes(value as string | number)) {
    out.push(
      `${path}: must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      out.push(`${path}: must be >= ${schema.minimum}, got ${value}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      out.push(`${path}: must be <= ${schema.maximum}, got ${value}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      out.push(`${path}: must not be empty`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      out.push(`${path}: longer than ${schema.maxLength} characters`);
    }
    if (schema.pattern && !new RegExp(schema.pattern).test(value))
      out.push(`${path}: ${JSON.stringify(value)} is not valid`);
  }
  if (actual === 'array' && schema.items) {
    (value as unknown[]).forEach((item, i) =>
      out.push(...schemaProblems(item, schema.items!, `${path}[${i}]`)),
    );
  }
  if (actual === 'object' && !schema['x-kubernetes-preserve-unknown-fields'] && !schema.tsClientType) {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in obj)) out.push(`${path}.${key}: required`);
    for (const [key, child] of Object.entries(obj)) {
      const childSchema = schema.properties?.[key] ?? schema.additionalProperties;
      if (!childSchema) {
        if (schema.properties) out.push(`${path}.${key}: unknown field`);
        continue;
      }
      out.push(...schemaProblems(child, childSchema, `${path}.${key}`));
    }
  }
  return out;
}
