// App applies that a pass handed off (Controller.detach). Beside thousands of Services, applying a
// new preview's Service and Deployment can take seconds; a pass that waited for them held back the
// repository's next decisions (the next wave of initializations) as long. So a pass records its
// decisions, creates its Jobs and leaves the applies to finish on their own. Until the Deployment
// cache shows an apply's hash, its preview is left out of the passes' plans (capacity still counts
// it, by its status): a plan made before would apply the same resources again. As the ReplicaSet
// controller's expectations, not a record: a new process starts with none.
import { GIVE_UP_MS } from '../../runtime/unseen-writes.ts';

export class PendingApplies {
  /** By Deployment key: the hash applied, and when. */
  private readonly pending = new Map<string, { hash: string; at: number }>();

  /** Before the apply is sent: its watch event may arrive before its answer. */
  sending(key: string, hash: string, now: number): void {
    this.pending.set(key, { hash, at: now });
  }

  /** The apply failed: nothing with its hash will show. */
  failed(key: string): void {
    this.pending.delete(key);
  }

  /** Fed with the Deployments the cache receives. */
  saw(key: string, hash: string | undefined): void {
    if (hash !== undefined && this.pending.get(key)?.hash === hash) this.pending.delete(key);
  }

  /** True while an apply was sent that the cache does not show yet (for at most GIVE_UP_MS). */
  waiting(key: string, now: number): boolean {
    const p = this.pending.get(key);
    if (p && now - p.at >= GIVE_UP_MS) this.pending.delete(key);
    return p !== undefined && now - p.at < GIVE_UP_MS;
  }

  get size(): number {
    return this.pending.size;
  }
}
