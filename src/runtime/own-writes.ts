// Writes this process made to an object that its cache does not show yet. A pass that reads an
// object from before its own last write plans from the old state: a status write is refused (409)
// after the pass may already have repeated what the last one sent, and capacity counted from the
// cache misses a decision just made. So a pass waits until the cache shows another version (or,
// after a delete, the deletion): the watch event of the write queues the object again. Waiting
// ends after GIVE_UP_MS in any case, should that event be lost. As the ReplicaSet controller's
// expectations, not a record: a new process starts with none, and a freshly listed cache.
import type { KubeObject } from './kube-client.ts';

const GIVE_UP_MS = 30_000;
const MAX_TRACKED = 10_000;

interface Write {
  /**
   * The resourceVersions our writes were based on: the cache is fresh once it shows another. A
   * pass that writes twice (a finalizer, then the status) adds the first write's result here, so a
   * cache that shows only the first write is still behind.
   */
  versions: Set<string>;
  /** A delete was sent: the cache is fresh once it shows the deletionTimestamp. */
  deleted: boolean;
  at: number;
}

export class OwnWrites {
  /** By uid: a namesake created later is another object. */
  private readonly pending = new Map<string, Write>();

  /** `obj` is the copy the write was based on; `deleted`: the write was a delete. */
  wrote(obj: KubeObject, now: number, deleted = false): void {
    const uid = obj.metadata.uid as string;
    const version = obj.metadata.resourceVersion as string;
    const earlier = this.pending.get(uid);
    if (earlier && now - earlier.at < GIVE_UP_MS) {
      earlier.versions.add(version);
      earlier.deleted ||= deleted;
      return;
    }
    if (this.pending.size >= MAX_TRACKED) this.pending.clear(); // bounded: losing one costs a 409 at most
    this.pending.set(uid, { versions: new Set([version]), deleted, at: now });
  }

  /** Milliseconds to wait for the cache to show this process's last write of `cached`; 0 when it does. */
  waitMs(cached: KubeObject, now: number): number {
    const uid = cached.metadata.uid as string;
    const write = this.pending.get(uid);
    if (!write) return 0;
    const left = write.at + GIVE_UP_MS - now;
    const shown = write.deleted
      ? !!cached.metadata.deletionTimestamp
      : !write.versions.has(cached.metadata.resourceVersion as string);
    if (left > 0 && !shown) return left;
    this.pending.delete(uid);
    return 0;
  }
}
