import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Heap } from '../../src/runtime/heap.ts';

const drain = <T>(h: Heap<T>) => {
  const out: T[] = [];
  for (let x = h.next(); x !== undefined; x = h.next()) out.push(x);
  return out;
};
const byNumber = (a: number, b: number) => a - b;

describe('Heap', () => {
  const cases: { name: string; items: number[] }[] = [
    { name: 'empty', items: [] },
    { name: 'one item', items: [7] },
    { name: 'already in order', items: [1, 2, 3, 4, 5] },
    { name: 'reversed', items: [9, 8, 7, 6, 5, 4, 3, 2, 1] },
    { name: 'duplicates', items: [3, 1, 3, 2, 1, 3] },
  ];
  for (const c of cases)
    it(`gives the items smallest first: ${c.name}`, () => {
      assert.deepEqual(drain(new Heap([...c.items], byNumber)), [...c.items].sort(byNumber));
    });

  it('agrees with a sort on random lists, taking only the first few', () => {
    let seed = 42;
    const random = () => (seed = (seed * 48271) % 2147483647);
    for (let round = 0; round < 200; round++) {
      const items = Array.from({ length: random() % 300 }, () => random() % 1000);
      const h = new Heap([...items], byNumber);
      const k = random() % 10;
      const first = Array.from({ length: Math.min(k, items.length) }, () => h.next());
      assert.deepEqual(first, [...items].sort(byNumber).slice(0, k));
      assert.equal(h.size, items.length - first.length);
    }
  });
});
