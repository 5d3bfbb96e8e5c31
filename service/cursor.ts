// Page cursors: the id of the last item on a page, in a form clients treat as opaque and the OpenAPI document states exactly.

/** The form every cursor takes: `p` and the id (at most 15 digits, so every match is a safe integer). */
export const cursorPattern = '^p[1-9][0-9]{0,14}$';
const CURSOR = new RegExp(cursorPattern);

/** Encodes the id of the last item on a page as an opaque cursor. */
export function encodeCursor(lastId: number): string {
  return `p${lastId}`;
}

/** The id a cursor continues below, or null when `cursor` is not one encodeCursor made. */
export function decodeCursor(cursor: string): number | null {
  return CURSOR.test(cursor) ? Number(cursor.slice(1)) : null;
}
