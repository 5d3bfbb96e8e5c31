import { expect } from 'chai';
import { sniffImage, validateImage } from '../../../service/media/image.js';
import { AppError } from '../../../service/errors.js';
import { pngBytes } from '../fakes.js';
import { JPEG } from '../harness.js';

/** A PNG head: signature and an IHDR chunk (CRC not checked by the sniffer). */
function png(width: number, height: number, chunk = 'IHDR'): Buffer {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write(chunk, 12, 'latin1');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.writeUInt8(8, 24);
  b.writeUInt8(6, 25);
  return b;
}

function gif(width: number, height: number, version = '89a'): Buffer {
  const b = Buffer.alloc(13);
  b.write(`GIF${version}`, 0, 'latin1');
  b.writeUInt16LE(width, 6);
  b.writeUInt16LE(height, 8);
  return b;
}

/** A JPEG head: SOI, an APP0 segment of `app0Len` bytes, optional fill bytes, then SOF`n` with the frame size. */
function jpeg(width: number, height: number, opts: { sof?: number; app0Len?: number; fill?: number } = {}): Buffer {
  const app0Len = opts.app0Len ?? 16;
  const app0 = Buffer.alloc(2 + app0Len);
  app0.writeUInt16BE(0xffe0, 0);
  app0.writeUInt16BE(app0Len, 2);
  app0.write('JFIF\0', 4, 'latin1');
  const dqt = Buffer.from([0xff, 0xdb, 0x00, 0x04, 0x00, 0x01]);
  const sof = Buffer.alloc(2 + 17);
  sof.writeUInt16BE(0xff00 | (opts.sof ?? 0xc0), 0);
  sof.writeUInt16BE(17, 2);
  sof.writeUInt8(8, 4);
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, dqt, Buffer.alloc(opts.fill ?? 0, 0xff), sof, Buffer.from([0xff, 0xda, 0x00, 0x02])]);
}

function riff(fourcc: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(20);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(12 + payload.length, 4);
  head.write('WEBP', 8, 'latin1');
  head.write(fourcc, 12, 'latin1');
  head.writeUInt32LE(payload.length, 16);
  return Buffer.concat([head, payload]);
}

function webpLossy(width: number, height: number): Buffer {
  const p = Buffer.alloc(10);
  Buffer.from([0x9d, 0x01, 0x2a]).copy(p, 3);
  p.writeUInt16LE(width & 0x3fff, 6);
  p.writeUInt16LE(height & 0x3fff, 8);
  return riff('VP8 ', p);
}

function webpLossless(width: number, height: number): Buffer {
  const p = Buffer.alloc(5);
  p.writeUInt8(0x2f, 0);
  p.writeUInt32LE(((width - 1) & 0x3fff) | (((height - 1) & 0x3fff) << 14), 1);
  return riff('VP8L', p);
}

function webpExtended(width: number, height: number): Buffer {
  const p = Buffer.alloc(10);
  p.writeUIntLE(width - 1, 4, 3);
  p.writeUIntLE(height - 1, 7, 3);
  return riff('VP8X', p);
}

describe('sniffImage', () => {
  describe('accepts images by their magic bytes and reads the dimensions', () => {
    it('PNG', () => expect(sniffImage(png(640, 480))).to.deep.equal({ type: 'image/png', width: 640, height: 480 }));
    it('GIF87a and GIF89a', () => {
      expect(sniffImage(gif(320, 200))).to.deep.equal({ type: 'image/gif', width: 320, height: 200 });
      expect(sniffImage(gif(1, 65535, '87a'))).to.deep.equal({ type: 'image/gif', width: 1, height: 65535 });
    });
    it('baseline JPEG', () => expect(sniffImage(jpeg(1024, 768))).to.deep.equal({ type: 'image/jpeg', width: 1024, height: 768 }));
    it('progressive JPEG (SOF2) after a large APP segment', () => {
      expect(sniffImage(jpeg(4000, 3000, { sof: 0xc2, app0Len: 5000 }))).to.deep.equal({ type: 'image/jpeg', width: 4000, height: 3000 });
    });
    it('JPEG with fill bytes before a marker', () => expect(sniffImage(jpeg(800, 600, { fill: 3 }))).to.deep.equal({ type: 'image/jpeg', width: 800, height: 600 }));
    it('JPEG whose frame header lies beyond the bytes read: type only', () => {
      expect(sniffImage(jpeg(800, 600, { app0Len: 5000 }).subarray(0, 4096))).to.deep.equal({ type: 'image/jpeg' });
    });
    it('does not take DHT (C4) for a frame header', () => {
      const dht = Buffer.from([0xff, 0xd8, 0xff, 0xc4, 0x00, 0x08, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
      const img = Buffer.concat([dht, jpeg(10, 20).subarray(2)]);
      expect(sniffImage(img)).to.deep.equal({ type: 'image/jpeg', width: 10, height: 20 });
    });
    it('WebP lossy (VP8)', () => expect(sniffImage(webpLossy(550, 368))).to.deep.equal({ type: 'image/webp', width: 550, height: 368 }));
    it('WebP lossless (VP8L)', () => expect(sniffImage(webpLossless(386, 395))).to.deep.equal({ type: 'image/webp', width: 386, height: 395 }));
    it('WebP extended (VP8X)', () => expect(sniffImage(webpExtended(20000, 1))).to.deep.equal({ type: 'image/webp', width: 20000, height: 1 }));
    it('WebP with an unknown chunk: type only', () => expect(sniffImage(riff('ABCD', Buffer.alloc(10)))).to.deep.equal({ type: 'image/webp' }));
  });

  describe('rejects what is not an accepted image', () => {
    const cases: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['HTML', Buffer.from('<!DOCTYPE html><html><script>alert(1)</script></html>')],
      ['HTML with a BOM', Buffer.from('\ufeff<html><body>hi</body></html>')],
      ['SVG', Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>')],
      ['SVG without XML prolog', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>')],
      ['zip', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
      ['PDF', Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj\n')],
      ['BMP', Buffer.from('BM' + '\0'.repeat(30), 'latin1')],
      ['a RIFF that is not WebP (WAV)', Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1')],
      ['truncated PNG signature', png(1, 1).subarray(0, 7)],
      ['PNG signature without a complete IHDR', png(1, 1).subarray(0, 20)],
      ['truncated GIF', Buffer.from('GIF89a\x01', 'latin1')],
      ['GIF with another version', gif(1, 1, '90a')],
      ['truncated WebP', webpLossy(1, 1).subarray(0, 11)],
      ['JPEG SOI only', Buffer.from([0xff, 0xd8, 0xff])],
      ['text', Buffer.from('hello world, this is not an image at all')],
    ];
    for (const [name, bytes] of cases) {
      it(name, () => expect(sniffImage(bytes)).to.equal(null));
    }
  });

  describe('does not trust impossible header values', () => {
    it('rejects a PNG whose first chunk is not IHDR', () => expect(sniffImage(png(10, 10, 'IDAT'))).to.equal(null));
    it('rejects a PNG with zero width or height', () => {
      expect(sniffImage(png(0, 10))).to.equal(null);
      expect(sniffImage(png(10, 0))).to.equal(null);
    });
    it('rejects a PNG with a width above 2^31-1 (the PNG limit; it would not fit the integer column either)', () => {
      expect(sniffImage(png(0x80000000, 10))).to.equal(null);
      expect(sniffImage(png(10, 0xffffffff))).to.equal(null);
    });
    it('leaves a JPEG height of 0 (defined later by DNL) unknown', () => {
      expect(sniffImage(jpeg(100, 0))).to.deep.equal({ type: 'image/jpeg', width: 100 });
    });
  });
});

describe('validateImage (the whole body)', () => {
  const PNG_OK = pngBytes(4, 2);
  const GIF_OK = Buffer.from('47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b', 'hex');
  const JPEG_OK = JPEG;
  const webp = (extra = 0): Buffer => {
    const data = Buffer.from([0x2f, 0x03, 0x40, 0x00, 0x00]);
    const chunk = Buffer.concat([Buffer.from('VP8L', 'latin1'), Buffer.from([5, 0, 0, 0]), data, Buffer.alloc(1)]);
    const size = Buffer.alloc(4);
    size.writeUInt32LE(4 + chunk.length + extra);
    return Buffer.concat([Buffer.from('RIFF', 'latin1'), size, Buffer.from('WEBP', 'latin1'), chunk]);
  };
  const refused = (b: Buffer, reason: RegExp) => {
    const err = (() => {
      try {
        validateImage(b);
      } catch (e) {
        return e as AppError;
      }
      return null;
    })();
    expect(err, 'validateImage accepted it').to.be.instanceOf(AppError);
    expect(err!.code).to.equal('not_an_image');
    expect(err!.message).to.match(reason);
  };

  it('accepts complete PNG, GIF, WebP and JPEG bodies, with their dimensions', () => {
    expect(validateImage(PNG_OK)).to.deep.equal({ type: 'image/png', width: 4, height: 2 });
    expect(validateImage(GIF_OK)).to.deep.equal({ type: 'image/gif', width: 1, height: 1 });
    expect(validateImage(webp())).to.deep.include({ type: 'image/webp' });
    expect(validateImage(JPEG_OK)).to.deep.equal({ type: 'image/jpeg', width: 3, height: 2 });
  });
  it('refuses a PNG header followed by HTML', () => {
    refused(Buffer.concat([PNG_OK.subarray(0, 33), Buffer.from('<html><script>alert(document.cookie)</script></html>')]), /PNG/);
  });
  it('refuses truncated bodies of every type', () => {
    refused(PNG_OK.subarray(0, PNG_OK.length - 5), /truncated|IEND/);
    refused(PNG_OK.subarray(0, 40), /truncated/);
    refused(GIF_OK.subarray(0, GIF_OK.length - 1), /truncated/);
    refused(webp().subarray(0, webp().length - 2), /truncated/);
    refused(JPEG_OK.subarray(0, JPEG_OK.length - 2), /truncated/);
  });
  it('refuses a PNG with a corrupted chunk (CRC) or bytes after IEND, and a JPEG with garbage between segments', () => {
    const flipped = Buffer.from(PNG_OK);
    flipped[20] = flipped[20]! ^ 1;
    refused(flipped, /CRC/);
    refused(Buffer.concat([PNG_OK, Buffer.from('<html>')]), /after IEND/);
    refused(Buffer.concat([JPEG_OK.subarray(0, 15), Buffer.from('garbage'), JPEG_OK.subarray(15)]), /garbage/);
  });
});
