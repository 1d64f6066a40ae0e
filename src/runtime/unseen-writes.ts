// Writes this process made that its cache does not show yet. A pass planned from that cache would
// repeat them: a create answered AlreadyExists (and a GET), a finalizer release refused with 422
// because the cached finalizer list is one the release already changed. As the ReplicaSet
// controller's expectations do, a write is awaited until a watch event shows it, or for at most
// `giveUpMs`, so that a lost event cannot hold a node back for good. Not a record: a new process
// starts with none, and with a freshly listed cache.

export const GIVE_UP_MS = 30_000;

export class UnseenWrites {
  private readonly since = new Map<string, number>();
  private readonly giveUpMs: number;
  /** Past this many entries, `wrote` drops those given up on: writes whose object never shows. */
  private sweepAt = 1024;

  constructor(giveUpMs = GIVE_UP_MS) {
    this.giveUpMs = giveUpMs;
  }

  wrote(key: string, now: number): void {
    this.since.set(key, now);
    if (this.since.size <= this.sweepAt) return;
    for (const [k, at] of this.since) if (now - at >= this.giveUpMs) this.since.delete(k);
    this.sweepAt = Math.max(1024, 2 * this.since.size);
  }

  /** Nothing to wait for: the cache shows the write, or the object is gone, or the write failed. */
  settled(key: string): void {
    this.since.delete(key);
  }

  /** Milliseconds left to wait for `key`'s write to show in the cache; 0 when none is awaited. */
  waitMs(key: string, now: number): number {
    const at = this.since.get(key);
    if (at === undefined) return 0;
    const left = at + this.giveUpMs - now;
    if (left <= 0) this.since.delete(key);
    return Math.max(0, left);
  }

  get size(): number {
    return this.since.size;
  }
}
