// The DeploymentHook decision, as a pure function of a snapshot: which Jobs to create or stop, the
// new status and the Events to record. The controller reads the snapshot and carries the plan out.
import type {
  DeploymentHookSpec,
  DeploymentHookStatus,
  DeploymentRunStatus,
} from '../../api/deploymenthook.ts';
import { boundedName } from '../../api/names.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { type Condition, setCondition } from '../../runtime/status.ts';
import { type JobOutcome, jobOutcome } from '../job-outcome.ts';
import { runOf } from './jobs.ts';
import { RERUN_ANNOTATION } from './labels.ts';
import { rolloutState } from './rollout.ts';

export interface HookObject extends KubeObject {
  spec: DeploymentHookSpec;
  status?: DeploymentHookStatus;
}

export interface TemplateProblem {
  reason: 'TemplateNotFound' | 'InvalidTemplate';
  message: string;
}

export interface Snapshot {
  hook: HookObject;
  /** Deployments the selector matches, in the hook's namespace. */
  deployments: KubeObject[];
  /** Jobs labelled with this hook. */
  jobs: KubeObject[];
  templateProblem?: TemplateProblem;
  now: Date;
}

export interface JobToCreate {
  deployment: KubeObject;
  revision: string;
  rerun: string;
  name: string;
}

export interface PlannedEvent {
  /** The hook, or the name of a Deployment. */
  on: 'hook' | { deployment: string };
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

/** Records an Event on one object (the hook, or a Deployment). */
type Say = (type: PlannedEvent['type'], reason: string, note: string) => void;

export interface Plan {
  status: DeploymentHookStatus;
  create: JobToCreate[];
  stop: string[];
  events: PlannedEvent[];
  /** Set when the plan must be looked at again without any change in the cluster. */
  requeueAfterMs?: number;
}

/** After this long, a recorded running Job that is absent from the cache is taken as deleted. */
export const MISSING_JOB_GRACE_MS = 120_000;
const MAX_SKIPPED = 10;

export function hookJobName(hook: string, deployment: string, revision: string, rerun: string): string {
  return boundedName([hook, deployment, revision, rerun ? `r${boundedName([rerun], 6)}` : '']);
}

const iso = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

export function planHook(snap: Snapshot): Plan {
  const { hook, now } = snap;
  const policy = hook.spec.concurrencyPolicy ?? 'Forbid';
  const rerun = hook.metadata.annotations?.[RERUN_ANNOTATION] ?? '';
  const previous = new Map((hook.status?.deployments ?? []).map((d) => [d.name, d]));
  const plan: Plan = { status: {}, create: [], stop: [], events: [] };
  const entries: DeploymentRunStatus[] = [];
  const hookEvent: Say = (type, reason, note) => plan.events.push({ on: 'hook', type, reason, note });

  for (const deployment of [...snap.deployments].sort((a, b) =>
    (a.metadata.name as string).localeCompare(b.metadata.name as string),
  )) {
    const name = deployment.metadata.name as string;
    const prev = previous.get(name);
    const rollout = rolloutState(deployment);
    const entry: DeploymentRunStatus = {
      name,
      revision: rollout.revision,
      rollout: rollout.phase,
      ...(rollout.phase !== 'Complete' ? { message: rollout.message } : {}),
      ...(prev?.lastRun ? { lastRun: prev.lastRun } : {}),
      ...(prev?.lastSucceededRevision ? { lastSucceededRevision: prev.lastSucceededRevision } : {}),
      ...(prev?.pendingRevision ? { pendingRevision: prev.pendingRevision } : {}),
      ...(prev?.skippedRevisions?.length ? { skippedRevisions: prev.skippedRevisions } : {}),
      ...(prev?.rerun ? { rerun: prev.rerun } : {}),
    };
    const depEvent: Say = (type, reason, note) =>
      plan.events.push({ on: { deployment: name }, type, reason, note });

    if (rollout.phase === 'Failed' && prev?.rollout !== 'Failed') {
      hookEvent(
        'Warning',
        'RolloutFailed',
        `Deployment ${name} revision ${rollout.revision}: ${rollout.message}; the hook will not run for it`,
      );
    }

    // 1. Follow the recorded run; adopt a Job created before a crash kept it out of the status.
    const recordedJob = entry.lastRun && snap.jobs.find((j) => j.metadata.name === entry.lastRun?.jobName);
    const expectedName = rollout.revision
      ? hookJobName(hook.metadata.name as string, name, rollout.revision, rerun)
      : '';
    const unrecorded = snap.jobs.find(
      (j) => j.metadata.name === expectedName && j.metadata.name !== entry.lastRun?.jobName,
    );
    if (unrecorded) {
      entry.lastRun = runOf(unrecorded, rollout.revision);
      entry.rerun = rerun || undefined;
      if (!entry.rerun) delete entry.rerun;
      delete entry.pendingRevision;
    } else if (entry.lastRun?.phase === 'Running') {
      if (recordedJob) {
        const outcome = jobOutcome(recordedJob);
        if (outcome.phase !== 'Running') finish(entry, outcome, hookEvent, depEvent);
      } else if (now.getTime() - Date.parse(entry.lastRun.startTime ?? iso(now)) > MISSING_JOB_GRACE_MS) {
        finish(
          entry,
          {
            phase: 'Failed',
            reason: 'JobDeleted',
            message: `Job ${entry.lastRun.jobName} was deleted before it finished`,
            completionTime: iso(now),
          },
          hookEvent,
          depEvent,
        );
      } else {
        plan.requeueAfterMs = MISSING_JOB_GRACE_MS;
      }
    }
    if (entry.lastRun?.phase === 'Succeeded') entry.lastSucceededRevision = entry.lastRun.revision;

    // 2. Does the current revision still need its run?
    const done = entry.lastRun?.revision === rollout.revision && (entry.rerun ?? '') === rerun;
    if (rollout.phase === 'Complete' && !done && !hook.spec.suspend && !snap.templateProblem) {
      const running = entry.lastRun?.phase === 'Running' ? entry.lastRun : undefined;
      if (running && policy === 'Forbid') {
        if (entry.pendingRevision && entry.pendingRevision !== rollout.revision)
          skip(entry, entry.pendingRevision, hookEvent);
        if (entry.pendingRevision !== rollout.revision) {
          entry.pendingRevision = rollout.revision;
          hookEvent(
            'Normal',
            'Waiting',
            `Deployment ${name} revision ${rollout.revision} waits for Job ${running.jobName} (concurrencyPolicy Forbid)`,
          );
        }
      } else {
        if (running && policy === 'Replace') {
          plan.stop.push(running.jobName);
          hookEvent(
            'Normal',
            'Replaced',
            `Stopping Job ${running.jobName} for revision ${running.revision}: revision ${rollout.revision} rolled out (concurrencyPolicy Replace)`,
          );
        }
        if (entry.pendingRevision && entry.pendingRevision !== rollout.revision)
          skip(entry, entry.pendingRevision, hookEvent);
        delete entry.pendingRevision;
        const jobName = hookJobName(hook.metadata.name as string, name, rollout.revision, rerun);
        plan.create.push({ deployment, revision: rollout.revision, rerun, name: jobName });
        entry.lastRun = { revision: rollout.revision, jobName, phase: 'Running', startTime: iso(now) };
        if (rerun) entry.rerun = rerun;
        else delete entry.rerun;
        hookEvent(
          'Normal',
          'JobCreated',
          `Created Job ${jobName} for Deployment ${name} revision ${rollout.revision}`,
        );
        depEvent(
          'Normal',
          'HookStarted',
          `DeploymentHook ${hook.metadata.name} started Job ${jobName} for revision ${rollout.revision}`,
        );
      }
    }
    entries.push(entry);
  }

  plan.status = statusOf(snap, entries, rerun);
  const problem = snap.templateProblem;
  const before = hook.status?.conditions?.find((c) => c.type === 'Ready');
  if (problem && before?.reason !== problem.reason) hookEvent('Warning', problem.reason, problem.message);
  return plan;
}

function finish(entry: DeploymentRunStatus, outcome: JobOutcome, hookEvent: Say, depEvent: Say) {
  const run = entry.lastRun;
  if (!run) return;
  entry.lastRun = {
    ...run,
    phase: outcome.phase,
    ...(outcome.completionTime ? { completionTime: outcome.completionTime } : {}),
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    ...(outcome.message ? { message: outcome.message } : {}),
  };
  if (outcome.phase === 'Succeeded') {
    hookEvent(
      'Normal',
      'Succeeded',
      `Job ${run.jobName} for Deployment ${entry.name} revision ${run.revision} succeeded`,
    );
    depEvent('Normal', 'HookSucceeded', `Job ${run.jobName} for revision ${run.revision} succeeded`);
  } else {
    const why = `${outcome.reason ?? 'Failed'}${outcome.message ? `: ${outcome.message}` : ''}`;
    hookEvent(
      'Warning',
      'Failed',
      `Job ${run.jobName} for Deployment ${entry.name} revision ${run.revision} failed (${why})`,
    );
    depEvent('Warning', 'HookFailed', `Job ${run.jobName} for revision ${run.revision} failed (${why})`);
  }
}

function skip(entry: DeploymentRunStatus, revision: string, hookEvent: Say) {
  entry.skippedRevisions = [...(entry.skippedRevisions ?? []), revision].slice(-MAX_SKIPPED);
  hookEvent(
    'Normal',
    'Skipped',
    `Deployment ${entry.name} revision ${revision} skipped: a newer revision completed while a hook Job ran (concurrencyPolicy Forbid)`,
  );
}

function statusOf(snap: Snapshot, entries: DeploymentRunStatus[], rerun: string): DeploymentHookStatus {
  const { hook, now } = snap;
  const generation = hook.metadata.generation;
  const current = (e: DeploymentRunStatus) => e.lastRun?.revision === e.revision && (e.rerun ?? '') === rerun;
  const failed = entries.filter((e) => current(e) && e.lastRun?.phase === 'Failed');
  const running = entries.filter((e) => e.lastRun?.phase === 'Running');
  const succeeded = entries.filter((e) => current(e) && e.lastRun?.phase === 'Succeeded');
  const rolloutFailed = entries.filter((e) => e.rollout === 'Failed');
  const progressing = entries.filter((e) => e.rollout === 'Progressing');

  let ready: { status: Condition['status']; reason: string; message: string };
  if (snap.templateProblem) ready = { status: 'False', ...snap.templateProblem };
  else if (failed.length)
    ready = {
      status: 'False',
      reason: 'HookFailed',
      message: `hook failed for ${failed.map((e) => `${e.name} revision ${e.revision}`).join(', ')}`,
    };
  else if (hook.spec.suspend)
    ready = { status: 'False', reason: 'Suspended', message: 'spec.suspend is true: no new hook Jobs start' };
  else if (running.length)
    ready = {
      status: 'False',
      reason: 'Running',
      message: `hook Jobs running: ${running.map((e) => e.lastRun?.jobName).join(', ')}`,
    };
  else if (rolloutFailed.length)
    ready = {
      status: 'False',
      reason: 'RolloutFailed',
      message: rolloutFailed.map((e) => `${e.name}: ${e.message}`).join('; '),
    };
  else if (progressing.length)
    ready = {
      status: 'False',
      reason: 'RolloutInProgress',
      message: `waiting for rollouts of ${progressing.map((e) => e.name).join(', ')}`,
    };
  else if (!entries.length)
    ready = { status: 'True', reason: 'NoDeployments', message: 'the selector matches no Deployment' };
  else
    ready = {
      status: 'True',
      reason: 'Succeeded',
      message: `the hook succeeded for the current revision of all ${entries.length} Deployment(s)`,
    };

  let conditions = setCondition(
    hook.status?.conditions as Condition[] | undefined,
    { type: 'Ready', ...ready, observedGeneration: generation },
    now,
  );
  conditions = setCondition(
    conditions,
    failed.length
      ? {
          type: 'Failed',
          status: 'True',
          reason: 'HookFailed',
          message: failed
            .map(
              (e) =>
                `${e.name} revision ${e.revision}: ${e.lastRun?.reason ?? 'Failed'}${e.lastRun?.message ? ` (${e.lastRun.message})` : ''}`,
            )
            .join('; '),
          observedGeneration: generation,
        }
      : {
          type: 'Failed',
          status: 'False',
          reason: 'NoFailures',
          message: 'no hook run failed for a current revision',
          observedGeneration: generation,
        },
    now,
  );
  return {
    observedGeneration: generation,
    conditions,
    matched: entries.length,
    succeeded: succeeded.length,
    ...(entries.length ? { deployments: entries } : {}),
  };
}
