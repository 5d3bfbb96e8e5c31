// Page cursors: the id of the last item on a page, encoded so clients treat it as opaque.

/** Encodes the id of the last item on a page as an opaque cursor. */
export function encodeCursor(lastId: number): string {
  return Buffer.from(`p:${lastId}`, 'utf8').toString('base64url');
}

/** The id a cursor continues below, or null when `cursor` is not one encodeCursor made. */
export function decodeCursor(cursor: string): number | null {
  const m = /^p:([1-9]\d{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  // Buffer's decoder skips characters outside the alphabet, so only the canonical encoding is accepted.
  if (!m || Number(m[1]) > Number.MAX_SAFE_INTEGER || encodeCursor(Number(m[1])) !== cursor) return null;
  return Number(m[1]);
}
