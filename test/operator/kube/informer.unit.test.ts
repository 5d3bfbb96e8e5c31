import { expect } from 'chai';
import { type KubernetesListObject, type V1ConfigMap } from '@kubernetes/client-node';
import { createInformer } from '../../../operator/kube/informer.kube.js';
import { FakeClock, flushPromises } from '../../support/fake-clock.js';
import { offlineKubeConfig } from './helpers.js';

type WatchCallback = (phase: string, obj: V1ConfigMap, watchObj?: unknown) => void;
type DoneCallback = (err: unknown) => void;

// Stands in for the watch transport only: the list/relist/backoff logic under test is real.
class FakeWatch {
  calls: Array<{ query: Record<string, unknown>; callback: WatchCallback; done: DoneCallback }> = [];
  failNext: unknown[] = [];
  async watch(_path: string, query: Record<string, unknown>, callback: WatchCallback, done: DoneCallback): Promise<AbortController> {
    const next = this.failNext.shift();
    if (next) {
      done(next);
    } else {
      this.calls.push({ query, callback, done });
    }
    return new AbortController();
  }
  get current() {
    const last = this.calls.at(-1);
    if (!last) throw new Error('no watch open');
    return last;
  }
}

function cm(name: string, rv: string, data: Record<string, string> = {}): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: rv }, data };
}

function listOf(items: V1ConfigMap[], rv: string): KubernetesListObject<V1ConfigMap> {
  return { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: rv }, items };
}

describe('createInformer (supervision, with a fake watch transport)', () => {
  let clock: FakeClock;
  let watch: FakeWatch;
  let lists: Array<KubernetesListObject<V1ConfigMap> | Error>;
  let listCalls: number;
  const listFn = async () => {
    listCalls++;
    const next = lists.shift();
    if (!next) throw new Error('unexpected list');
    if (next instanceof Error) throw next;
    return next;
  };
  const make = (extra: { resyncMs?: number; slim?: (o: V1ConfigMap) => V1ConfigMap } = {}) =>
    createInformer<V1ConfigMap>(offlineKubeConfig(), {
      path: '/api/v1/namespaces/ns/configmaps',
      listFn,
      clock,
      watch,
      backoff: { initialMs: 100, maxMs: 400 },
      ...extra,
    });

  beforeEach(() => {
    clock = new FakeClock();
    watch = new FakeWatch();
    lists = [];
    listCalls = 0;
  });

  it('start resolves after the first list is cached, and watch events update the cache', async () => {
    lists.push(listOf([cm('a', '1'), { metadata: { name: 'bare', namespace: 'ns', resourceVersion: '2' } }], '5'));
    const informer = make();
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata!.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata!.name}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata!.name}`));
    await informer.start();
    expect(informer.hasSynced()).to.equal(true);
    expect(informer.get('a', 'ns')?.metadata?.resourceVersion).to.equal('1');
    expect(informer.get('bare', 'ns')).to.include({ apiVersion: 'v1', kind: 'ConfigMap' });
    expect(watch.current.query.resourceVersion).to.equal('5');
    watch.current.callback('ADDED', cm('b', '6'));
    watch.current.callback('MODIFIED', cm('a', '7', { k: 'v' }));
    watch.current.callback('DELETED', cm('b', '8'));
    expect(seen).to.deep.equal(['add a', 'add bare', 'add b', 'update a', 'delete b']);
    expect(informer.list('ns').map((o) => o.metadata!.name)).to.deep.equal(['a', 'bare']);
    informer.stop();
  });

  it('caches listed and watched objects as slim makes them, and hands ERROR and BOOKMARK events on untouched', async () => {
    lists.push(listOf([cm('a', '1', { big: 'x'.repeat(100) })], '5'), listOf([cm('c', '20', { big: 'zzz' })], '20'));
    const informer = make({ slim: (o) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata, data: { size: String(Object.values(o.data ?? {}).join('').length) } }) });
    await informer.start();
    expect(informer.get('a', 'ns')?.data).to.deep.equal({ size: '100' });
    watch.current.callback('MODIFIED', cm('a', '6', { big: 'yy' }));
    expect(informer.get('a', 'ns')?.data).to.deep.equal({ size: '2' });
    watch.current.callback('BOOKMARK', { metadata: { resourceVersion: '9' } } as V1ConfigMap);
    expect(informer.get('a', 'ns')?.metadata?.resourceVersion, 'a bookmark is no object').to.equal('6');
    watch.current.callback('ERROR', { code: 410 } as unknown as V1ConfigMap);
    watch.current.done(null);
    await flushPromises();
    // The 410 reached the ListWatch with its code: the watch's end brings a relist, slimmed too.
    expect(listCalls).to.equal(2);
    expect(informer.get('c', 'ns')?.data).to.deep.equal({ size: '3' });
    informer.stop();
  });

  it('keeps retrying the first list with growing backoff until it succeeds', async () => {
    lists.push(new Error('connect ECONNREFUSED'), new Error('connect ECONNREFUSED'), new Error('connect ECONNREFUSED'), listOf([cm('a', '1')], '2'));
    const informer = make();
    let resolved = false;
    void informer.start().then(() => (resolved = true));
    await flushPromises();
    expect(listCalls).to.equal(1);
    await clock.advance(99);
    expect(listCalls).to.equal(1);
    await clock.advance(1);
    expect(listCalls).to.equal(2);
    await clock.advance(199);
    expect(listCalls).to.equal(2);
    await clock.advance(1);
    expect(listCalls).to.equal(3);
    expect(resolved).to.equal(false);
    await clock.advance(400);
    expect(listCalls).to.equal(4);
    expect(resolved).to.equal(true);
    expect(informer.restarts()).to.equal(3);
    informer.stop();
  });

  it('after a watch error rewatches from the last resourceVersion after backoff, without relisting', async () => {
    lists.push(listOf([cm('a', '1'), cm('b', '2')], '2'));
    const informer = make();
    await informer.start();
    watch.current.callback('MODIFIED', cm('a', '7'));
    watch.current.done(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    await clock.advance(99);
    expect(watch.calls).to.have.length(1);
    await clock.advance(1);
    expect(listCalls, 'no relist after a non-410 error').to.equal(1);
    expect(watch.calls).to.have.length(2);
    expect(watch.current.query.resourceVersion).to.equal('7');
    expect(informer.restarts()).to.equal(1);
    informer.stop();
  });

  it('relists when the rewatch after an error answers 410, emitting deletes for objects gone and updates for changed ones', async () => {
    lists.push(listOf([cm('a', '1'), cm('b', '2')], '2'));
    const informer = make();
    const seen: string[] = [];
    informer.on('update', (o) => seen.push(`update ${o.metadata!.name}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata!.name}`));
    await informer.start();
    lists.push(listOf([cm('a', '9', { changed: 'yes' })], '9'));
    watch.failNext.push(Object.assign(new Error('Gone'), { statusCode: 410 }));
    watch.current.done(new Error('EOF'));
    await clock.advance(100);
    expect(listCalls).to.equal(2);
    expect(seen).to.have.members(['update a', 'delete b']);
    expect(watch.current.query.resourceVersion).to.equal('9');
    informer.stop();
  });

  it('backs off again when the rewatch fails right after a restart, and resets after a clean round', async () => {
    lists.push(listOf([], '1'));
    const informer = make();
    await informer.start();
    watch.failNext.push(new Error('down'));
    watch.current.done(new Error('EOF'));
    await clock.advance(100);
    expect(watch.calls, 'the first rewatch failed').to.have.length(1);
    await clock.advance(199);
    expect(watch.calls).to.have.length(1);
    await clock.advance(1);
    expect(watch.calls).to.have.length(2);
    watch.current.done(new Error('EOF'));
    await clock.advance(100);
    expect(watch.calls).to.have.length(3);
    expect(listCalls).to.equal(1);
    informer.stop();
  });

  it('asks for bookmarks and a server-side timeout of 5-10 minutes on every watch', async () => {
    lists.push(listOf([], '1'));
    const informer = createInformer<V1ConfigMap>(offlineKubeConfig(), { path: '/api/v1/namespaces/ns/configmaps', listFn, clock, watch, random: () => 0.5 });
    await informer.start();
    expect(watch.current.query).to.include({ allowWatchBookmarks: true, timeoutSeconds: 450, resourceVersion: '1' });
    watch.current.callback('BOOKMARK', { metadata: { resourceVersion: '80' } });
    watch.current.done(null);
    await flushPromises();
    expect(watch.current.query.resourceVersion, 'a bookmark moves the resourceVersion').to.equal('80');
    expect(listCalls).to.equal(1);
    informer.stop();
  });

  it('rewatches from the last resourceVersion without relisting when the server closes the watch normally', async () => {
    lists.push(listOf([cm('a', '1')], '3'));
    const informer = make();
    await informer.start();
    watch.current.callback('MODIFIED', cm('a', '4'));
    watch.current.done(null);
    await flushPromises();
    expect(listCalls).to.equal(1);
    expect(watch.calls).to.have.length(2);
    expect(watch.current.query.resourceVersion).to.equal('4');
    informer.stop();
  });

  it('relists at once on 410 Gone', async () => {
    lists.push(listOf([], '3'), listOf([cm('z', '50')], '50'));
    const informer = make();
    await informer.start();
    watch.current.done(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await flushPromises();
    expect(listCalls).to.equal(2);
    expect(informer.get('z', 'ns')).to.not.equal(undefined);
    informer.stop();
  });

  it('re-emits update for every cached object each resync period', async () => {
    lists.push(listOf([cm('a', '1'), cm('b', '2')], '2'));
    const informer = make({ resyncMs: 1000 });
    let updates = 0;
    informer.on('update', () => updates++);
    await informer.start();
    await clock.advance(999);
    expect(updates).to.equal(0);
    await clock.advance(1);
    expect(updates).to.equal(2);
    await clock.advance(1000);
    expect(updates).to.equal(4);
    informer.stop();
    await clock.advance(5000);
    expect(updates).to.equal(4);
  });

  it('does not restart after stop, and start resolves when stopped before syncing', async () => {
    lists.push(new Error('down'));
    const informer = make();
    const started = informer.start();
    await flushPromises();
    informer.stop();
    await started;
    await clock.advance(10_000);
    expect(listCalls).to.equal(1);
    expect(clock.pending()).to.equal(0);
  });

  it('keeps going when an event handler throws', async () => {
    lists.push(listOf([], '1'));
    const informer = make();
    const seen: string[] = [];
    informer.on('add', () => {
      throw new Error('handler bug');
    });
    informer.on('add', (o) => seen.push(o.metadata!.name!));
    await informer.start();
    watch.current.callback('ADDED', cm('a', '2'));
    watch.current.callback('ADDED', cm('b', '3'));
    expect(seen).to.deep.equal(['a', 'b']);
    informer.stop();
  });

  it('rejects a bad path or resync naming the field', () => {
    expect(() => createInformer(offlineKubeConfig(), { path: 'api/v1/pods', listFn })).to.throw(/path/);
    expect(() => createInformer(offlineKubeConfig(), { path: '/api/v1/pods', listFn, resyncMs: -1 })).to.throw(/resyncMs/);
  });
});
