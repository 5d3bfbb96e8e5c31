// A small deterministic hash for names and annotations (render/ may not import node:crypto).

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;

/** FNV-1a 64 of the UTF-8 bytes of a string, as 16 lowercase hex digits. */
export function fnv1a64(text: string): string {
  let hash = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME) & MASK_64;
  }
  return hash.toString(16).padStart(16, '0');
}

/** JSON with object keys sorted at every level, so equal values always serialise the same way. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

/** Hash of any JSON-like value, independent of key order. */
export function hashOf(value: unknown): string {
  return fnv1a64(stableStringify(value));
}

/**
 * Hash of the configuration a pod reads: the data of its ConfigMaps, and of the Secrets it refers to as far as
 * render knows them (the generated ones, and the user's when the caller passed them in).
 */
export function configHash(
  configMaps: ({ metadata?: { name?: string }; data?: Record<string, string> } | null)[],
  secretNames: string[],
  secretData: (name: string) => Readonly<Record<string, string>> | undefined,
): string {
  const secrets: Record<string, unknown> = {};
  for (const name of [...secretNames].sort()) secrets[name] = secretData(name) ?? null;
  const maps = configMaps.filter((c) => c !== null).map((c) => [c.metadata?.name, c.data]);
  return hashOf({ configMaps: maps, secrets });
}
