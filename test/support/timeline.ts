// A timeline of what the cluster did to an app's pods and its API endpoints while a journey ran, so a
// failed request can be laid next to what happened around it (a pod not ready, restarted, killed, an
// endpoint gone). Watches, not polls: a transition between two polls would be missed.
import * as k8s from '@kubernetes/client-node';
import type { TestCluster } from './cluster.js';

/** One thing the cluster did, at wall-clock time `t` (ms) as seen by the watch. */
export interface TimelineEntry {
  t: number;
  what: string;
}

/** Records pod readiness, restarts and deletions and the ready endpoints of Services in a namespace. */
export class Timeline {
  readonly entries: TimelineEntry[] = [];
  private readonly lastPod = new Map<string, string>();
  private readonly lastSlice = new Map<string, string>();
  private readonly aborts: AbortController[] = [];
  private stopped = false;

  constructor(
    private readonly cluster: TestCluster,
    private readonly ns: string,
    /** Called when a container restarted, while the logs of the run that ended can still be read. */
    private readonly onRestart: (pod: string, container: string) => void = () => undefined,
  ) {}

  /** Starts the watches; they run (re-watching after errors) until stop(). */
  async start(): Promise<void> {
    await Promise.all([this.watch(`/api/v1/namespaces/${this.ns}/pods`, (type, pod: k8s.V1Pod) => this.pod(type, pod)), this.watch(`/apis/discovery.k8s.io/v1/namespaces/${this.ns}/endpointslices`, (type, s: k8s.V1EndpointSlice) => this.slice(type, s))]);
  }

  stop(): void {
    this.stopped = true;
    for (const a of this.aborts) a.abort();
  }

  /** The entries within `ms` of time `t`, as lines with the offset from `t`. */
  around(t: number, ms: number): string[] {
    return this.entries.filter((e) => Math.abs(e.t - t) <= ms).map((e) => `${e.t - t >= 0 ? '+' : ''}${((e.t - t) / 1000).toFixed(1)} s ${e.what}`);
  }

  /** Every container restart recorded, with the reason of the terminated run. */
  restarts(): string[] {
    return this.entries.filter((e) => e.what.includes(' restarted ')).map((e) => `${new Date(e.t).toISOString()} ${e.what}`);
  }

  private add(what: string): void {
    this.entries.push({ t: Date.now(), what });
  }

  private pod(type: string, pod: k8s.V1Pod): void {
    const name = pod.metadata?.name ?? '?';
    if (type === 'DELETED') {
      this.lastPod.delete(name);
      this.add(`pod ${name} deleted`);
      return;
    }
    const before = this.lastPod.get(name);
    const parts: string[] = [];
    if (pod.metadata?.deletionTimestamp) parts.push('terminating');
    parts.push(`phase ${pod.status?.phase ?? '?'}`);
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    parts.push(`ready ${ready?.status ?? '?'}`);
    for (const c of pod.status?.containerStatuses ?? []) parts.push(`${c.name}:${c.ready ? 'ready' : 'unready'}/${c.restartCount}`);
    const now = parts.join(' ');
    if (now === before) return;
    this.lastPod.set(name, now);
    this.add(`pod ${name} ${now}`);
    const old = before ? new Map([...before.matchAll(/(\S+):\w+\/(\d+)/g)].map((m) => [m[1]!, Number(m[2])])) : new Map<string, number>();
    for (const c of pod.status?.containerStatuses ?? []) {
      if (c.restartCount > (old.get(c.name) ?? 0) && before !== undefined) {
        const term = c.lastState?.terminated;
        this.add(`pod ${name} container ${c.name} restarted (${term?.reason ?? '?'}, exit ${term?.exitCode ?? '?'}, ran ${term?.startedAt ?? '?'} → ${term?.finishedAt ?? '?'})`);
        this.onRestart(name, c.name);
      }
    }
  }

  private slice(type: string, s: k8s.V1EndpointSlice): void {
    const name = s.metadata?.name ?? '?';
    const service = s.metadata?.labels?.['kubernetes.io/service-name'] ?? name;
    if (type === 'DELETED') {
      this.lastSlice.delete(name);
      this.add(`endpoints of ${service} (${name}) deleted`);
      return;
    }
    const eps = (s.endpoints ?? []).map((e) => `${e.targetRef?.name ?? e.addresses[0]}:${e.conditions?.ready ? 'ready' : e.conditions?.terminating ? 'terminating' : 'unready'}`).sort();
    const now = eps.join(' ') || '(none)';
    if (this.lastSlice.get(name) === now) return;
    this.lastSlice.set(name, now);
    this.add(`endpoints of ${service}: ${now}`);
  }

  private async watch<T>(path: string, onEvent: (type: string, obj: T) => void): Promise<void> {
    const again = async (): Promise<void> => {
      if (this.stopped) return;
      const ac = await new k8s.Watch(this.cluster.kc).watch(path, {}, (type: string, obj: T) => onEvent(type, obj), () => {
        if (!this.stopped) setTimeout(() => void again(), 500);
      });
      this.aborts.push(ac);
    };
    await again();
  }
}
