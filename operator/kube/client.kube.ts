// Typed API clients sharing one configuration whose HTTP layer counts every request by method and status code.
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  IsomorphicFetchHttpLibrary,
  KubernetesObjectApi,
  NetworkingV1Api,
  PatchStrategy,
  ServerConfiguration,
  createConfiguration,
  loadYaml,
  wrapHttpLibrary,
  type Configuration,
  type HttpLibrary,
  type KubeConfig,
  type KubernetesObject,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { AsyncLocalStorage } from 'node:async_hooks';
import * as https from 'node:https';
import { isNotFound } from './errors.kube.js';
import type { Metrics } from './metrics.kube.js';

export { isConflict, isNotFound, statusCodeOf } from './errors.kube.js';

/** The API clients the operator uses, all sharing one instrumented configuration. */
export interface KubeClients {
  kc: KubeConfig;
  configuration: Configuration;
  core: CoreV1Api;
  apps: AppsV1Api;
  networking: NetworkingV1Api;
  coordination: CoordinationV1Api;
  customObjects: CustomObjectsApi;
  objects: KubernetesObjectApi;
}

// KubernetesObjectApi.makeApiClient builds its own configuration; this keeps ours and still picks up the context's namespace.
class InstrumentedObjectApi extends KubernetesObjectApi {
  constructor(configuration: Configuration, kc: KubeConfig) {
    super(configuration);
    this.setDefaultNamespace(kc);
  }
}

/** Options of createKubeClients beyond the kubeconfig. */
export interface KubeClientOptions {
  /** Every request counts into rest_client_* metrics. */
  metrics?: Metrics;
  /** A request that has no answer after this long is aborted; 0 or absent: no limit. */
  requestTimeoutMs?: number;
  /** Refuses writes (other than to Leases) while closed, and aborts those in flight when it closes. */
  fence?: WriteFence;
  /** The User-Agent of every request (the API server's audit log records it). */
  userAgent?: string;
}

/** Creates the clients for kc's current context. */
export function createKubeClients(kc: KubeConfig, opts: KubeClientOptions = {}): KubeClients {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('createKubeClients: the kubeconfig has no current cluster');
  let http: HttpLibrary = guardedHttpLibrary(reusingAgent(new IsomorphicFetchHttpLibrary()), opts);
  if (opts.metrics) http = instrumentedHttpLibrary(http, opts.metrics);
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    httpApi: http,
  });
  return {
    kc,
    configuration,
    core: new CoreV1Api(configuration),
    apps: new AppsV1Api(configuration),
    networking: new NetworkingV1Api(configuration),
    coordination: new CoordinationV1Api(configuration),
    customObjects: new CustomObjectsApi(configuration),
    objects: new InstrumentedObjectApi(configuration, kc),
  };
}

/**
 * Wraps an HTTP library so that requests share one keep-alive agent. client-node 1.4 makes a new
 * https.Agent (so a new TLS connection) for every request; with hundreds of apps that costs time and
 * native memory. The agent's TLS options come from the first request's, which all requests share.
 */
export function reusingAgent(inner: HttpLibrary): HttpLibrary {
  let shared: https.Agent | undefined;
  return wrapHttpLibrary({
    send(request: RequestContext): Promise<ResponseContext> {
      const agent = request.getAgent();
      if (agent instanceof https.Agent) {
        shared ??= new https.Agent({ ...agent.options, keepAlive: true, maxSockets: 32 });
        request.setAgent(shared);
      }
      return inner.send(request).toPromise();
    },
  });
}

const requestSignal = new AsyncLocalStorage<AbortSignal>();

/** Runs fn so that every API request it makes (also from callbacks it starts) is aborted when signal aborts. */
export function withRequestSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return requestSignal.run(signal, fn);
}

/**
 * The gate a leader's writes pass through: open while this process leads. Closing it refuses every
 * later write and aborts the writes in flight, so a deposed leader stops writing at once; Lease
 * requests pass always, as leader election itself needs them.
 */
export class WriteFence {
  private term: AbortController | undefined;

  /** Opens the fence (this process now leads). */
  open(): void {
    this.term ??= new AbortController();
  }

  /** Closes the fence and aborts the writes in flight. */
  close(reason = 'this process no longer leads'): void {
    this.term?.abort(new Error(`write aborted: ${reason}`));
    this.term = undefined;
  }

  isOpen(): boolean {
    return this.term !== undefined;
  }

  /** The signal a write made now must carry; throws when the fence is closed. */
  admit(method: string, url: string): AbortSignal {
    if (!this.term) throw new Error(`refused ${method} ${pathOf(url)}: this process does not lead`);
    return this.term.signal;
  }
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Wraps an HTTP library with the request timeout, the caller's signal (withRequestSignal), the write fence and the User-Agent. */
export function guardedHttpLibrary(inner: HttpLibrary, opts: Pick<KubeClientOptions, 'requestTimeoutMs' | 'fence' | 'userAgent'>): HttpLibrary {
  return wrapHttpLibrary({
    send(request: RequestContext): Promise<ResponseContext> {
      const method = request.getHttpMethod().toString();
      const signals: AbortSignal[] = [];
      const caller = requestSignal.getStore();
      if (caller) signals.push(caller);
      if (opts.requestTimeoutMs) signals.push(AbortSignal.timeout(opts.requestTimeoutMs));
      const existing = request.getSignal();
      if (existing) signals.push(existing);
      if (opts.fence && !READ_METHODS.has(method) && !/\/leases(\/|\?|$)/.test(pathOf(request.getUrl()))) {
        try {
          signals.push(opts.fence.admit(method, request.getUrl()));
        } catch (err) {
          return Promise.reject(err as Error);
        }
      }
      if (signals.length) request.setSignal(AbortSignal.any(signals));
      if (opts.userAgent) request.setHeaderParam('User-Agent', opts.userAgent);
      return inner.send(request).toPromise();
    },
  });
}

/** Wraps an HTTP library so each request is counted (code "<error>" when no response came back) and timed. */
export function instrumentedHttpLibrary(inner: HttpLibrary, metrics: Metrics): HttpLibrary {
  return wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      const method = request.getHttpMethod().toString();
      const host = hostOf(request.getUrl());
      const started = performance.now();
      try {
        const response = await inner.send(request).toPromise();
        metrics.restClientRequestsTotal.inc({ code: String(response.httpStatusCode), method, host });
        return response;
      } catch (err) {
        metrics.restClientRequestsTotal.inc({ code: '<error>', method, host });
        throw err;
      } finally {
        metrics.restClientRequestDuration.observe({ verb: method, host }, (performance.now() - started) / 1000);
      }
    },
  });
}

/**
 * The client-node model of an object written as the API serves it. Request bodies go through client-node's
 * serializer, which reads only the model's attribute names: where those differ from the wire names (NetworkPolicy
 * rules' `from` is `_from`), the wire field would be dropped without a word, so a rule meant for a few peers
 * would allow every source.
 */
export function toClientModel<T extends KubernetesObject>(obj: T): T {
  return loadYaml<T>(JSON.stringify(obj));
}

/** Server-side applies obj (in wire form, as render produces it) with force under fieldManager and returns the object as stored. */
export async function applyObject<T extends KubernetesObject>(clients: KubeClients, obj: T, fieldManager: string): Promise<T> {
  if (!fieldManager) throw new Error('applyObject: fieldManager is required');
  try {
    return await clients.objects.patch<T>(toClientModel(obj), undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
  } catch (err) {
    throw new Error(`while applying ${describe(obj)}`, { cause: err });
  }
}

/** Options for deleteObject. */
export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  /** Delete only if the stored object still has this uid (guards against deleting a re-created object). */
  uid?: string;
}

/** Deletes obj (by apiVersion, kind, namespace and name); resolves false when it was already gone. */
export async function deleteObject(clients: KubeClients, obj: KubernetesObject, opts: DeleteOptions = {}): Promise<boolean> {
  const propagationPolicy = opts.propagationPolicy ?? 'Background';
  try {
    await clients.objects.delete(
      obj,
      undefined,
      undefined,
      undefined,
      undefined,
      propagationPolicy,
      opts.uid ? { propagationPolicy, preconditions: { uid: opts.uid } } : undefined,
    );
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw new Error(`while deleting ${describe(obj)}`, { cause: err });
  }
}

function describe(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace ? `${obj.metadata.namespace}/` : '';
  return `${obj.kind ?? 'object'} ${ns}${obj.metadata?.name ?? '<unnamed>'}`;
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unknown';
  }
}
