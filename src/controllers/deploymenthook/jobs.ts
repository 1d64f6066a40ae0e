// A hook run as recorded in the status, read from its Job.
import type { DeploymentRunStatus } from '../../api/deploymenthook.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { jobOutcome } from '../job-outcome.ts';

export function runOf(job: KubeObject, revision: string): NonNullable<DeploymentRunStatus['lastRun']> {
  const outcome = jobOutcome(job);
  return {
    revision,
    jobName: job.metadata.name as string,
    startTime: job.metadata.creationTimestamp,
    ...outcome,
  };
}
