// A watch cache (client-go's reflector + store): a paginated list, then a watch from the list's
// resourceVersion with bookmarks; on a dropped connection it resumes from the last version seen,
// with backoff; on `410 Gone` it lists again and reconciles the store with what it finds (objects
// deleted meanwhile are dropped and reported as deleted). It never stops on its own: a cache that
// keeps failing reports itself unhealthy with the last error, and keeps trying.
import type { Logger } from 'pino';
import { ExponentialBackoff } from './backoff.ts';
import {
  ApiError,
  isGone,
  type KubeClient,
  type KubeObject,
  type Query,
  type ResourceRef,
  resourcePath,
  type WatchEvent,
} from './kube-client.ts';

export type CacheEvent<T> =
  | { type: 'added'; object: T; initial: boolean }
  | { type: 'updated'; object: T; old: T }
  | { type: 'deleted'; object: T };

export type CacheHandler<T> = (event: CacheEvent<T>) => void;

export interface WatchCacheOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  pageSize?: number;
  /** Seconds a watch request stays open before the server ends it (we then re-watch). */
  watchTimeoutSeconds?: number;
  /**
   * Trims each object before it is cached, to the fields its readers need: memory grows with every
   * object of a kind the cache holds. Handlers and readers only ever see trimmed objects.
   */
  transform?: CacheTransform;
  log: Logger;
}

/** Returns the object (it may change it in place) with only what the cache's readers need. */
export type CacheTransform = (o: KubeObject) => KubeObject;

export const objectKey = (o: KubeObject) =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata.name as string);

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Drops what a controller never reads but costs memory: managed fields, the last-applied copy. */
export function stripForCache<T extends KubeObject>(o: T): T {
  delete o.metadata.managedFields;
  if (o.metadata.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _, ...rest } = o.metadata.annotations;
    o.metadata.annotations = rest;
  }
  return o;
}

/** Nodes: drops the images and volumes lists (kubelets report up to 50 images a node); no controller reads them. */
export const trimNodeStatus: CacheTransform = (node) => {
  if (node.status) {
    delete node.status.images;
    delete node.status.volumesInUse;
    delete node.status.volumesAttached;
  }
  return node;
};

export class WatchCache<T extends KubeObject = KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private readonly handlers: CacheHandler<T>[] = [];
  private readonly backoff = new ExponentialBackoff(250, 30_000);
  private resourceVersion = '';
  private abort = new AbortController();
  private running = false;
  private syncedResolve!: () => void;
  /** Resolves once the first list is in the store. */
  readonly synced: Promise<void> = new Promise((r) => {
    this.syncedResolve = r;
  });
  hasSynced = false;
  /** Set while the cache cannot reach the server; cleared when a list or watch succeeds. */
  lastError: { message: string; since: number } | undefined;
  /** Counts of what the cache did, for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, relists: 0, events: 0 };

  private readonly client: KubeClient;
  readonly resource: ResourceRef;
  private readonly opts: WatchCacheOptions;

  constructor(client: KubeClient, resource: ResourceRef, opts: WatchCacheOptions) {
    this.client = client;
    this.resource = resource;
    this.opts = opts;
  }

  get kind(): string {
    return `${this.resource.plural}${this.resource.group ? `.${this.resource.group}` : ''}`;
  }

  onEvent(handler: CacheHandler<T>): void {
    this.handlers.push(handler);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.getByKey(namespace ? `${namespace}/${name}` : name);
  }

  /** By `namespace/name` (objectKey): a caller that keeps the key string skips building it per lookup. */
  getByKey(key: string): T | undefined {
    return this.store.get(key);
  }

  list(filter?: (o: T) => boolean): T[] {
    const all = [...this.store.values()];
    return filter ? all.filter(filter) : all;
  }

  /** The objects of one namespace, from an index: reconciles call this on every run. */
  listNamespace(namespace: string): T[] {
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }

  private trim(o: T): T {
    const stripped = stripForCache(o);
    return this.opts.transform ? (this.opts.transform(stripped) as T) : stripped;
  }

  private put(key: string, o: T): void {
    this.store.set(key, o);
    const ns = o.metadata.namespace ?? '';
    const index = this.byNamespace.get(ns) ?? new Map<string, T>();
    this.byNamespace.set(ns, index);
    index.set(key, o);
  }

  private remove(key: string, o: T): void {
    this.store.delete(key);
    const ns = o.metadata.namespace ?? '';
    const index = this.byNamespace.get(ns);
    index?.delete(key);
    if (index?.size === 0) this.byNamespace.delete(ns);
  }

  get size(): number {
    return this.store.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.abort.abort();
  }

  private query(extra: Query): Query {
    return { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, ...extra };
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        if (!this.resourceVersion) await this.relist();
        await this.watchOnce();
        this.backoff.forget('watch');
      } catch (e) {
        if (!this.running) return;
        if (isGone(e)) {
          this.opts.log.info({ kind: this.kind }, 'watch resourceVersion expired (410 Gone); listing again');
          this.resourceVersion = '';
          this.stats.relists++;
          continue;
        }
        const message = e instanceof Error ? e.message : String(e);
        this.lastError ??= { message, since: Date.now() };
        this.lastError.message = message;
        const wait = this.backoff.next('watch');
        this.opts.log.warn({ kind: this.kind, err: message, retryInMs: wait }, 'watch failed; retrying');
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Lists every page, then replaces the store, emitting the differences as events. */
  private async relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.list<T>(
        this.resource,
        this.opts.namespace,
        this.query({ limit: this.opts.pageSize ?? 500, continue: cont }),
      );
      // List items carry no apiVersion/kind; events, owner references and logs want them.
      const kind = (page as { kind?: string }).kind?.replace(/List$/, '');
      const apiVersion = (page as { apiVersion?: string }).apiVersion;
      for (const item of page.items) {
        const o = this.trim(item);
        o.apiVersion ??= apiVersion;
        o.kind ??= kind;
        fresh.set(objectKey(o), o);
      }
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion;
    } while (cont);
    this.stats.lists++;
    const initial = !this.hasSynced;
    for (const [key, old] of this.store) {
      if (!fresh.has(key)) {
        this.remove(key, old);
        this.emit({ type: 'deleted', object: old });
      }
    }
    for (const [key, o] of fresh) {
      const old = this.store.get(key);
      this.put(key, o);
      if (!old) this.emit({ type: 'added', object: o, initial });
      else if (old.metadata.resourceVersion !== o.metadata.resourceVersion)
        this.emit({ type: 'updated', object: o, old });
    }
    this.resourceVersion = rv;
    this.lastError = undefined;
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.syncedResolve();
    }
  }

  private async watchOnce(): Promise<void> {
    const path = resourcePath(this.resource, this.opts.namespace);
    this.stats.watches++;
    const query = this.query({
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300),
    });
    await this.client.watch(path, query, (event) => this.apply(event), this.abort.signal);
  }

  private apply(event: WatchEvent): void {
    if (event.type === 'ERROR') {
      const status = event.object as unknown as { code?: number; reason?: string; message?: string };
      if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') {
        // Thrown inside the stream parser: the watch request ends with this error.
        throw new ApiError(410, 'Expired', status.message ?? 'resourceVersion too old');
      }
      throw new Error(`watch error: ${status.message ?? JSON.stringify(status)}`);
    }
    this.lastError = undefined;
    const rv = event.object.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    this.stats.events++;
    const o = this.trim(event.object as T);
    const key = objectKey(o);
    const old = this.store.get(key);
    if (event.type === 'DELETED') {
      this.remove(key, o);
      this.emit({ type: 'deleted', object: o });
    } else {
      this.put(key, o);
      this.emit(old ? { type: 'updated', object: o, old } : { type: 'added', object: o, initial: false });
    }
    if (rv) this.resourceVersion = rv;
  }

  private emit(event: CacheEvent<T>): void {
    for (const h of this.handlers) {
      try {
        h(event);
      } catch (e) {
        this.opts.log.error({ kind: this.kind, err: e }, 'cache event handler threw');
      }
    }
  }
}
