// Large fields of cached objects kept deflated. A StatefulSet's spec (its pod template) is some 9 KB of JSON
// and, parsed, about 13 KB of heap per app; the caches keep one per app for the drift comparison, which reads
// it only when the app is reconciled. Deflated it is about a fifth of that. Reading the field inflates and
// parses a fresh copy, so every reader sees the same value as before; nothing is dropped, so drift is judged
// exactly as on the full object.
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/** Fields whose JSON is shorter than this stay as they are: packing them would save little and cost a parse per read. */
export const DEFAULT_MIN_PACKED_LENGTH = 2048;

/**
 * Replaces, in place, each of `fields` of `obj` whose value is an object with at least `minLength` characters of
 * JSON by an enumerable getter that returns a fresh parsed copy of a deflated snapshot (spreads and JSON.stringify
 * see the value); assigning the field stores the new value as a plain property again. Returns `obj`.
 */
export function packFields<T extends object>(obj: T, fields: readonly string[], minLength = DEFAULT_MIN_PACKED_LENGTH): T {
  if (!(minLength >= 1)) throw new Error(`packFields: minLength must be >= 1 (got ${minLength})`);
  const record = obj as Record<string, unknown>;
  for (const field of fields) {
    const value = record[field];
    if (value === null || typeof value !== 'object') continue;
    const json = JSON.stringify(value);
    if (json.length < minLength) continue;
    // Kept as a one-byte string in the V8 heap, not as the Buffer zlib returns: that is a view into a 16 KiB
    // chunk, which would keep the whole chunk alive outside the heap.
    const packed = deflateRawSync(json).toString('latin1');
    Object.defineProperty(record, field, {
      enumerable: true,
      configurable: true,
      get: () => JSON.parse(inflateRawSync(Buffer.from(packed, 'latin1')).toString('utf8')) as unknown,
      set: (next: unknown) => Object.defineProperty(record, field, { value: next, enumerable: true, configurable: true, writable: true }),
    });
  }
  return obj;
}

/** True when `field` of `obj` is held packed by packFields. */
export function isPacked(obj: object, field: string): boolean {
  return typeof Object.getOwnPropertyDescriptor(obj, field)?.get === 'function';
}
