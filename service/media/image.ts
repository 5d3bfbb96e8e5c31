// Recognises images by their leading bytes (never by name) and reads their dimensions where the header has them;
// shared by the photos domain, origin mode and the volume driver.

import { AppError } from '../errors.js';

/** How many leading bytes are enough to recognise an image and read its size. */
export const SNIFF_BYTES = 64 * 1024;

/** The image types the service accepts. */
export const IMAGE_TYPES = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif', 'image/webp': 'webp' } as const;

/** An accepted image content type. */
export type ImageType = keyof typeof IMAGE_TYPES;

/** What the leading bytes say about an image. */
export interface ImageInfo {
  type: ImageType;
  width?: number;
  height?: number;
}

const MAX_PNG_SIZE = 0x7fffffff;

/** The type and dimensions of the image whose first bytes are `head`, or not_an_image naming the content field. */
export function requireImage(head: Buffer): ImageInfo {
  const info = sniffImage(head.subarray(0, SNIFF_BYTES));
  if (!info) throw new AppError('not_an_image', 'content: is not a JPEG, PNG, GIF or WebP image', { field: 'content' });
  return info;
}

/** The image type and dimensions of `head` (the first bytes of a file), or null when it is not an accepted image. */
export function sniffImage(head: Buffer): ImageInfo | null {
  if (head.length >= 24 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    const width = head.readUInt32BE(16);
    const height = head.readUInt32BE(20);
    // PNG requires IHDR first and sizes of 1..2^31-1; anything else is not a PNG (and would overflow the integer columns).
    if (head.toString('latin1', 12, 16) !== 'IHDR' || width < 1 || height < 1 || width > MAX_PNG_SIZE || height > MAX_PNG_SIZE) return null;
    return { type: 'image/png', width, height };
  }
  if (head.length >= 10 && (head.toString('latin1', 0, 6) === 'GIF87a' || head.toString('latin1', 0, 6) === 'GIF89a')) {
    return { type: 'image/gif', width: head.readUInt16LE(6), height: head.readUInt16LE(8) };
  }
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') {
    return { type: 'image/webp', ...webpSize(head) };
  }
  if (head.length >= 4 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) {
    return { type: 'image/jpeg', ...jpegSize(head) };
  }
  return null;
}

function jpegSize(b: Buffer): { width?: number; height?: number } {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return {};
    const marker = b[i + 1]!;
    // Any marker may be preceded by 0xFF fill bytes.
    if (marker === 0xff) {
      i += 1;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const len = b.readUInt16BE(i + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = b.readUInt16BE(i + 5);
      const width = b.readUInt16BE(i + 7);
      // A height of 0 means "defined later" (DNL marker), so it is unknown here.
      return { ...(width > 0 ? { width } : {}), ...(height > 0 ? { height } : {}) };
    }
    i += 2 + len;
  }
  return {};
}

function webpSize(b: Buffer): { width?: number; height?: number } {
  const chunk = b.toString('latin1', 12, 16);
  // Lossy: a key frame's start code 9d 01 2a, then 14-bit width and height.
  if (chunk === 'VP8 ' && b.length >= 30 && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) {
    return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  }
  // Lossless: signature 0x2f, then width-1 and height-1 in 14 bits each.
  if (chunk === 'VP8L' && b.length >= 25 && b[20] === 0x2f) {
    const bits = b.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  // Extended: canvas width-1 and height-1 in 24 bits each.
  if (chunk === 'VP8X' && b.length >= 30) {
    return { width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 };
  }
  return {};
}
