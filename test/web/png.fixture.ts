// Writes real PNG images for the browser tests: a sunset-like scene so that screenshots look like a photo feed.
import { deflateSync } from 'node:zlib';

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function hsl(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/**
 * A width x height RGB PNG of a sky gradient with a sun and hills, tinted by `hue`; `grain` adds
 * film-like noise, which also makes the file large enough for upload progress to be visible.
 */
export function scenePng(options: { width: number; height: number; hue: number; grain?: number; seed?: number }): Buffer {
  const { width, height, hue, grain = 0 } = options;
  let seed = options.seed ?? 1;
  const random = (): number => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const rows: Buffer[] = [];
  const sunX = width * 0.68;
  const sunY = height * 0.42;
  const sunR = Math.min(width, height) * 0.13;
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    const t = y / height;
    const [skyR, skyG, skyB] = hsl((hue + 40 * t) % 360, 0.7, 0.35 + 0.3 * t);
    for (let x = 0; x < width; x++) {
      let [r, g, b] = [skyR, skyG, skyB];
      const d = Math.hypot(x - sunX, y - sunY);
      if (d < sunR) [r, g, b] = hsl((hue + 50) % 360, 0.95, 0.85);
      else if (d < sunR * 2.2) {
        const glow = 1 - (d - sunR) / (sunR * 1.2);
        r = Math.min(255, r + 70 * glow);
        g = Math.min(255, g + 50 * glow);
        b = Math.min(255, b + 20 * glow);
      }
      const hill1 = height * (0.68 + 0.06 * Math.sin(x / width * 5 + hue));
      const hill2 = height * (0.8 + 0.05 * Math.sin(x / width * 9 + 1 + hue));
      if (y > hill2) [r, g, b] = hsl((hue + 180) % 360, 0.35, 0.14 + 0.05 * (1 - t));
      else if (y > hill1) [r, g, b] = hsl((hue + 200) % 360, 0.3, 0.24);
      if (grain > 0) {
        const n = (random() - 0.5) * grain;
        r += n;
        g += n;
        b += n;
      }
      row[1 + x * 3] = Math.max(0, Math.min(255, Math.round(r)));
      row[2 + x * 3] = Math.max(0, Math.min(255, Math.round(g)));
      row[3 + x * 3] = Math.max(0, Math.min(255, Math.round(b)));
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
