// Following hook runs recorded in the status: a run ends when its Job finishes (or has been missing
// from the cache for too long), and each end is reported once, by Events (see `report`).
import type { DeploymentRunStatus } from '../../api/deploymenthook.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { type JobOutcome, jobOutcome } from '../job-outcome.ts';
import type { WorkloadKind } from './workloads.ts';

export type Run = NonNullable<DeploymentRunStatus['lastRun']>;

/** After this long, a recorded running Job that is absent from the cache is taken as deleted. */
export const MISSING_JOB_GRACE_MS = 120_000;

export interface PlannedEvent {
  /** The hook, or a workload (a Deployment when no kind is given). */
  on: 'hook' | { deployment: string; kind?: WorkloadKind };
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

/** What following the runs produced besides the runs themselves. */
export interface RunLog {
  events: PlannedEvent[];
  finished: Run['phase'][];
  /** Set when a run must be looked at again without any change in the cluster. */
  recheckAfterMs?: number;
}

export const iso = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

/** The run as its Job now says; a run whose Job is gone for longer than the grace ends as Failed. */
export function follow(run: Run, workload: Workload, jobs: KubeObject[], now: Date, log: RunLog): Run {
  if (run.phase !== 'Running') return run;
  const job = jobs.find((j) => j.metadata.name === run.jobName);
  let outcome: JobOutcome;
  if (job) outcome = jobOutcome(job);
  else if (now.getTime() - Date.parse(run.startTime ?? iso(now)) > MISSING_JOB_GRACE_MS)
    outcome = {
      phase: 'Failed',
      reason: 'JobDeleted',
      message: `Job ${run.jobName} was deleted before it finished`,
      completionTime: iso(now),
    };
  else {
    log.recheckAfterMs = MISSING_JOB_GRACE_MS;
    return run;
  }
  if (outcome.phase === 'Running') return run;
  const ended: Run = {
    ...run,
    phase: outcome.phase,
    ...(outcome.completionTime ? { completionTime: outcome.completionTime } : {}),
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    ...(outcome.message ? { message: outcome.message } : {}),
  };
  report(ended, workload, log);
  return ended;
}

type Workload = { kind: WorkloadKind; name: string };

/**
 * One Event per ended run, on the workload whose revision it ran for (where a person looks after
 * a rollout); a failure is a problem, so it is a Warning on the hook as well.
 */
function report(run: Run, { kind, name: deployment }: Workload, log: RunLog) {
  log.finished.push(run.phase);
  const what = `Job ${run.jobName} for revision ${run.revision}`;
  if (run.phase === 'Succeeded') {
    log.events.push({
      on: { deployment, kind },
      type: 'Normal',
      reason: 'HookSucceeded',
      note: `${what} succeeded`,
    });
    return;
  }
  const why = `${run.reason ?? 'Failed'}${run.message ? `: ${run.message}` : ''}`;
  log.events.push(
    {
      on: 'hook',
      type: 'Warning',
      reason: 'Failed',
      note: `Job ${run.jobName} for ${kind} ${deployment} revision ${run.revision} failed (${why})`,
    },
    { on: { deployment, kind }, type: 'Warning', reason: 'HookFailed', note: `${what} failed (${why})` },
  );
}
