// A keyed work queue with client-go's guarantees: a key is never handed to two workers at once; a
// key added while it is being processed is processed again afterwards; duplicates collapse.
// Two priorities keep a large initial list from starving events that arrive live.
import { ExponentialBackoff } from './backoff.ts';
import { type Clock, systemClock } from './clock.ts';

export type Priority = 'high' | 'low';

export interface QueueMetrics {
  add(): void;
  depth(n: number): void;
  queueLatency(seconds: number): void;
  workDuration(seconds: number): void;
  retry(): void;
}

const noMetrics: QueueMetrics = { add() {}, depth() {}, queueLatency() {}, workDuration() {}, retry() {} };

export class WorkQueue {
  private readonly queues: Record<Priority, string[]> = { high: [], low: [] };
  private readonly dirty = new Map<string, { since: number; priority: Priority }>();
  private readonly processing = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; cancel(): void }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly backoff: ExponentialBackoff;
  private shuttingDown = false;
  private readonly clock: Clock;
  private readonly metrics: QueueMetrics;

  constructor(
    clock: Clock = systemClock,
    metrics: QueueMetrics = noMetrics,
    backoff = new ExponentialBackoff(),
  ) {
    this.clock = clock;
    this.metrics = metrics;
    this.backoff = backoff;
  }

  get length(): number {
    return this.queues.high.length + this.queues.low.length;
  }

  /** Keys being processed now, with the time they were handed out. */
  get inFlight(): ReadonlyMap<string, number> {
    return this.processing;
  }

  add(key: string, priority: Priority = 'high'): void {
    if (this.shuttingDown) return;
    this.metrics.add();
    const pending = this.dirty.get(key);
    if (pending) {
      // Already waiting: a live event lifts a key queued from the initial list.
      if (priority === 'high' && pending.priority === 'low') {
        pending.priority = 'high';
        const at = this.queues.low.indexOf(key);
        if (at >= 0) {
          this.queues.low.splice(at, 1);
          this.queues.high.push(key);
        }
      }
      return;
    }
    this.dirty.set(key, { since: this.clock.now(), priority });
    if (this.processing.has(key)) return; // re-queued by done()
    this.enqueue(key, priority);
  }

  /** Adds the key after `ms`; an earlier pending delay for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.cancel();
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, cancel: timer.cancel });
  }

  /** Adds the key after its backoff, which grows with each call until `forget`. */
  addRateLimited(key: string): void {
    this.metrics.retry();
    this.addAfter(key, this.backoff.next(key));
  }

  forget(key: string): void {
    this.backoff.forget(key);
  }

  retries(key: string): number {
    return this.backoff.retries(key);
  }

  /** Resolves with the next key to process, or undefined once the queue shuts down and drains. */
  get(): Promise<string | undefined> {
    const key = this.take();
    if (key !== undefined || this.shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks the key processed; if it was added meanwhile, it goes back into the queue. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics.workDuration((this.clock.now() - started) / 1000);
    const pending = this.dirty.get(key);
    if (pending) this.enqueue(key, pending.priority);
  }

  /** Stops handing out keys: waiting `get` calls resolve undefined, pending delays are dropped. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) d.cancel();
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private enqueue(key: string, priority: Priority) {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.queues[priority].push(key);
      waiter(this.take());
    } else {
      this.queues[priority].push(key);
    }
    this.metrics.depth(this.length);
  }

  private take(): string | undefined {
    const key = this.queues.high.shift() ?? this.queues.low.shift();
    if (key === undefined) return undefined;
    const pending = this.dirty.get(key);
    this.dirty.delete(key);
    this.processing.set(key, this.clock.now());
    if (pending) this.metrics.queueLatency((this.clock.now() - pending.since) / 1000);
    this.metrics.depth(this.length);
    return key;
  }
}
