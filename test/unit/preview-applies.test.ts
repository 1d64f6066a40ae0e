import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PendingApplies } from '../../src/controllers/preview/applies.ts';

describe('app applies the Deployment cache does not show yet', () => {
  // Each case: the steps on Deployment "ns/a", then whether a pass asked at `askAt` waits for it.
  const cases: [string, ((a: PendingApplies) => void)[], number, boolean][] = [
    ['nothing sent: no wait', [], 0, false],
    ['sent, not shown: waits', [(a) => a.sending('ns/a', 'h1', 1_000)], 2_000, true],
    [
      'shown with its hash: no wait',
      [(a) => a.sending('ns/a', 'h1', 0), (a) => a.saw('ns/a', 'h1')],
      1,
      false,
    ],
    [
      'an older version shown (no hash, or the last one): still waits',
      [(a) => a.sending('ns/a', 'h2', 0), (a) => a.saw('ns/a', undefined), (a) => a.saw('ns/a', 'h1')],
      1,
      true,
    ],
    [
      'another Deployment shown: still waits',
      [(a) => a.sending('ns/a', 'h1', 0), (a) => a.saw('ns/b', 'h1')],
      1,
      true,
    ],
    [
      'the apply failed or was rejected: no wait',
      [(a) => a.sending('ns/a', 'h1', 0), (a) => a.failed('ns/a')],
      1,
      false,
    ],
    ['never shown: given up after 30 s', [(a) => a.sending('ns/a', 'h1', 0)], 30_000, false],
  ];
  for (const [name, steps, askAt, want] of cases)
    it(name, () => {
      const a = new PendingApplies();
      for (const step of steps) step(a);
      assert.equal(a.waiting('ns/a', askAt), want);
    });

  it('forgets an apply once it is given up on', () => {
    const a = new PendingApplies();
    a.sending('ns/a', 'h1', 0);
    assert.equal(a.waiting('ns/a', 30_000), false);
    assert.equal(a.size, 0);
  });
});
