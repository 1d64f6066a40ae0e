import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/runtime/kube-client.ts';
import { OwnWrites } from '../../src/runtime/own-writes.ts';

const copy = (uid: string, resourceVersion: string): KubeObject => ({ metadata: { uid, resourceVersion } });

describe('own writes the cache does not show yet', () => {
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
      const writes = new OwnWrites();
      for (const w of written) writes.wrote(w, 1_000);
      assert.equal(writes.waitMs(cached, at), want);
    });

  it('once the cache has moved on, an older copy read later does not wait again', () => {
    const writes = new OwnWrites();
    writes.wrote(copy('a', '5'), 0);
    assert.equal(writes.waitMs(copy('a', '6'), 1), 0);
    assert.equal(writes.waitMs(copy('a', '5'), 2), 0);
  });

  it('several writes of one pass: fresh only once the cache shows the last one', () => {
    const writes = new OwnWrites();
    writes.wrote(copy('a', '5'), 0);
    writes.wrote(copy('a', '6'), 1); // a second write (the status after the finalizer), from the first one's result
    assert.ok(writes.waitMs(copy('a', '5'), 2) > 0);
    assert.ok(writes.waitMs(copy('a', '6'), 3) > 0, 'the finalizer shows, the status not yet');
    assert.equal(writes.waitMs(copy('a', '7'), 4), 0);
  });

  it('after a delete: fresh once the cache shows the deletion, not just a newer version', () => {
    const writes = new OwnWrites();
    writes.wrote(copy('a', '5'), 0);
    writes.wrote(copy('a', '5'), 0, true);
    assert.ok(writes.waitMs(copy('a', '6'), 1) > 0, 'the status write shows, the delete not yet');
    const deleting = { metadata: { ...copy('a', '7').metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
    assert.equal(writes.waitMs(deleting, 2), 0);
  });
});
