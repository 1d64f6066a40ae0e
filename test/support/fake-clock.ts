// A clock that moves only when told to, for queue and backoff tests.
import type { Clock } from '../../src/runtime/clock.ts';

export class FakeClock implements Clock {
  private t = 1_000_000;
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const timer = { at: this.t + ms, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }
  advance(ms: number) {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t && !x.cancelled).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((x) => x.at > this.t && !x.cancelled);
    for (const x of due) x.fn();
  }
}
