// Recognises images by their leading bytes (never by name) and reads their dimensions where the header has them;
// shared by the photos domain, origin mode and the volume driver.

import zlib from 'node:zlib';
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

/** Why `validateImage` refused a body (a short phrase for the error message). */
type Verdict = { ok: true } | { ok: false; reason: string };
const bad = (reason: string): Verdict => ({ ok: false, reason });
const OK: Verdict = { ok: true };

// PNG: chunks (length, type, data, CRC) from IHDR to IEND with valid CRCs, at least one IDAT, nothing after IEND.
function checkPng(b: Buffer): Verdict {
  let i = 8;
  let first = true;
  let idat = false;
  while (i + 12 <= b.length) {
    const len = b.readUInt32BE(i);
    const type = b.toString('latin1', i + 4, i + 8);
    if (len > 0x7fffffff || i + 12 + len > b.length) return bad(`its ${type} chunk runs past the end (truncated)`);
    if (first && (type !== 'IHDR' || len !== 13)) return bad('its first chunk is not IHDR');
    first = false;
    if (zlib.crc32(b.subarray(i + 4, i + 8 + len)) !== b.readUInt32BE(i + 8 + len)) return bad(`its ${type} chunk has a wrong CRC`);
    if (type === 'IDAT') idat = true;
    i += 12 + len;
    if (type === 'IEND') {
      if (!idat) return bad('it has no image data (IDAT)');
      return i === b.length ? OK : bad('it has bytes after IEND');
    }
  }
  return bad('it ends before IEND (truncated)');
}

// GIF: header, logical screen (and global colour table), then extensions and images of length-prefixed sub-blocks up to the trailer.
function checkGif(b: Buffer): Verdict {
  if (b.length < 13) return bad('it is truncated');
  let i = 13 + (b[10]! & 0x80 ? 3 * 2 ** ((b[10]! & 7) + 1) : 0);
  let images = 0;
  const subBlocks = (): boolean => {
    for (;;) {
      if (i >= b.length) return false;
      const n = b[i]!;
      i += 1 + n;
      if (n === 0) return i <= b.length;
    }
  };
  while (i < b.length) {
    const introducer = b[i]!;
    if (introducer === 0x3b) return images > 0 ? OK : bad('it has no image');
    if (introducer === 0x21) {
      i += 2;
      if (!subBlocks()) return bad('an extension runs past the end (truncated)');
    } else if (introducer === 0x2c) {
      if (i + 10 > b.length) return bad('an image descriptor is truncated');
      const flags = b[i + 9]!;
      i += 10 + (flags & 0x80 ? 3 * 2 ** ((flags & 7) + 1) : 0) + 1;
      if (!subBlocks()) return bad('image data runs past the end (truncated)');
      images += 1;
    } else {
      return bad(`it has an unknown block 0x${introducer.toString(16)}`);
    }
  }
  return bad('it ends before the trailer (truncated)');
}

// WebP: the RIFF size matches the body, and the chunks (padded to even sizes) fill it exactly, starting with VP8, VP8L or VP8X.
function checkWebp(b: Buffer): Verdict {
  if (b.length < 20) return bad('it is truncated');
  if (b.readUInt32LE(4) + 8 !== b.length) return bad(`its RIFF size says ${b.readUInt32LE(4) + 8} bytes but it has ${b.length} (truncated or padded)`);
  const firstChunk = b.toString('latin1', 12, 16);
  if (firstChunk !== 'VP8 ' && firstChunk !== 'VP8L' && firstChunk !== 'VP8X') return bad('its first chunk is not VP8, VP8L or VP8X');
  let i = 12;
  let image = false;
  while (i < b.length) {
    if (i + 8 > b.length) return bad('a chunk header is truncated');
    const type = b.toString('latin1', i, i + 4);
    const len = b.readUInt32LE(i + 4);
    if (type === 'VP8 ' || type === 'VP8L') image = true;
    i += 8 + len + (len & 1);
    if (i > b.length) return bad(`its ${type.trim()} chunk runs past the end (truncated)`);
  }
  return image ? OK : bad('it has no VP8 or VP8L image data');
}

// JPEG: marker segments from SOI, a frame header (SOF) before the first scan, entropy-coded data, and EOI.
function checkJpeg(b: Buffer): Verdict {
  let i = 2;
  let frame = false;
  while (i + 1 < b.length) {
    if (b[i] !== 0xff) return bad(`it has garbage where a marker should be (offset ${i})`);
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i += 1;
      continue;
    }
    if (marker === 0xd9) return frame ? OK : bad('it has no frame header (SOF)');
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (i + 4 > b.length) return bad('a segment header is truncated');
    const len = b.readUInt16BE(i + 2);
    if (len < 2 || i + 2 + len > b.length) return bad('a segment runs past the end (truncated)');
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) frame = true;
    i += 2 + len;
    if (marker === 0xda) {
      if (!frame) return bad('a scan comes before the frame header');
      // Entropy-coded data: 0xFF is followed by 0x00 (stuffing) or a restart marker inside it; any other marker ends it.
      while (i + 1 < b.length && !(b[i] === 0xff && b[i + 1] !== 0x00 && !(b[i + 1]! >= 0xd0 && b[i + 1]! <= 0xd7))) i += 1;
    }
  }
  return bad('it ends before EOI (truncated)');
}

/**
 * The type and dimensions of the complete image `body`, after checking its structure from the first byte to the last
 * (chunks, CRCs, blocks, segments and their lengths; pixels are not decoded): not_an_image naming what is wrong otherwise.
 */
export function validateImage(body: Buffer): ImageInfo {
  const info = requireImage(body.subarray(0, SNIFF_BYTES));
  const check = { 'image/png': checkPng, 'image/gif': checkGif, 'image/webp': checkWebp, 'image/jpeg': checkJpeg }[info.type];
  const verdict = check(body);
  if (!verdict.ok) throw new AppError('not_an_image', `content: is not a valid ${info.type.slice(6).toUpperCase()} image: ${verdict.reason}`, { field: 'content' });
  return info;
}
