// A small Kubernetes REST client. Authentication and TLS come from @kubernetes/client-node's
// KubeConfig (kubeconfig files, in-cluster service accounts, exec plugins); requests, streaming
// watches and server-side apply go through node:https so that the watch loop, paging and error
// handling stay in our hands (the generated client hides status codes and cannot resume watches).
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export const FIELD_MANAGER = 'bosun';
const REQUEST_TIMEOUT_MS = 60_000;
const WATCH_IDLE_TIMEOUT_MS = 150_000;

/** The Kubernetes `Status` of a failed request, with the HTTP code. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: unknown;
  constructor(code: number, reason: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

export const isNotFound = (e: unknown) => e instanceof ApiError && e.code === 404;
export const isConflict = (e: unknown) => e instanceof ApiError && e.code === 409 && e.reason === 'Conflict';
export const isAlreadyExists = (e: unknown) => e instanceof ApiError && e.reason === 'AlreadyExists';
export const isGone = (e: unknown) => e instanceof ApiError && (e.code === 410 || e.reason === 'Expired');

export interface ResourceRef {
  group: string; // '' for the core group
  version: string;
  plural: string;
  namespaced: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  // biome-ignore lint/suspicious/noExplicitAny: spec and status differ per kind
  [field: string]: any;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Fail when the server sends nothing for this long (default 60 s). */
  timeoutMs?: number;
}

/** Counts requests by verb, for benchmarks and metrics. */
export type RequestObserver = (verb: string, code: number) => void;

export function resourcePath(ref: ResourceRef, namespace?: string, name?: string, subresource?: string) {
  const base = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  const ns = ref.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const tail = name ? `/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}` : '';
  return `${base}${ns}/${ref.plural}${tail}`;
}

function queryString(query?: Query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

export class KubeClient {
  readonly config: KubeConfig;
  private readonly server: URL;
  private readonly agent: https.Agent;
  observer: RequestObserver | undefined;

  constructor(config: KubeConfig) {
    this.config = config;
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster; set a current-context');
    this.server = new URL(cluster.server);
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 64 });
  }

  /** Loads --kubeconfig, else $KUBECONFIG / ~/.kube/config, else the in-cluster service account. */
  static fromKubeconfig(path?: string): KubeClient {
    const kc = new KubeConfig();
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
    return new KubeClient(kc);
  }

  private async options(method: string, path: string, contentType?: string): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = {
      method,
      protocol: this.server.protocol,
      hostname: this.server.hostname,
      port: this.server.port,
      path: this.server.pathname.replace(/\/$/, '') + path,
      headers: { Accept: 'application/json', ...(contentType ? { 'Content-Type': contentType } : {}) },
      agent: this.agent,
    };
    await this.config.applyToHTTPSOptions(opts);
    // The library hands out an agent without keep-alive: every request would pay a TLS handshake.
    // Ours keeps connections open (the TLS options above still apply per connection); a proxy
    // agent from the kubeconfig is kept.
    if (!this.config.getCurrentCluster()?.proxyUrl) opts.agent = this.agent;
    return opts;
  }

  async request<T = KubeObject>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const reqOpts = await this.options(
      method,
      path + queryString(opts.query),
      body ? (opts.contentType ?? 'application/json') : undefined,
    );
    // Node sends a DELETE body unframed (no chunked encoding by default); without a length the
    // server reads it as the start of the next request on the kept-alive connection (400).
    if (body) reqOpts.headers = { ...reqOpts.headers, 'Content-Length': Buffer.byteLength(body) };
    return new Promise<T>((resolve, reject) => {
      const req = https.request({ ...reqOpts, signal: opts.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          this.observer?.(method, code);
          if (code >= 200 && code < 300) {
            try {
              resolve((text ? JSON.parse(text) : {}) as T);
            } catch (e) {
              reject(e);
            }
            return;
          }
          reject(toApiError(code, text));
        });
      });
      req.on('error', reject);
      // A request that hangs (a half-open connection) must fail, or it would hold a worker forever.
      const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
      req.setTimeout(timeoutMs, () =>
        req.destroy(new Error(`${method} ${path}: no response within ${timeoutMs / 1000}s`)),
      );
      if (body) req.write(body);
      req.end();
    });
  }

  get<T extends KubeObject = KubeObject>(ref: ResourceRef, namespace: string | undefined, name: string) {
    return this.request<T>('GET', resourcePath(ref, namespace, name));
  }

  list<T extends KubeObject = KubeObject>(ref: ResourceRef, namespace?: string, query?: Query) {
    return this.request<ObjectList<T>>('GET', resourcePath(ref, namespace), { query });
  }

  /** Creates; unknown fields are an error (`fieldValidation=Strict`), never silently dropped. */
  create<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: T, query?: Query) {
    return this.request<T>('POST', resourcePath(ref, obj.metadata.namespace), {
      body: obj,
      query: { fieldValidation: 'Strict', ...query },
    });
  }

  /** Creates the object, or returns the existing one: `AlreadyExists` is success. */
  async createIfAbsent<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    obj: T,
  ): Promise<{ object: T; created: boolean }> {
    try {
      return { object: await this.create(ref, obj), created: true };
    } catch (e) {
      if (!isAlreadyExists(e) || !obj.metadata.name) throw e;
      return { object: await this.get<T>(ref, obj.metadata.namespace, obj.metadata.name), created: false };
    }
  }

  /** Server-side apply with the `bosun` field manager; unknown fields are an error. */
  apply<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: T, subresource?: string) {
    const name = obj.metadata.name;
    if (!name) throw new Error('server-side apply needs metadata.name');
    return this.request<T>('PATCH', resourcePath(ref, obj.metadata.namespace, name, subresource), {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: true, fieldValidation: 'Strict' },
    });
  }

  mergePatch<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    subresource?: string,
  ) {
    return this.request<T>('PATCH', resourcePath(ref, namespace, name, subresource), {
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  replaceStatus<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: T) {
    return this.request<T>('PUT', resourcePath(ref, obj.metadata.namespace, obj.metadata.name, 'status'), {
      body: obj,
    });
  }

  /** Deletes; a missing object is not an error. Background propagation unless told otherwise. */
  async delete(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    propagationPolicy = 'Background',
    preconditions?: { uid?: string },
  ) {
    try {
      await this.request('DELETE', resourcePath(ref, namespace, name), {
        body: {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          propagationPolicy,
          ...(preconditions ? { preconditions } : {}),
        },
      });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /**
   * Opens a watch stream and calls `onEvent` for each event line, in order. Resolves when the server
   * closes the stream (a normal end: the caller re-watches), rejects on transport or HTTP errors.
   */
  async watch(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const reqOpts = await this.options('GET', path + queryString({ ...query, watch: true }));
    await new Promise<void>((resolve, reject) => {
      // The first error wins: one thrown by onEvent ends the stream with that error.
      let failure: unknown;
      const fail = (e: unknown) => {
        failure ??= e;
        if (signal?.aborted) resolve();
        else reject(failure);
      };
      const req = https.request({ ...reqOpts, agent: undefined, signal }, (res) => {
        const code = res.statusCode ?? 0;
        this.observer?.('WATCH', code);
        if (code !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => fail(toApiError(code, Buffer.concat(chunks).toString('utf8'))));
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          for (
            let nl = buffered.indexOf('\n');
            nl >= 0 && failure === undefined;
            nl = buffered.indexOf('\n')
          ) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (!line.trim()) continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent);
            } catch (e) {
              fail(e);
              req.destroy();
            }
          }
        });
        res.on('end', () => (failure === undefined ? resolve() : fail(failure)));
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('watch stream aborted by the server')));
      });
      req.on('error', fail);
      // The server sends a bookmark about every minute; silence this long means a dead connection.
      req.setTimeout(WATCH_IDLE_TIMEOUT_MS, () =>
        req.destroy(new Error(`watch ${path}: idle for ${WATCH_IDLE_TIMEOUT_MS / 1000}s`)),
      );
      req.end();
    });
  }
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

function toApiError(code: number, text: string): ApiError {
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string; details?: unknown };
    return new ApiError(code, status.reason ?? `HTTP${code}`, status.message ?? text, status.details);
  } catch {
    return new ApiError(code, `HTTP${code}`, text.slice(0, 500) || `HTTP ${code}`);
  }
}

/** Well-known resources. */
export const Resources = {
  namespaces: { group: '', version: 'v1', plural: 'namespaces', namespaced: false },
  nodes: { group: '', version: 'v1', plural: 'nodes', namespaced: false },
  pods: { group: '', version: 'v1', plural: 'pods', namespaced: true },
  podTemplates: { group: '', version: 'v1', plural: 'podtemplates', namespaced: true },
  serviceAccounts: { group: '', version: 'v1', plural: 'serviceaccounts', namespaced: true },
  configMaps: { group: '', version: 'v1', plural: 'configmaps', namespaced: true },
  deployments: { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true },
  replicaSets: { group: 'apps', version: 'v1', plural: 'replicasets', namespaced: true },
  daemonSets: { group: 'apps', version: 'v1', plural: 'daemonsets', namespaced: true },
  jobs: { group: 'batch', version: 'v1', plural: 'jobs', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true },
  events: { group: 'events.k8s.io', version: 'v1', plural: 'events', namespaced: true },
  crds: {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    namespaced: false,
  },
} as const satisfies Record<string, ResourceRef>;
