// A Job's outcome as both controllers read it: Running, Succeeded or Failed (with the reason).
// A Job being deleted before it finished counts as Failed, so that its owner can record it.
import type { KubeObject } from '../runtime/kube-client.ts';

export interface JobOutcome {
  phase: 'Running' | 'Succeeded' | 'Failed';
  completionTime?: string;
  reason?: string;
  message?: string;
}

type JobCondition = {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
};

export function jobOutcome(job: KubeObject): JobOutcome {
  const conditions: JobCondition[] = job.status?.conditions ?? [];
  const complete = conditions.find((c) => c.type === 'Complete' && c.status === 'True');
  if (complete)
    return { phase: 'Succeeded', completionTime: job.status?.completionTime ?? complete.lastTransitionTime };
  const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
  if (failed)
    return {
      phase: 'Failed',
      completionTime: failed.lastTransitionTime,
      reason: failed.reason ?? 'Failed',
      ...(failed.message ? { message: failed.message } : {}),
    };
  if (job.metadata.deletionTimestamp)
    return {
      phase: 'Failed',
      completionTime: job.metadata.deletionTimestamp,
      reason: 'JobDeleted',
      message: 'the Job was deleted before it finished',
    };
  return { phase: 'Running' };
}

/** Complete or Failed, whether or not the Job is being deleted. */
export const jobFinished = (job: KubeObject) =>
  ((job.status?.conditions ?? []) as JobCondition[]).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
