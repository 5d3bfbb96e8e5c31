import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { Pager } from '../../service/web/src/pager.model.js';
import type { Page } from '../../service/web/src/types.model.js';

use(chaiAsPromised);

type Item = { id: string };
const items = (...ids: string[]): Item[] => ids.map((id) => ({ id }));

/** A page source over a fixed list of pages keyed by cursor, recording the cursors asked for. */
function pages(map: Record<string, Page<Item>>): { load: (cursor: string | null) => Promise<Page<Item>>; asked: Array<string | null> } {
  const asked: Array<string | null> = [];
  return {
    asked,
    load: async (cursor) => {
      asked.push(cursor);
      const page = map[cursor ?? 'first'];
      if (!page) throw new Error(`no page for ${cursor}`);
      return page;
    },
  };
}

describe('web pager model', () => {
  it('walks the cursors until nextCursor is null', async () => {
    const src = pages({ first: { items: items('a', 'b'), nextCursor: 'c1' }, c1: { items: items('c'), nextCursor: null } });
    const pager = new Pager(src.load);
    expect(await pager.more()).to.deep.equal(items('a', 'b'));
    expect(pager.state.done).to.equal(false);
    expect(await pager.more()).to.deep.equal(items('c'));
    expect(pager.state.done).to.equal(true);
    expect(await pager.more()).to.deep.equal([]);
    expect(src.asked).to.deep.equal([null, 'c1']);
    expect(pager.state.items.map((i) => i.id)).to.deep.equal(['a', 'b', 'c']);
  });

  it('shares one request between concurrent calls', async () => {
    const src = pages({ first: { items: items('a'), nextCursor: 'c1' } });
    const pager = new Pager(src.load);
    const [one, two] = await Promise.all([pager.more(), pager.more()]);
    expect(one).to.equal(two);
    expect(src.asked).to.deep.equal([null]);
  });

  it('drops items already shown when a page boundary shifts', async () => {
    const src = pages({ first: { items: items('a', 'b'), nextCursor: 'c1' }, c1: { items: items('b', 'c'), nextCursor: null } });
    const pager = new Pager(src.load);
    await pager.more();
    expect(await pager.more()).to.deep.equal(items('c'));
    expect(pager.state.items.map((i) => i.id)).to.deep.equal(['a', 'b', 'c']);
  });

  it('keeps the cursor after a failure so the same page can be retried', async () => {
    let fail = true;
    const pager = new Pager<Item>(async (cursor) => {
      if (cursor === 'c1' && fail) throw new Error('boom');
      return cursor === null ? { items: items('a'), nextCursor: 'c1' } : { items: items('b'), nextCursor: null };
    });
    await pager.more();
    await expect(pager.more()).to.be.rejectedWith('boom');
    expect(pager.state.error).to.be.instanceOf(Error);
    expect(pager.state.loading).to.equal(false);
    fail = false;
    expect(await pager.more()).to.deep.equal(items('b'));
    expect(pager.state.error).to.equal(null);
  });

  it('ignores an answer that arrives after a reset', async () => {
    let release: (page: Page<Item>) => void = () => undefined;
    const pager = new Pager<Item>(() => new Promise((resolve) => (release = resolve)));
    const stale = pager.more();
    pager.reset();
    release({ items: items('old'), nextCursor: null });
    expect(await stale).to.deep.equal([]);
    expect(pager.state.items).to.deep.equal([]);
    expect(pager.state.done).to.equal(false);
  });

  it('prepends a new item once', async () => {
    const pager = new Pager(pages({ first: { items: items('a'), nextCursor: null } }).load);
    await pager.more();
    pager.prepend({ id: 'new' });
    pager.prepend({ id: 'a' });
    expect(pager.state.items.map((i) => i.id)).to.deep.equal(['new', 'a']);
  });
});
