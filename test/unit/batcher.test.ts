import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Batcher, chunks } from '../../src/runtime/batcher.ts';

describe('chunks', () => {
  const cases: { items: number; size: number; want: number[] }[] = [
    { items: 0, size: 10, want: [] },
    { items: 3, size: 10, want: [3] },
    { items: 10, size: 10, want: [10] },
    { items: 11, size: 10, want: [5, 6] },
    { items: 79, size: 20, want: [19, 20, 20, 20] },
  ];
  for (const c of cases)
    it(`${c.items} items in runs of at most ${c.size}: ${JSON.stringify(c.want)}`, () => {
      const items = Array.from({ length: c.items }, (_, i) => i);
      const runs = chunks(items, c.size);
      assert.deepEqual(
        runs.map((r) => r.length),
        c.want,
      );
      assert.deepEqual(runs.flat(), items, 'every item once, in order');
    });
});

/** A batch runner whose batches end when the test says so. */
function controlled() {
  const batches: { group: string; items: string[]; end: () => void }[] = [];
  const run = (group: string, items: string[]) =>
    new Promise<PromiseSettledResult<string>[]>((resolve) => {
      batches.push({
        group,
        items,
        end: () =>
          resolve(
            items.map((i) =>
              i.startsWith('bad')
                ? { status: 'rejected', reason: new Error(i) }
                : { status: 'fulfilled', value: `${i}!` },
            ),
          ),
      });
    });
  return { batches, run };
}

describe('Batcher', () => {
  it('runs the first item at once and the ones that arrive meanwhile together, per group', async () => {
    const { batches, run } = controlled();
    const b = new Batcher(run, { maxBatch: 10, maxRound: 100 });
    const a = b.add('ns1', 'a');
    const x = b.add('ns2', 'x');
    const later = ['b', 'c', 'd'].map((i) => b.add('ns1', i));
    assert.deepEqual(
      batches.map((t) => [t.group, t.items]),
      [
        ['ns1', ['a']],
        ['ns2', ['x']],
      ],
    );
    batches[0]?.end();
    assert.equal(await a, 'a!');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(batches[2]?.items, ['b', 'c', 'd'], 'the items that waited share one batch');
    batches[2]?.end();
    assert.deepEqual(await Promise.all(later), ['b!', 'c!', 'd!']);
    batches[1]?.end();
    assert.equal(await x, 'x!');
  });

  it('splits a large round into batches that run at once, and fails only the items that failed', async () => {
    const { batches, run } = controlled();
    const b = new Batcher(run, { maxBatch: 2, maxRound: 4 });
    const first = b.add('ns', 'a');
    const waiting = Promise.allSettled(['b', 'bad-c', 'd', 'e', 'f'].map((i) => b.add('ns', i)));
    batches[0]?.end();
    await first;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      batches.slice(1).map((t) => t.items),
      [
        ['b', 'bad-c'],
        ['d', 'e'],
      ],
      'at most maxRound items per round, in batches of at most maxBatch',
    );
    for (const t of batches.slice(1)) t.end();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(batches.at(-1)?.items, ['f'], 'the rest in the next round');
    batches.at(-1)?.end();
    const outcomes = await waiting;
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
  });

  it('rejects every item of a batch whose run throws', async () => {
    const b = new Batcher<string, string>(
      async () => {
        throw new Error('API server unreachable');
      },
      { maxBatch: 10, maxRound: 100 },
    );
    await assert.rejects(b.add('ns', 'a'), /unreachable/);
    await assert.rejects(b.add('ns', 'b'), /unreachable/, 'the group is usable after a failure');
  });
});
