// Status writes this process made that its cache does not show yet. A pass that reads an object
// from before its own last status write plans from the old status: its status write is refused
// (409) and the pass is redone, after it may already have repeated what the last pass sent (a
// create answered AlreadyExists). So a pass waits until the cache shows another version: the watch
// event of the write queues the object again. Waiting ends after GIVE_UP_MS in any case, should
// that event be lost. Not a record: a new process starts with none, and a freshly listed cache.
import type { KubeObject } from './kube-client.ts';

const GIVE_UP_MS = 30_000;
const MAX_TRACKED = 10_000;

export class OwnStatusWrites {
  /** By uid: the resourceVersion the write replaced, and when. */
  private readonly over = new Map<string, { version: string; at: number }>();

  /** `obj` is the copy the status write was based on. */
  wrote(obj: KubeObject, now: number): void {
    if (this.over.size >= MAX_TRACKED) this.over.clear(); // bounded: losing one costs a 409 at most
    this.over.set(obj.metadata.uid as string, { version: obj.metadata.resourceVersion as string, at: now });
  }

  /** Milliseconds to wait for the cache to show this process's last status write of `cached`; 0 when it does. */
  waitMs(cached: KubeObject, now: number): number {
    const uid = cached.metadata.uid as string;
    const write = this.over.get(uid);
    if (!write) return 0;
    const left = write.at + GIVE_UP_MS - now;
    if (write.version === cached.metadata.resourceVersion && left > 0) return left;
    this.over.delete(uid);
    return 0;
  }
}
