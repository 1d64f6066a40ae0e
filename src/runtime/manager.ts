// The manager runs a process's parts in order: shared watch caches (on every replica, so that a
// standby is warm), leader election, then the controllers once the caches are synced; health,
// readiness and metrics endpoints; and a graceful stop on SIGTERM.
import type http from 'node:http';
import type { Logger } from 'pino';
import { type Check, startProbeServer } from '../server/probes.ts';
import type { Controller } from './controller.ts';
import { EventRecorder } from './events.ts';
import type { KubeClient, KubeObject, ResourceRef } from './kube-client.ts';
import { LeaderElector } from './leader-election.ts';
import type { Metrics } from './metrics.ts';
import { type CacheHandler, type CacheTransform, WatchCache, type WatchCacheOptions } from './watch-cache.ts';

export interface ManagerOptions {
  client: KubeClient;
  log: Logger;
  metrics: Metrics;
  /** Namespaces to watch; empty means all. */
  namespaces: string[];
  leaderElection?: { namespace: string; name: string; identity: string };
  metricsAddress?: string;
  healthAddress?: string;
  shutdownTimeoutMs?: number;
  /** A cache failing this long makes the process unready. */
  cacheUnhealthyAfterMs?: number;
}

/** The caches of one resource across the watched namespaces, read as one. */
export class Informer<T extends KubeObject = KubeObject> {
  readonly caches: WatchCache<T>[];
  readonly transform: CacheTransform | undefined;
  constructor(caches: WatchCache<T>[], transform?: CacheTransform) {
    this.transform = transform;
    this.caches = caches;
  }
  get(namespace: string | undefined, name: string): T | undefined {
    return this.getByKey(namespace ? `${namespace}/${name}` : name);
  }
  /** By `namespace/name` (objectKey). */
  getByKey(key: string): T | undefined {
    for (const c of this.caches) {
      const o = c.getByKey(key);
      if (o) return o;
    }
    return undefined;
  }
  list(filter?: (o: T) => boolean): T[] {
    return this.caches.flatMap((c) => c.list(filter));
  }
  listNamespace(namespace: string): T[] {
    return this.caches.flatMap((c) => c.listNamespace(namespace));
  }
  onEvent(handler: CacheHandler<T>): void {
    for (const c of this.caches) c.onEvent(handler);
  }
  get synced(): Promise<void> {
    return Promise.all(this.caches.map((c) => c.synced)).then(() => undefined);
  }
}

export class Manager {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly events: EventRecorder;
  private readonly opts: ManagerOptions;
  private readonly informers = new Map<string, Informer>();
  private readonly controllers: Controller[] = [];
  private elector: LeaderElector | undefined;
  private servers: http.Server[] = [];
  private stopping: Promise<void> | undefined;
  private leading = false;
  private lostLease: string | undefined;

  constructor(opts: ManagerOptions) {
    this.opts = opts;
    this.client = opts.client;
    this.log = opts.log;
    this.metrics = opts.metrics;
    this.events = new EventRecorder(opts.client, opts.log.child({ component: 'events' }));
    opts.client.observer = (verb, code, seconds) => {
      opts.metrics.apiRequests.inc({ method: verb, code: String(code) });
      if (seconds !== undefined) opts.metrics.apiLatency.observe({ verb }, seconds);
    };
  }

  /**
   * The shared informer of a resource (one per resource and selector). A `transform` trims what it
   * caches: every registration of that informer must pass the same function (a module constant).
   */
  informer<T extends KubeObject = KubeObject>(
    resource: ResourceRef,
    opts: Pick<WatchCacheOptions, 'labelSelector' | 'fieldSelector' | 'transform'> = {},
  ): Informer<T> {
    const id = `${resource.group}/${resource.plural}?${opts.labelSelector ?? ''}&${opts.fieldSelector ?? ''}`;
    let informer = this.informers.get(id);
    if (informer && informer.transform !== opts.transform)
      throw new Error(`informer ${id} is registered twice with different transforms; share one`);
    if (!informer) {
      const scopes: (string | undefined)[] =
        resource.namespaced && this.opts.namespaces.length ? this.opts.namespaces : [undefined];
      informer = new Informer(
        scopes.map(
          (namespace) =>
            new WatchCache(this.client, resource, {
              ...opts,
              namespace,
              log: this.log.child({ component: 'cache' }),
            }),
        ),
        opts.transform,
      );
      this.informers.set(id, informer);
    }
    return informer as unknown as Informer<T>;
  }

  add(controller: Controller): void {
    this.controllers.push(controller);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private caches(): WatchCache[] {
    return [...this.informers.values()].flatMap((i) => i.caches);
  }

  readinessChecks(): Check[] {
    const limit = this.opts.cacheUnhealthyAfterMs ?? 30_000;
    return this.caches().map((c) => ({
      name: `cache ${c.kind}`,
      check: () => {
        if (!c.hasSynced) return c.lastError ? `not synced: ${c.lastError.message}` : 'not synced yet';
        if (c.lastError && Date.now() - c.lastError.since > limit)
          return `failing for ${Math.round((Date.now() - c.lastError.since) / 1000)}s: ${c.lastError.message}`;
        return undefined;
      },
    }));
  }

  /** Starts everything; resolves once the process is serving (controllers may wait for the lease). */
  async start(): Promise<void> {
    const { healthAddress, metricsAddress } = this.opts;
    const liveness = () => [{ name: 'leader-lease', check: () => this.lostLease }];
    if (healthAddress)
      this.servers.push(
        await startProbeServer({ address: healthAddress, liveness, readiness: () => this.readinessChecks() }),
      );
    if (metricsAddress)
      this.servers.push(
        await startProbeServer({
          address: metricsAddress,
          liveness,
          readiness: () => this.readinessChecks(),
          registry: this.metrics.registry,
        }),
      );
    for (const c of this.caches()) c.start();
    const gauge = setInterval(() => {
      const perKind = new Map<string, number>();
      for (const c of this.caches()) perKind.set(c.kind, (perKind.get(c.kind) ?? 0) + c.size);
      for (const [resource, n] of perKind) this.metrics.cacheObjects.set({ resource }, n);
    }, 5000);
    gauge.unref();

    const le = this.opts.leaderElection;
    if (!le) {
      await this.lead();
      return;
    }
    this.metrics.leader.set({ name: le.name }, 0);
    this.elector = new LeaderElector(this.client, {
      ...le,
      log: this.log.child({ component: 'leader-election' }),
      onStartedLeading: () => void this.lead(),
      onStoppedLeading: (reason) => {
        // Another replica may already be reconciling: stop at once, do not finish in-flight work.
        this.lostLease = reason;
        this.metrics.leader.set({ name: le.name }, 0);
        this.log.fatal({ reason }, 'leader lease lost; exiting');
        process.exit(1);
      },
      onLeaderChange: (holder) => this.log.info({ holder }, 'observed leader'),
    });
    this.elector.start();
  }

  private async lead(): Promise<void> {
    this.leading = true;
    if (this.opts.leaderElection) this.metrics.leader.set({ name: this.opts.leaderElection.name }, 1);
    await Promise.all(this.caches().map((c) => c.synced));
    if (this.stopping) return;
    this.log.info(
      { controllers: this.controllers.map((c) => c.name) },
      'caches synced; starting controllers',
    );
    for (const c of this.controllers) c.start();
  }

  /** Graceful stop: take no new work, finish in-flight reconciles, release the lease, close. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const deadline = this.opts.shutdownTimeoutMs ?? 30_000;
      this.log.info({ deadlineMs: deadline }, 'shutting down: finishing in-flight reconciles');
      const finished = await Promise.all(this.controllers.map((c) => c.stop(deadline)));
      if (finished.some((f) => !f)) this.log.warn('some reconciles did not finish before the deadline');
      await this.elector?.release();
      for (const c of this.caches()) c.stop();
      await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}
