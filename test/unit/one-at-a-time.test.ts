// OneAtATime: the work of one key never overlaps and runs in the order it came; other keys and
// failures do not hold it up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OneAtATime } from '../../src/runtime/parallel.ts';

describe('OneAtATime', () => {
  it('runs one key’s work one at a time, in order, while another key goes on', async () => {
    const turns = new OneAtATime();
    const log: string[] = [];
    const gate = Promise.withResolvers<void>();
    const first = turns.run('pr-1', async () => {
      log.push('a start');
      await gate.promise;
      log.push('a end');
    });
    const second = turns.run('pr-1', async () => void log.push('b'));
    await turns.run('pr-2', async () => void log.push('other key'));
    assert.deepEqual(log, ['a start', 'other key'], 'b waits for a; pr-2 does not');
    gate.resolve();
    await Promise.all([first, second]);
    assert.deepEqual(log, ['a start', 'other key', 'a end', 'b']);
  });

  it('a failure reaches its caller only, and the next work still runs', async () => {
    const turns = new OneAtATime();
    const failed = turns.run('k', async () => {
      throw new Error('GitHub 502');
    });
    const next = turns.run('k', async () => 'ran');
    await assert.rejects(failed, /GitHub 502/);
    assert.equal(await next, 'ran');
  });
});
