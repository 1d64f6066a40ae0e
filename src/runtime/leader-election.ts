// Leader election on a coordination.k8s.io Lease, with client-go's timing: a 15 s lease, renewals
// that must succeed within 10 s, retries every 2 s. Expiry is judged by when *we* last saw the
// lease change, never by comparing our clock with the holder's timestamps.
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.ts';
import {
  ApiError,
  isConflict,
  isNotFound,
  type KubeClient,
  type KubeObject,
  Resources,
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
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.get(Resources.leases, this.o.namespace, this.o.name);
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      const now = this.o.clock.now();
      lease.spec = {
        ...lease.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: microTime(now),
        acquireTime: microTime(now),
      };
      await this.client.request(
        'PUT',
        `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases/${this.o.name}`,
        { body: lease },
      );
      this.o.log.info({ lease: this.o.name }, 'released the leader lease');
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'could not release the leader lease');
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => void this.tick(), this.o.retryPeriodMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const ok = await this.tryAcquireOrRenew();
      const now = this.o.clock.now();
      if (ok) {
        this.lastRenewMs = now;
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
      this.o.log.warn({ err: (e as Error).message }, 'leader election request failed');
    }
    if (this.leading && this.o.clock.now() - this.lastRenewMs > this.o.renewDeadlineMs) {
      this.lose(`could not renew the lease within ${this.o.renewDeadlineMs / 1000}s`);
      return;
    }
    this.schedule();
  }

  private lose(reason: string): void {
    this.leading = false;
    this.stopped = true;
    this.o.log.error({ reason }, 'lost leadership');
    this.o.onStoppedLeading(reason);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, clock } = this.o;
    const now = clock.now();
    const durationSeconds = Math.round(this.o.leaseDurationMs / 1000);
    let lease: KubeObject;
    try {
      lease = await this.client.get(Resources.leases, namespace, name);
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
        await this.client.create(Resources.leases, {
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
      const updated = await this.client.request<KubeObject>(
        'PUT',
        `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`,
        { body: lease },
      );
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
