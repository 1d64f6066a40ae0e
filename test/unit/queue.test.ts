import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExponentialBackoff } from '../../src/runtime/backoff.ts';
import { WorkQueue } from '../../src/runtime/queue.ts';
import { FakeClock } from '../support/fake-clock.ts';

describe('WorkQueue', () => {
  it('collapses duplicates', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a');
    q.add('a');
    q.add('b');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
  });

  it('never hands out a key that is being processed; re-adds it after done', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a');
    const first = await q.get();
    q.add('a'); // changed while processing
    assert.equal(q.length, 0, 'not queued while in flight');
    let second: string | undefined;
    void q.get().then((k) => {
      second = k;
    });
    await Promise.resolve();
    assert.equal(second, undefined, 'a second worker waits');
    q.done(first as string);
    await Promise.resolve();
    assert.equal(second, 'a', 'processed again after done');
  });

  it('serves live (high) keys before initial-list (low) keys, and a live event lifts a low key', async () => {
    const q = new WorkQueue(new FakeClock());
    for (const k of ['l1', 'l2', 'l3']) q.add(k, 'low');
    q.add('live');
    q.add('l3', 'high');
    assert.equal(await q.get(), 'live');
    assert.equal(await q.get(), 'l3');
    assert.equal(await q.get(), 'l1');
  });

  it('delays addAfter until the time passes; the earliest delay wins', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    q.addAfter('a', 1000);
    q.addAfter('a', 5000);
    clock.advance(999);
    assert.equal(q.length, 0);
    clock.advance(1);
    assert.equal(q.length, 1);
    clock.advance(5000);
    assert.equal(q.length, 1, 'the later delay was dropped');
  });

  it('backs off exponentially per key and resets on forget', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock, undefined, new ExponentialBackoff(10, 1000));
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      q.addRateLimited('a');
      let waited = 0;
      while (q.length === 0) {
        clock.advance(1);
        waited++;
      }
      delays.push(waited);
      q.done((await q.get()) as string);
    }
    assert.deepEqual(delays, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    assert.equal(q.retries('a'), 9);
    q.forget('a');
    assert.equal(q.retries('a'), 0);
  });

  it('shutDown releases waiting workers', async () => {
    const q = new WorkQueue(new FakeClock());
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);
    q.add('x');
    assert.equal(q.length, 0, 'no adds after shutdown');
  });
});

describe('watch cache helpers', () => {
  it('strips managed fields and the last-applied annotation, keeping other annotations', async () => {
    const { stripForCache, objectKey } = await import('../../src/runtime/watch-cache.ts');
    const o = stripForCache({
      metadata: {
        name: 'a',
        namespace: 'n',
        managedFields: [{}],
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', keep: 'me' },
      },
    });
    assert.equal(o.metadata.managedFields, undefined);
    assert.deepEqual(o.metadata.annotations, { keep: 'me' });
    assert.equal(objectKey(o), 'n/a');
    assert.equal(objectKey({ metadata: { name: 'node-1' } }), 'node-1');
  });
});
