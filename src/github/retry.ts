// Retries of GitHub requests: 5xx answers and lost connections with exponential backoff, rate
// limits (429, or 403 with x-ratelimit-remaining 0 or retry-after) after the time GitHub names. A
// wait longer than the caller can afford becomes a RateLimitedError carrying the delay, so that a
// controller requeues the key instead of holding a worker.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Octokit } from '@octokit/rest';

export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** First backoff after a 5xx; doubles each attempt. */
  baseDelayMs: number;
  /** A longer wait is not slept: RateLimitedError instead. */
  maxWaitMs: number;
  /** Each request's own deadline. */
  timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 3,
  baseDelayMs: 500,
  maxWaitMs: 10_000,
  timeoutMs: 15_000,
};

type Headers = Record<string, string | number | undefined>;

/**
 * How long to wait before retrying a failed request (pure). `undefined`: do not retry (a 4xx that
 * retrying cannot fix). `rateLimited` tells a limit from a server error.
 */
export function retryDelay(
  status: number | undefined,
  headers: Headers,
  attempt: number,
  policy: RetryPolicy,
  now = Date.now(),
): { ms: number; rateLimited: boolean } | undefined {
  const header = (name: string) => {
    const v = headers[name];
    return v === undefined ? undefined : Number(v);
  };
  const retryAfter = header('retry-after');
  const remaining = header('x-ratelimit-remaining');
  const reset = header('x-ratelimit-reset');
  const limited = status === 429 || (status === 403 && (remaining === 0 || retryAfter !== undefined));
  if (limited) {
    if (retryAfter !== undefined && Number.isFinite(retryAfter))
      return { ms: retryAfter * 1000, rateLimited: true };
    if (remaining === 0 && reset !== undefined && Number.isFinite(reset))
      return { ms: Math.max(0, reset * 1000 - now) + 1000, rateLimited: true };
    // A secondary limit without headers: GitHub asks for at least a minute.
    return { ms: 60_000, rateLimited: true };
  }
  // No status: the connection failed (Octokit reports those as 500 too).
  if (status === undefined || status >= 500)
    return { ms: policy.baseDelayMs * 2 ** attempt, rateLimited: false };
  return undefined;
}

interface RequestFailure {
  status?: number;
  response?: { headers?: Headers };
}

/** Wraps every request of this client with the policy. */
export function installRetry(octokit: Octokit, policy: RetryPolicy = DEFAULT_RETRY): void {
  octokit.hook.wrap('request', async (request, options) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request({
          ...options,
          request: { ...options.request, signal: AbortSignal.timeout(policy.timeoutMs) },
        });
      } catch (e) {
        const failure = e as RequestFailure;
        const delay = retryDelay(failure.status, failure.response?.headers ?? {}, attempt, policy);
        if (!delay) throw e;
        const what = `${options.method} ${options.url}`;
        if (delay.ms > policy.maxWaitMs)
          throw new RateLimitedError(`${what}: GitHub asks to wait ${Math.ceil(delay.ms / 1000)}s`, delay.ms);
        if (attempt >= policy.retries) {
          if (delay.rateLimited) throw new RateLimitedError(`${what}: still rate limited`, delay.ms);
          throw e;
        }
        await sleep(delay.ms);
      }
    }
  });
}
