// The copy decisions of sync-images on in-memory stores: skip, copy, recopy, missing, deleted meanwhile, concurrency.
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { syncImages } from '../../../service/sync/image-sync.service.js';
import { createLogger } from '../../../service/log.js';
import { MemoryStorage } from '../fakes.js';

use(chaiAsPromised);

const key = (i: number) => `photos/${String(i).padStart(22, 'K')}.png`;
const log = createLogger('error');

describe('syncImages', () => {
  it('copies what the target lacks, skips what it holds, and counts only listed rows that still exist as missing', async () => {
    const source = new MemoryStorage();
    const target = new MemoryStorage();
    await source.put(key(1), Buffer.from('one'), 'image/png');
    await source.put(key(2), Buffer.from('two'), 'image/png');
    await target.put(key(2), Buffer.from('two'), 'image/png');
    await target.put(key(3), Buffer.from('only in the target'), 'image/png');
    const rows = new Set([key(1), key(2), key(3), key(4)]);
    const result = await syncImages({ listKeys: async () => [...rows, key(5)], stillListed: async (k) => rows.has(k), source, target, log });
    expect(result).to.deep.equal({ listed: 5, copied: 1, alreadyThere: 2, missing: 1, missingKeys: [key(4)] });
    expect(target.objects.get(key(1))?.body.toString()).to.equal('one');
  });

  it('recopies an object whose size differs and fails when the written size is wrong', async () => {
    const source = new MemoryStorage();
    const target = new MemoryStorage();
    await source.put(key(1), Buffer.from('the right bytes'), 'image/png');
    await target.put(key(1), Buffer.from('short'), 'image/png');
    expect(await syncImages({ listKeys: async () => [key(1)], stillListed: async () => true, source, target, log })).to.include({ copied: 1, alreadyThere: 0 });
    const lossy = new MemoryStorage();
    lossy.putStream = async (k, _body, _size, type) => void lossy.objects.set(k, { body: Buffer.from('x'), contentType: type });
    await expect(syncImages({ listKeys: async () => [key(1)], stillListed: async () => true, source, target: lossy, log })).to.be.rejectedWith(/while copying .*: the target holds 1 bytes, the source 15/);
  });

  it('copies at most `concurrency` keys at once', async () => {
    const source = new MemoryStorage();
    const target = new MemoryStorage();
    const keys = Array.from({ length: 30 }, (_, i) => key(i));
    for (const k of keys) await source.put(k, Buffer.from(k), 'image/png');
    let active = 0;
    let peak = 0;
    const put = target.putStream.bind(target);
    target.putStream = async (...args) => {
      peak = Math.max(peak, ++active);
      await new Promise((r) => setTimeout(r, 2));
      await put(...args);
      active--;
    };
    expect(await syncImages({ listKeys: async () => keys, stillListed: async () => true, source, target, log, concurrency: 4 })).to.include({ copied: 30 });
    expect(peak).to.equal(4);
  });
});
