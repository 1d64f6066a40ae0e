// When each preview of a burst reached each step, from the watch: where the burst's time goes
// (admission, the undeploys that make room, the initialization waves under maxInitializing).
import type { PreviewObject } from '../src/controllers/preview/model.ts';
import { percentile } from './support.ts';

const STEPS = ['finalizer', 'admitted', 'initializing', 'stopped'] as const;
type Step = (typeof STEPS)[number];

export class BurstTimeline {
  private readonly start = Date.now();
  private readonly burst: Set<string>;
  private readonly reached = new Map<Step | 'undeploying' | 'gone', Map<string, number>>();

  constructor(burstNames: string[]) {
    this.burst = new Set(burstNames);
  }

  private mark(step: Step | 'undeploying' | 'gone', name: string) {
    const at = this.reached.get(step) ?? new Map<string, number>();
    if (!at.has(name)) at.set(name, Date.now() - this.start);
    this.reached.set(step, at);
  }

  seen(p: PreviewObject): void {
    const name = p.metadata.name as string;
    if (p.metadata.deletionTimestamp) this.mark('undeploying', name);
    if (!this.burst.has(name)) return;
    if (p.metadata.finalizers?.length) this.mark('finalizer', name);
    if (p.status?.admittedAt) this.mark('admitted', name);
    if (p.status?.initStatus === 'initializing') this.mark('initializing', name);
    if (p.status?.phase === 'Stopped') this.mark('stopped', name);
  }

  gone(name: string): void {
    if (this.reached.get('undeploying')?.has(name)) this.mark('gone', name);
  }

  /** Rows: step, how many reached it, p50 / max seconds after the first create. */
  rows(): string[][] {
    const labels: Record<string, string> = {
      finalizer: 'burst: finalizer added',
      admitted: 'burst: admitted (deploy slot)',
      initializing: 'burst: initialize Job started',
      stopped: 'burst: Stopped (initialized)',
      undeploying: 'room: idle preview undeploying',
      gone: 'room: undeployed preview gone',
    };
    return Object.entries(labels).map(([step, label]) => {
      const times = [...(this.reached.get(step as Step)?.values() ?? [])];
      const s = (p: number) => (times.length ? (percentile(times, p) / 1000).toFixed(1) : '-');
      return [label, String(times.length), `${s(50)} / ${s(100)}`];
    });
  }
}
