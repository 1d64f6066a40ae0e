// The reconcile loop: workers take keys from a WorkQueue and call `reconcile(ctx, key)`.
// Level-triggered: a reconcile reads the current state and converges it; it is told only the key.
//   - returns nothing        → done; the key's backoff is reset
//   - returns requeueAfterMs → done; the key comes back after that delay
//   - throws TerminalError   → logged and counted, not retried until the key changes again
//   - throws a 409 Conflict  → quietly retried with backoff (someone else wrote first)
//   - throws anything else   → logged and retried with per-key exponential backoff
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ExponentialBackoff } from './backoff.ts';
import { type Clock, systemClock } from './clock.ts';
import { isConflict, type KubeObject } from './kube-client.ts';
import type { Metrics } from './metrics.ts';
import { type Priority, WorkQueue } from './queue.ts';
import type { CacheEvent, CacheHandler } from './watch-cache.ts';
import { objectKey } from './watch-cache.ts';

export type ReconcileResult = undefined | { requeueAfterMs: number };

/** An error that retrying cannot fix (bad input the user has to change). */
export class TerminalError extends Error {
  override name = 'TerminalError';
}

export interface ReconcileContext {
  log: Logger;
  reconcileId: string;
  /** Aborted when the process shuts down and the in-flight deadline passes. */
  signal: AbortSignal;
}

export type Reconcile = (ctx: ReconcileContext, key: string) => Promise<ReconcileResult>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconcile;
  workers?: number;
  metrics: Metrics;
  log: Logger;
  clock?: Clock;
  /** The retry delays after failures (default: 5 ms doubling to 1000 s, as client-go). */
  backoff?: ExponentialBackoff;
}

/** Maps a cache event to the keys of the objects to reconcile. */
export type EventMapper<T extends KubeObject> = (event: CacheEvent<T>) => string[];

/** The object's own key. */
export const toSelf = <T extends KubeObject>(event: CacheEvent<T>) => [objectKey(event.object)];

/** The key of the controlling owner of the given kind, in the child's namespace. */
export const toOwner =
  (kind: string) =>
  <T extends KubeObject>(event: CacheEvent<T>) => {
    const owner = event.object.metadata.ownerReferences?.find((r) => r.controller && r.kind === kind);
    return owner
      ? [event.object.metadata.namespace ? `${event.object.metadata.namespace}/${owner.name}` : owner.name]
      : [];
  };

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly opts: Required<Omit<ControllerOptions, 'clock' | 'backoff'>> & { clock: Clock };
  private readonly abort = new AbortController();
  private workers: Promise<void>[] = [];
  private gaugeTimer: NodeJS.Timeout | undefined;

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.opts = { workers: 2, clock: systemClock, ...opts };
    this.queue = new WorkQueue(this.opts.clock, opts.metrics.queue(opts.name), opts.backoff);
  }

  /** Feeds a cache's events into the queue; initial-list events go in at low priority. */
  watch<T extends KubeObject>(
    cache: { onEvent(handler: CacheHandler<T>): void },
    mapper: EventMapper<T>,
  ): this {
    cache.onEvent((event) => {
      const priority: Priority = event.type === 'added' && event.initial ? 'low' : 'high';
      for (const key of mapper(event)) this.queue.add(key, priority);
    });
    return this;
  }

  start(): void {
    const { metrics, workers } = this.opts;
    metrics.maxConcurrent.set({ controller: this.name }, workers);
    this.workers = Array.from({ length: workers }, () => this.work());
    this.gaugeTimer = setInterval(() => this.updateInFlightGauges(), 1000);
    this.gaugeTimer.unref();
  }

  /** Stops taking keys and waits up to `deadlineMs` for in-flight reconciles to finish. */
  async stop(deadlineMs = 30_000): Promise<boolean> {
    this.queue.shutDown();
    clearInterval(this.gaugeTimer);
    const timer = setTimeout(() => this.abort.abort(), deadlineMs);
    timer.unref();
    const finished = await Promise.race([
      Promise.all(this.workers).then(() => true),
      new Promise<boolean>((r) => this.abort.signal.addEventListener('abort', () => r(false))),
    ]);
    clearTimeout(timer);
    return finished;
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.process(key);
      this.queue.done(key);
    }
  }

  private async process(key: string): Promise<void> {
    const { metrics, log, clock } = this.opts;
    const controller = this.name;
    const reconcileId = randomUUID();
    const ctx: ReconcileContext = {
      log: log.child({ controller, key, reconcileId }),
      reconcileId,
      signal: this.abort.signal,
    };
    const started = clock.now();
    metrics.activeWorkers.inc({ controller });
    try {
      const result = await this.opts.reconcile(ctx, key);
      this.queue.forget(key);
      if (result?.requeueAfterMs !== undefined) {
        metrics.reconcileTotal.inc({ controller, result: 'requeue_after' });
        this.queue.addAfter(key, result.requeueAfterMs);
      } else {
        metrics.reconcileTotal.inc({ controller, result: 'success' });
      }
    } catch (err) {
      if (err instanceof TerminalError) {
        this.queue.forget(key);
        metrics.reconcileTotal.inc({ controller, result: 'error' });
        metrics.terminalErrors.inc({ controller });
        ctx.log.error({ err: err.message }, 'reconcile failed; not retrying until the object changes');
      } else if (isConflict(err)) {
        metrics.reconcileTotal.inc({ controller, result: 'requeue' });
        ctx.log.debug({ err: (err as Error).message }, 'conflict; requeued');
        this.queue.addRateLimited(key);
      } else {
        metrics.reconcileTotal.inc({ controller, result: 'error' });
        metrics.reconcileErrors.inc({ controller });
        ctx.log.error(
          {
            err: err instanceof Error ? { message: err.message, stack: err.stack } : err,
            retries: this.queue.retries(key),
          },
          'reconcile failed; retrying with backoff',
        );
        this.queue.addRateLimited(key);
      }
    } finally {
      metrics.activeWorkers.dec({ controller });
      metrics.reconcileTime.observe({ controller }, (clock.now() - started) / 1000);
    }
  }

  private updateInFlightGauges(): void {
    const now = this.opts.clock.now();
    let total = 0;
    let longest = 0;
    for (const started of this.queue.inFlight.values()) {
      const s = (now - started) / 1000;
      total += s;
      longest = Math.max(longest, s);
    }
    const labels = { name: this.name, controller: this.name };
    this.opts.metrics.unfinishedWork.set(labels, total);
    this.opts.metrics.longestRunning.set(labels, longest);
  }
}
