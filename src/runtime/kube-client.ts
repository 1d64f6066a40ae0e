// A small Kubernetes REST client. Server, TLS and credentials come from kubeconfig.ts (kubeconfig
// files, in-cluster service accounts, exec plugins); requests, streaming watches and server-side
// apply go through node:https so that the watch loop, paging and error handling stay in our hands.
import https from 'node:https';
import { type Kubeconfig, type LoadOptions, loadKubeconfig } from './kubeconfig.ts';
import type { Credentials } from './kubeconfig-auth.ts';

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

/** Counts requests by verb, for benchmarks and metrics; `seconds` from send to the last byte (not for watches). */
export type RequestObserver = (verb: string, code: number, seconds?: number) => void;

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
  readonly config: Kubeconfig;
  private readonly agent: https.Agent;
  /** For streams (undefined: Node's global agent), outside the request pool; a proxy needs its own. */
  private readonly watchAgent: https.Agent | undefined;
  observer: RequestObserver | undefined;

  constructor(config: Kubeconfig) {
    this.config = config;
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    if (config.proxyUrl && (major < 24 || (major === 24 && minor < 5)))
      throw new Error(`kubeconfig proxy-url needs Node.js 24.5 or later (this is ${process.version})`);
    const proxyEnv = config.proxyUrl ? { HTTPS_PROXY: config.proxyUrl } : undefined;
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 64, proxyEnv });
    this.watchAgent = proxyEnv ? new https.Agent({ proxyEnv }) : undefined;
  }

  /** Loads --kubeconfig, else $KUBECONFIG / ~/.kube/config, else the in-cluster service account. */
  static fromKubeconfig(path?: string, opts: Omit<LoadOptions, 'path'> = {}): KubeClient {
    return new KubeClient(loadKubeconfig({ ...opts, path }));
  }

  /** The kubeconfig context's namespace, if it names one. */
  get namespace(): string | undefined {
    return this.config.namespace;
  }

  /**
   * Options for a request: server, TLS and current credentials. A `stream` (a watch, a followed
   * log) stays open for minutes, so it gets a connection outside the pool of short requests.
   */
  async requestOptions(
    method: string,
    path: string,
    headers: Record<string, string | number> = {},
    stream = false,
  ): Promise<{ options: https.RequestOptions; credentials: Credentials }> {
    const credentials = await this.config.auth.credentials();
    const { server, tls } = this.config;
    const options: https.RequestOptions = {
      method,
      hostname: server.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: server.port || 443,
      path: server.pathname.replace(/\/$/, '') + path,
      headers: {
        ...headers,
        ...(credentials.authorization ? { Authorization: credentials.authorization } : {}),
      },
      agent: stream ? this.watchAgent : this.agent,
      ...tls,
      ...(credentials.cert ? { cert: credentials.cert, key: credentials.key } : {}),
    };
    return { options, credentials };
  }

  /**
   * Sends with the current credentials; when the server answers 401 to credentials that can be
   * fetched again (a rotated token file, an expired exec credential), once more with fresh ones.
   */
  private async authenticated<T>(
    method: string,
    path: string,
    headers: Record<string, string | number>,
    send: (options: https.RequestOptions) => Promise<T>,
    stream = false,
  ): Promise<T> {
    const first = await this.requestOptions(method, path, headers, stream);
    try {
      return await send(first.options);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 401 && this.config.auth.invalidate(first.credentials)))
        throw e;
      return send((await this.requestOptions(method, path, headers, stream)).options);
    }
  }

  async request<T = KubeObject>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    if (body) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      // Node sends a DELETE body unframed (no chunked encoding by default); without a length the
      // server reads it as the start of the next request on the kept-alive connection (400).
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const fullPath = path + queryString(opts.query);
    return this.authenticated(method, fullPath, headers, (reqOpts) => this.send<T>(reqOpts, body, opts));
  }

  private send<T>(reqOpts: https.RequestOptions, body: string | undefined, opts: RequestOptions): Promise<T> {
    const { method, path } = reqOpts;
    const started = performance.now();
    return new Promise<T>((resolve, reject) => {
      const req = https.request({ ...reqOpts, signal: opts.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          this.observer?.(method as string, code, (performance.now() - started) / 1000);
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
    // The namesake can be gone by the time it is read: then the name is free again.
    for (let attempt = 1; ; attempt++) {
      try {
        return { object: await this.create(ref, obj), created: true };
      } catch (e) {
        if (!isAlreadyExists(e) || !obj.metadata.name) throw e;
      }
      try {
        return { object: await this.get<T>(ref, obj.metadata.namespace, obj.metadata.name), created: false };
      } catch (e) {
        if (!isNotFound(e) || attempt === 3) throw e;
      }
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

  /** RFC 6902 JSON patch; a failed `test` operation is a 422 (reason Invalid). */
  jsonPatch<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    ops: { op: 'test' | 'replace' | 'add' | 'remove'; path: string; value?: unknown }[],
  ) {
    return this.request<T>('PATCH', resourcePath(ref, namespace, name), {
      body: ops,
      contentType: 'application/json-patch+json',
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
    preconditions?: { uid?: string; resourceVersion?: string },
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
    const fullPath = path + queryString({ ...query, watch: true });
    await this.authenticated(
      'GET',
      fullPath,
      { Accept: 'application/json' },
      (reqOpts) => this.stream(reqOpts, path, onEvent, signal),
      true,
    );
  }

  private stream(
    reqOpts: https.RequestOptions,
    path: string,
    onEvent: (event: WatchEvent) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // The first error wins: one thrown by onEvent ends the stream with that error.
      let failure: unknown;
      const fail = (e: unknown) => {
        failure ??= e;
        if (signal?.aborted) resolve();
        else reject(failure);
      };
      const req = https.request({ ...reqOpts, signal }, (res) => {
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
