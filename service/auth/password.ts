// Password hashing with crypto.scrypt and a per-user random salt; the parameters are stored with each hash.
import crypto from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;

/** scrypt parameters. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * The cost new hashes get: OWASP's N=2^15, r=8, p=3 configuration (as strong as N=2^17, p=1, see
 * docs/adr/0005-password-hashing.md) at 32 MiB per hash instead of 128 MiB, which an API pod's 256 MiB limit could not hold twice.
 */
export const PASSWORD_PARAMS: ScryptParams = { N: 32768, r: 8, p: 3 };

// 128·N·r bytes of scratch memory; the bound below keeps a damaged stored string from costing unbounded memory.
const MAX_MEM = 256 * 1024 * 1024;

function maxmem(params: ScryptParams): number {
  return 128 * params.N * params.r + 1024 * 1024 * 2;
}

/** Hashes `password` as "scrypt$N$r$p$salt$hash" (base64url parts). */
export async function hashPassword(password: string, params: ScryptParams = PASSWORD_PARAMS): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, 32, { ...params, maxmem: maxmem(params) });
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

// Bounds keep a damaged stored string from verifying everything (an empty hash) or costing unbounded memory (a huge N).
const STORED = /^scrypt\$(\d{4,8})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{22,88})\$([A-Za-z0-9_-]{43,88})$/;

/** A stored hash read apart: its parameters, salt and hash; null when it is malformed or outside the bounds this service accepts. */
function parseStored(stored: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | null {
  const m = STORED.exec(stored);
  if (!m) return null;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 1024 || (N & (N - 1)) !== 0 || r < 1 || p < 1 || p > 16 || 128 * N * r > MAX_MEM) return null;
  return { params: { N, r, p }, salt: Buffer.from(m[4]!, 'base64url'), hash: Buffer.from(m[5]!, 'base64url') };
}

/** True when `stored` was hashed with less work than PASSWORD_PARAMS (or cannot be read): it should be hashed again. */
export function needsRehash(stored: string): boolean {
  const params = parseStored(stored)?.params;
  if (!params) return true;
  const cost = (x: ScryptParams) => x.N * x.r * x.p;
  return cost(params) < cost(PASSWORD_PARAMS) || params.N * params.r < (PASSWORD_PARAMS.N * PASSWORD_PARAMS.r) / 4;
}

/** True when `password` matches `stored` (constant-time comparison); false for a malformed `stored`. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseStored(stored);
  if (!parsed) return false;
  const { params, salt, hash: expected } = parsed;
  const actual = await scrypt(password, salt, expected.length, { ...params, maxmem: maxmem(params) });
  return crypto.timingSafeEqual(expected, actual);
}
