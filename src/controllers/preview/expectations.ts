// Writes this process made to previews that its cache has not shown yet. Capacity decisions count
// what the cache shows, so a repository is planned again only once the cache holds every preview
// write of the last pass (as the ReplicaSet controller's expectations do). Not a source of truth:
// a new process starts with an empty set and a freshly listed cache.
import type { KubeObject } from '../../runtime/kube-client.ts';

const GIVE_UP_MS = 30_000;

interface Expectation {
  /** The resourceVersion the write was based on: the cache is fresh once it shows another. */
  staleVersion: string;
  deleted: boolean;
  at: number;
}

export class Expectations {
  private readonly pending = new Map<string, Expectation>();

  wrote(obj: KubeObject, now: number, deleted = false): void {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    if (!this.pending.has(key))
      this.pending.set(key, { staleVersion: obj.metadata.resourceVersion as string, deleted, at: now });
    else if (deleted) (this.pending.get(key) as Expectation).deleted = true;
  }

  /** True when the cached object (undefined: gone) does not show our last write yet. */
  isStale(key: string, cached: KubeObject | undefined, now: number): boolean {
    const e = this.pending.get(key);
    if (!e) return false;
    const fresh =
      !cached ||
      now - e.at > GIVE_UP_MS ||
      (e.deleted ? !!cached.metadata.deletionTimestamp : cached.metadata.resourceVersion !== e.staleVersion);
    if (fresh) this.pending.delete(key);
    return !fresh;
  }
}
