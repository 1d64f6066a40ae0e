import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/runtime/kube-client.ts';
import { OwnStatusWrites } from '../../src/runtime/own-status-writes.ts';

const copy = (uid: string, resourceVersion: string): KubeObject => ({ metadata: { uid, resourceVersion } });

describe('status writes the cache does not show yet', () => {
  // Each case: the copies written from (at 1 s), then the cached copy asked about, when, and the wait.
  const cases: [string, KubeObject[], KubeObject, number, number][] = [
    ['no write: the cache is fresh', [], copy('a', '5'), 2_000, 0],
    ['the cache still holds the copy written from: wait', [copy('a', '5')], copy('a', '5'), 2_000, 29_000],
    ['the cache shows another version: fresh', [copy('a', '5')], copy('a', '6'), 2_000, 0],
    ['another object written: fresh', [copy('b', '5')], copy('a', '5'), 2_000, 0],
    ['a namesake with another uid: fresh', [copy('a', '5')], copy('a2', '5'), 2_000, 0],
    ['its event never came: given up after 30 s', [copy('a', '5')], copy('a', '5'), 31_000, 0],
  ];
  for (const [name, written, cached, at, want] of cases)
    it(name, () => {
      const writes = new OwnStatusWrites();
      for (const w of written) writes.wrote(w, 1_000);
      assert.equal(writes.waitMs(cached, at), want);
    });

  it('once the cache has moved on, an older copy read later does not wait again', () => {
    const writes = new OwnStatusWrites();
    writes.wrote(copy('a', '5'), 0);
    assert.equal(writes.waitMs(copy('a', '6'), 1), 0);
    assert.equal(writes.waitMs(copy('a', '5'), 2), 0);
  });
});
