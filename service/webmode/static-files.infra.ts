// Reads the web client's built files from a directory, refusing paths outside it.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

/** A file found under the web root. */
export interface StaticFile {
  body: Readable;
  size: number;
  path: string;
}

/** Opens `urlPath` under `root`; null when it is missing, a directory, or outside the root. */
export async function openStatic(root: string, urlPath: string): Promise<StaticFile | null> {
  const base = path.resolve(root);
  const full = path.resolve(base, '.' + path.posix.normalize('/' + urlPath));
  if (full !== base && !full.startsWith(base + path.sep)) return null;
  try {
    const st = await fsp.stat(full);
    if (!st.isFile()) return null;
    return { body: fs.createReadStream(full), size: st.size, path: full };
  } catch {
    return null;
  }
}

/** The package root (the nearest directory above this file holding package.json). */
export function packageRoot(from: string = path.dirname(new URL(import.meta.url).pathname)): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return from;
    dir = up;
  }
}
