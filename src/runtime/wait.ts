// Polling with a deadline, for callers that wait on a condition of the cluster (CLI, tests).
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what: string;
}

/**
 * Calls `check` until it returns a value other than undefined/false, and returns that value. On
 * timeout the error names what was awaited and the last observation (`check` may return
 * `{ pending: description }` to explain why it is not there yet).
 */
export async function waitFor<T>(
  check: () => Promise<T | false | undefined | { pending: string }>,
  opts: WaitOptions,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing observed yet';
  for (;;) {
    try {
      const value = await check();
      if (value && typeof value === 'object' && 'pending' in value) last = String(value.pending);
      else if (value !== undefined && value !== false) return value as T;
    } catch (e) {
      last = `error: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${opts.what}; last: ${last}`);
    await sleep(opts.intervalMs ?? 200);
  }
}
