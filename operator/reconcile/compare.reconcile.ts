// Decides whether a live object already carries everything the operator wants, so that an unchanged
// app costs no write request.

/** Kubernetes quantity suffixes, for comparing "1000m" with "1" and "1024Mi" with "1Gi". */
const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const quantityPattern = /^([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

/** Parses a Kubernetes quantity string into a number, or undefined when it is not one. */
export function parseQuantity(value: string): number | undefined {
  const match = quantityPattern.exec(value);
  if (!match) return undefined;
  const n = Number(match[1]);
  if (!Number.isFinite(n)) return undefined;
  const suffix = match[2] ?? '';
  return n * (binary[suffix] ?? decimal[suffix] ?? 1);
}

function sameScalar(want: unknown, have: unknown): boolean {
  if (want === have) return true;
  if (typeof want === 'number' && typeof have === 'string') return String(want) === have || parseQuantity(have) === want;
  if (typeof want === 'string' && typeof have === 'number') return want === String(have) || parseQuantity(want) === have;
  if (typeof want === 'string' && typeof have === 'string') {
    const a = parseQuantity(want);
    return a !== undefined && a === parseQuantity(have);
  }
  return false;
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value as object).length === 0;
  return false;
}

/**
 * Returns the path of the first field of `want` that `have` does not carry with an equal value, or
 * null when `have` contains all of `want`. Fields the API server adds (defaults, status, metadata)
 * are ignored because only what `want` names is compared; lists are compared element by element and
 * must have the same length, since server-side apply replaces atomic lists and owns its list items.
 */
export function firstDifference(want: unknown, have: unknown, path = ''): string | null {
  // An empty value asks for nothing; the API server may have filled it in.
  if (isEmpty(want)) return null;
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || have.length !== want.length) return path || '.';
    for (let i = 0; i < want.length; i++) {
      const d = firstDifference(want[i], have[i], `${path}[${i}]`);
      if (d !== null) return d;
    }
    return null;
  }
  if (typeof want === 'object' && want !== null) {
    if (typeof have !== 'object' || have === null || Array.isArray(have)) return path || '.';
    const live = have as Record<string, unknown>;
    for (const [key, value] of Object.entries(want)) {
      // Listed objects come through client-node's models, which rename a few fields (NetworkPolicy's `from` is `_from`).
      const found = key in live ? live[key] : live[`_${key}`];
      const d = firstDifference(value, found, `${path}.${key}`);
      if (d !== null) return d;
    }
    return null;
  }
  return sameScalar(want, have) ? null : path || '.';
}
