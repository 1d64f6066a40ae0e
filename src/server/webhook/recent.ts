// Delivery ids this process applied lately. A preview's own annotation records the last delivery
// that changed it, but a replay can arrive after the preview is gone (a redelivered push once the
// branch was deleted): remembering the id keeps that replay from deploying it again.
export class RecentDeliveries {
  private readonly ids = new Set<string>();
  private readonly limit: number;

  constructor(limit = 10_000) {
    this.limit = limit;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.delete(id);
    this.ids.add(id);
    // A Set iterates in insertion order: the first is the oldest.
    while (this.ids.size > this.limit) this.ids.delete(this.ids.values().next().value as string);
  }
}
