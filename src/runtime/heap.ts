// A binary min-heap: the smallest items of a large list, in order, for O(n + k log n) instead of
// sorting all n when only the first k are wanted.
export class Heap<T> {
  private readonly items: T[];
  private readonly less: (a: T, b: T) => boolean;

  /** Takes ownership of `items` (it is reordered in place). */
  constructor(items: T[], compare: (a: T, b: T) => number) {
    this.items = items;
    this.less = (a, b) => compare(a, b) < 0;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  get size(): number {
    return this.items.length;
  }

  /** Removes and returns the smallest item. */
  next(): T | undefined {
    const { items } = this;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      this.down(0);
    }
    return top;
  }

  private down(i: number): void {
    const { items, less } = this;
    const n = items.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) return;
      const right = left + 1;
      const child = right < n && less(items[right] as T, items[left] as T) ? right : left;
      if (!less(items[child] as T, items[i] as T)) return;
      [items[i], items[child]] = [items[child] as T, items[i] as T];
      i = child;
    }
  }
}
