import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnseenWrites } from '../../src/runtime/unseen-writes.ts';

describe('writes the cache does not show yet', () => {
  // Each case: the steps on key "a" (wrote at a time, settled), then the wait asked at `askAt`.
  const cases: [string, ((w: UnseenWrites) => void)[], number, number][] = [
    ['nothing written: nothing awaited', [], 0, 0],
    [
      'written, not shown yet: awaited for the rest of the 30 s',
      [(w) => w.wrote('a', 1_000)],
      11_000,
      20_000,
    ],
    ['shown by the cache: no longer awaited', [(w) => w.wrote('a', 1_000), (w) => w.settled('a')], 2_000, 0],
    ['never shown: given up after 30 s', [(w) => w.wrote('a', 1_000)], 31_000, 0],
    [
      'written again: awaited from the last write',
      [(w) => w.wrote('a', 0), (w) => w.wrote('a', 20_000)],
      40_000,
      10_000,
    ],
    ['another key shown: still awaited', [(w) => w.wrote('a', 0), (w) => w.settled('b')], 5_000, 25_000],
  ];
  for (const [name, steps, askAt, want] of cases)
    it(name, () => {
      const w = new UnseenWrites(30_000);
      for (const step of steps) step(w);
      assert.equal(w.waitMs('a', askAt), want);
    });

  it('drops writes given up on once it holds many, so objects that never show do not pile up', () => {
    const w = new UnseenWrites(30_000);
    for (let i = 0; i < 1024; i++) w.wrote(`old-${i}`, i < 1000 ? 0 : 20_000);
    assert.equal(w.size, 1024);
    w.wrote('new', 40_000);
    assert.equal(w.size, 25, 'the 1,000 given up on are dropped, the 24 still awaited stay');
    assert.equal(w.waitMs('old-1000', 40_000), 10_000);
  });

  it('forgets a write it gave up on', () => {
    const w = new UnseenWrites(30_000);
    w.wrote('a', 0);
    assert.equal(w.waitMs('a', 30_000), 0);
    assert.equal(w.size, 0);
  });
});
