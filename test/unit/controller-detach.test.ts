import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { Controller } from '../../src/runtime/controller.ts';
import { silentLogger } from '../../src/runtime/log.ts';
import { Metrics } from '../../src/runtime/metrics.ts';

/** A controller whose first reconcile of "k" hands off `work` and returns; later ones are counted. */
function detaching(work: Promise<boolean | undefined>) {
  const metrics = new Metrics({ processMetrics: false });
  const calls: number[] = [];
  let again: () => void = () => {};
  const reconciledAgain = new Promise<void>((r) => {
    again = r;
  });
  const controller: Controller = new Controller({
    name: 'detaching',
    workers: 1,
    metrics,
    log: silentLogger,
    reconcile: async (ctx, key) => {
      calls.push(Date.now());
      if (calls.length === 1) controller.detach(key, ctx.log, work);
      else again();
      return undefined;
    },
  });
  controller.queue.add('k');
  controller.start();
  return { controller, metrics, calls, reconciledAgain };
}

const deferred = () => {
  let resolve: (v?: boolean) => void = () => {};
  let reject: (e: unknown) => void = () => {};
  const promise = new Promise<boolean | undefined>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

const errors = async (m: Metrics) =>
  (await m.reconcileErrors.get()).values.find((v) => v.labels.controller === 'detaching')?.value ?? 0;

describe('work a reconcile hands off', () => {
  it('reconciles the key again when the work ends asking for it', async () => {
    const work = deferred();
    const { controller, calls, reconciledAgain } = detaching(work.promise);
    while (calls.length === 0) await tick();
    for (let i = 0; i < 5; i++) await tick();
    assert.equal(calls.length, 1, 'not again while the work runs');
    work.resolve(true);
    await reconciledAgain;
    assert.equal(calls.length, 2);
    await controller.stop();
  });

  it('leaves the key to the watch events of its writes when the work just succeeds', async () => {
    const work = deferred();
    const { controller, calls } = detaching(work.promise);
    while (calls.length === 0) await tick();
    work.resolve();
    for (let i = 0; i < 10; i++) await tick();
    assert.equal(calls.length, 1);
    assert.equal(controller.queue.length, 0);
    await controller.stop();
  });

  it('retries the key with backoff and counts an error when the work fails', async () => {
    const work = deferred();
    const { controller, metrics, calls, reconciledAgain } = detaching(work.promise);
    while (calls.length === 0) await tick();
    work.reject(new Error('apply timed out'));
    await reconciledAgain;
    assert.equal(await errors(metrics), 1);
    await controller.stop();
  });

  it('is waited for by stop, as in-flight reconciles are', async () => {
    const work = deferred();
    const { controller, calls } = detaching(work.promise);
    while (calls.length === 0) await tick();
    let stopped = false;
    const stopping = controller.stop().then((finished) => {
      stopped = true;
      return finished;
    });
    for (let i = 0; i < 5; i++) await tick();
    assert.equal(stopped, false, 'stop waits for the handed-off work');
    work.resolve();
    assert.equal(await stopping, true);
  });
});
