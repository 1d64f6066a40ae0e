// The Complete and Failed conditions of a DaemonJob run.
import type { DaemonJobStatus } from '../../api/daemonjob.ts';
import { type Condition, setCondition } from '../../runtime/status.ts';

interface RunSummary {
  prior: DaemonJobStatus['conditions'];
  generation?: number;
  phase: NonNullable<DaemonJobStatus['phase']>;
  /** Why Kubernetes rejected the per-node pod, if it did. */
  rejection?: string;
  failFast: boolean;
  counts: { succeeded: number; failed: number; done: number; eligible: number };
  failedList: { node: string; reason: string }[];
  now: Date;
}

export function runConditions(r: RunSummary): Condition[] {
  const { generation: observedGeneration, counts, now } = r;
  const complete =
    r.phase === 'Complete'
      ? {
          type: 'Complete',
          status: 'True' as const,
          reason: 'AllNodesSucceeded',
          message: `succeeded on ${counts.succeeded} node(s)`,
        }
      : {
          type: 'Complete',
          status: 'False' as const,
          reason: r.rejection ? 'InvalidTemplate' : r.phase === 'Failed' ? 'NodesFailed' : r.phase,
          message: `${counts.done} of ${counts.eligible} nodes done`,
        };
  let failed: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;
  if (r.rejection)
    failed = {
      type: 'Failed',
      status: 'True',
      reason: 'InvalidTemplate',
      message: r.rejection.slice(0, 1024),
    };
  else if (counts.failed > 0)
    failed = {
      type: 'Failed',
      status: r.phase === 'Failed' ? 'True' : 'False',
      reason: r.failFast ? 'FailFast' : 'NodesFailed',
      message: `failed on ${r.failedList.map((f) => `${f.node} (${f.reason})`).join(', ')}`,
    };
  else failed = { type: 'Failed', status: 'False', reason: 'NoFailures', message: 'no node failed' };
  const withComplete = setCondition(
    r.prior as Condition[] | undefined,
    { ...complete, observedGeneration },
    now,
  );
  return setCondition(withComplete, { ...failed, observedGeneration }, now);
}
