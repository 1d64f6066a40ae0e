// Leader election on a coordination.k8s.io Lease, with client-go's timing: a 15 s lease, renewals
// that must succeed within 10 s, retries every 2 s. Expiry is judged by when *we* last saw the
// lease change, never by comparing our clock with the holder's timestamps. A leader stops at its
// renew deadline even while a request hangs (a watchdog timer), and every lease request times out
// within that deadline, so a leader cut off from the API server has stopped before a standby can
// take over (a lease duration after the last renewal it saw).
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.ts';
import {
  ApiError,
  isConflict,
  isNotFound,
  type KubeClient,
  type KubeObject,
  Resources,
  resourcePath,
} from './kube-client.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  clock?: Clock;
  onStartedLeading: () => void;
  /** Called once when a held lease is lost or released; the process should stop reconciling. */
  onStoppedLeading: (reason: string) => void;
  onLeaderChange?: (holder: string) => void;
}

const microTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectionOptions, 'onLeaderChange'>> &
    Pick<LeaderElectionOptions, 'onLeaderChange'>;
  private readonly client: KubeClient;
  private observed: { record: string; atMs: number } | undefined;
  private leading = false;
  private lastRenewMs = 0;
  private stopped = false;
  private timer: { cancel(): void } | undefined;
  private watchdog: { cancel(): void } | undefined;
  private lastHolder = '';

  constructor(client: KubeClient, opts: LeaderElectionOptions) {
    this.client = client;
    this.o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      clock: systemClock,
      ...opts,
    };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** Gives the lease up (if held) so that a standby takes over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.watchdog?.cancel();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.leaseRequest('GET', this.o.renewDeadlineMs);
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      const now = this.o.clock.now();
      lease.spec = {
        ...lease.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: microTime(now),
        acquireTime: microTime(now),
      };
      await this.leaseRequest('PUT', this.o.renewDeadlineMs, lease);
      this.o.log.info({ lease: this.o.name }, 'released the leader lease');
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'could not release the leader lease');
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => void this.tick(), this.o.retryPeriodMs);
  }

  /** A GET, PUT or POST of our Lease that fails after `timeoutMs` without an answer. */
  private leaseRequest(method: 'GET' | 'PUT' | 'POST', timeoutMs: number, body?: KubeObject) {
    const { namespace, name } = this.o;
    const path = resourcePath(Resources.leases, namespace, method === 'POST' ? undefined : name);
    return this.client.request<KubeObject>(method, path, { body, timeoutMs: Math.max(1, timeoutMs) });
  }

  /** How long the next attempt may take: a leader must be done by its renew deadline. */
  private attemptBudgetMs(): number {
    return this.leading
      ? this.lastRenewMs + this.o.renewDeadlineMs - this.o.clock.now()
      : this.o.renewDeadlineMs;
  }

  private armWatchdog(): void {
    this.watchdog?.cancel();
    this.watchdog = this.o.clock.setTimeout(
      () => this.lose(`could not renew the lease within ${this.o.renewDeadlineMs / 1000}s`),
      this.lastRenewMs + this.o.renewDeadlineMs - this.o.clock.now(),
    );
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    // A renewal counts from when it was sent: the lease's renewTime, which standbys time from.
    const attemptedAt = this.o.clock.now();
    try {
      const ok = await this.tryAcquireOrRenew(this.attemptBudgetMs());
      if (this.stopped) return;
      if (ok) {
        this.lastRenewMs = attemptedAt;
        this.armWatchdog();
        if (!this.leading) {
          this.leading = true;
          this.o.log.info({ identity: this.o.identity }, 'became leader');
          this.o.onStartedLeading();
        }
      } else if (this.leading) {
        this.lose('another process holds the lease');
        return;
      }
    } catch (e) {
      if (this.stopped) return;
      this.o.log.warn({ err: (e as Error).message }, 'leader election request failed');
    }
    if (this.leading && this.o.clock.now() - this.lastRenewMs >= this.o.renewDeadlineMs) {
      this.lose(`could not renew the lease within ${this.o.renewDeadlineMs / 1000}s`);
      return;
    }
    this.schedule();
  }

  private lose(reason: string): void {
    if (this.stopped) return;
    this.leading = false;
    this.stopped = true;
    this.timer?.cancel();
    this.watchdog?.cancel();
    this.o.log.error({ reason }, 'lost leadership');
    this.o.onStoppedLeading(reason);
  }

  private async tryAcquireOrRenew(budgetMs: number): Promise<boolean> {
    const { namespace, name, identity, clock } = this.o;
    const now = clock.now();
    const deadline = now + budgetMs;
    const remaining = () => deadline - clock.now();
    const durationSeconds = Math.round(this.o.leaseDurationMs / 1000);
    let lease: KubeObject;
    try {
      lease = await this.leaseRequest('GET', remaining());
    } catch (e) {
      if (!isNotFound(e)) throw e;
      const spec = {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
      };
      try {
        await this.leaseRequest('POST', remaining(), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec,
        });
        return true;
      } catch (err) {
        if (err instanceof ApiError && err.reason === 'AlreadyExists') return false;
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (this.observed?.record !== record) this.observed = { record, atMs: now };
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.lastHolder) {
      this.lastHolder = holder;
      if (holder) this.o.onLeaderChange?.(holder);
    }
    const expired = this.observed.atMs + (spec.leaseDurationSeconds ?? durationSeconds) * 1000 <= now;
    if (holder && holder !== identity && !expired) return false;

    const acquiring = holder !== identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: microTime(now),
      ...(acquiring
        ? { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }
        : {}),
    };
    try {
      // A PUT carrying the resourceVersion we read: if anyone wrote in between, it fails with 409.
      const updated = await this.leaseRequest('PUT', remaining(), lease);
      this.observed = {
        record: JSON.stringify([identity, updated.spec.renewTime, durationSeconds]),
        atMs: now,
      };
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }
}
