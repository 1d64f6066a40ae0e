// The DeploymentHook decision, as a pure function of a snapshot: which Jobs to create or stop, the
// new status, the Events, and which Jobs may drop their result finalizer once that status is
// written. The controller reads the snapshot and carries the plan out, in that order.
import type {
  DeploymentHookSpec,
  DeploymentHookStatus,
  DeploymentRunStatus,
} from '../../api/deploymenthook.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { jobOutcome } from '../job-outcome.ts';
import { baselineRevision, gatedRevisions, gatePod, mayHaveEscaped } from './gate.ts';
import { hookStatus } from './hook-status.ts';
import { hookJobName } from './identity.ts';
import { imageProblem, inheritedImage, type PodTemplateSpec, templateImageProblem } from './inherit.ts';
import { RERUN_ANNOTATION, RESULT_FINALIZER } from './labels.ts';
import { type RolloutState, rolloutState } from './rollout.ts';
import { follow, iso, type PlannedEvent, type Run, type RunLog } from './runs.ts';
import { kindAndName, kindOf, type WorkloadKind } from './workloads.ts';

export { hookJobName, type RunIdentity, templateVersion } from './identity.ts';
export type { PlannedEvent } from './runs.ts';
export { MISSING_JOB_GRACE_MS } from './runs.ts';

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
  /** Workloads (of the hook's kinds) the selector matches, in the hook's namespace. */
  deployments: KubeObject[];
  /** The other workloads of the namespace: a recorded one that still exists keeps its history. */
  unmatched?: KubeObject[];
  /** Jobs labelled with this hook's name, whichever hook UID owns them. */
  jobs: KubeObject[];
  /** The pod template, when it could be read. */
  template?: PodTemplateSpec;
  /** Identifies what a created Job is built from (hook generation, PodTemplate version, rerun). */
  templateVersion?: string;
  templateProblem?: TemplateProblem;
  /** The API server's message when it rejected a Job of this reconcile. */
  rejection?: string;
  /** BeforeRollout: pods held by the scheduling gate for this hook (their revisions are due). */
  gatedPods?: KubeObject[];
  /** BeforeRollout: the current ReplicaSet of each Deployment whose pods may have escaped the gate. */
  currentReplicaSets?: Record<string, KubeObject>;
  now: Date;
}

export interface JobToCreate {
  deployment: KubeObject;
  revision: string;
  rerun: string;
  name: string;
  /** The image `inheritImage` gives the hook containers. */
  image?: string;
}

export interface Plan {
  status: DeploymentHookStatus;
  create: JobToCreate[];
  stop: string[];
  /** Jobs whose result finalizer goes once the status is written. */
  release: string[];
  events: PlannedEvent[];
  /** Runs that ended in this plan, for metrics. */
  finished: Run['phase'][];
  requeueAfterMs?: number;
}

const MAX_SKIPPED = 10;
const MAX_OLDER_RUNS = 20;

interface Context {
  snap: Snapshot;
  rerun: string;
  policy: NonNullable<DeploymentHookSpec['concurrencyPolicy']>;
  /** Why no Job may be created at all (template missing or rejected). */
  blocked?: TemplateProblem;
  plan: Plan;
  log: RunLog;
  /** Deployments that cannot run because of inheritImage. */
  problems: string[];
}

export function planHook(snap: Snapshot): Plan {
  const { hook } = snap;
  const plan: Plan = { status: {}, create: [], stop: [], release: [], events: [], finished: [] };
  const log: RunLog = { events: plan.events, finished: plan.finished };
  const rejectedTemplate = rejection(snap);
  const blocked: TemplateProblem | undefined =
    snap.templateProblem ??
    (rejectedTemplate ? { reason: 'InvalidTemplate', message: rejectedTemplate.message } : undefined) ??
    templateImageProblem(hook.spec.inheritImage, snap.template);
  const ctx: Context = {
    snap,
    rerun: hook.metadata.annotations?.[RERUN_ANNOTATION] ?? '',
    policy: hook.spec.concurrencyPolicy ?? 'Forbid',
    blocked,
    plan,
    log,
    problems: [],
  };

  const previous = hook.status?.deployments ?? [];
  const entries: DeploymentRunStatus[] = [];
  const byName = (a: KubeObject, b: KubeObject) =>
    (a.metadata.name as string).localeCompare(b.metadata.name as string) ||
    kindOf(a).localeCompare(kindOf(b));
  for (const d of [...snap.deployments].sort(byName))
    entries.push(planDeployment(ctx, d, sameDeployment(previous, d), true));
  for (const d of [...(snap.unmatched ?? [])].sort(byName)) {
    const prev = sameDeployment(previous, d);
    if (prev) entries.push(planDeployment(ctx, d, prev, false));
  }
  entries.sort((a, b) => a.name.localeCompare(b.name) || (a.kind ?? '').localeCompare(b.kind ?? ''));

  plan.status = hookStatus({
    hook,
    entries,
    rerun: ctx.rerun,
    problem:
      blocked ??
      (ctx.problems.length ? { reason: 'InvalidTemplate', message: ctx.problems.join('; ') } : undefined),
    rejectedTemplate,
    now: snap.now,
  });
  const before = hook.status?.conditions?.find((c) => c.type === 'Ready');
  const ready = plan.status.conditions?.find((c) => c.type === 'Ready');
  if (
    ready &&
    (ready.reason === 'TemplateNotFound' || ready.reason === 'InvalidTemplate') &&
    (before?.reason !== ready.reason || before.message !== ready.message)
  )
    plan.events.push({ on: 'hook', type: 'Warning', reason: ready.reason, note: ready.message });
  plan.release = releasable(snap, entries);
  if (log.recheckAfterMs) plan.requeueAfterMs = log.recheckAfterMs;
  return plan;
}

/** The rejection that still applies: this reconcile's, or a recorded one for the same template version. */
function rejection(snap: Snapshot): DeploymentHookStatus['rejectedTemplate'] {
  const version = snap.templateVersion ?? '';
  if (snap.rejection !== undefined) return { version, message: snap.rejection };
  const recorded = snap.hook.status?.rejectedTemplate;
  return recorded && recorded.version === version ? recorded : undefined;
}

/** The recorded entry of this workload, unless the name now belongs to a re-created one. */
function sameDeployment(previous: DeploymentRunStatus[], d: KubeObject): DeploymentRunStatus | undefined {
  const prev = previous.find((e) => e.name === d.metadata.name && (e.kind ?? 'Deployment') === kindOf(d));
  return prev && (!prev.uid || prev.uid === d.metadata.uid) ? prev : undefined;
}

function planDeployment(
  ctx: Context,
  deployment: KubeObject,
  prev: DeploymentRunStatus | undefined,
  matched: boolean,
): DeploymentRunStatus {
  const { snap, rerun, plan, log } = ctx;
  const { hook, now } = snap;
  const name = deployment.metadata.name as string;
  const uid = deployment.metadata.uid as string | undefined;
  const kind: WorkloadKind = kindOf(deployment);
  const workload = kindAndName(kind, name);
  const rollout = rolloutState(deployment);
  const say = (type: PlannedEvent['type'], reason: string, note: string) =>
    plan.events.push({ on: 'hook', type, reason, note });
  const entry: DeploymentRunStatus = {
    ...prev,
    name,
    kind,
    revision: rollout.revision,
    rollout: recordedPhase(rollout, prev),
  };
  if (uid) entry.uid = uid;
  // Only a failed rollout's message: a progressing one changes with every replica and would cost
  // a status write each time, for what `kubectl rollout status` already shows.
  if (rollout.phase === 'Failed') entry.message = rollout.message;
  else delete entry.message;
  if (matched) delete entry.unmatched;
  else entry.unmatched = true;

  if (matched && rollout.phase === 'Failed' && prev?.rollout !== 'Failed')
    say(
      'Warning',
      'RolloutFailed',
      `${workload} revision ${rollout.revision}: ${rollout.message}; the hook will not run for it`,
    );

  // 1. Follow the recorded runs.
  if (entry.lastRun) entry.lastRun = follow(entry.lastRun, { kind, name }, ownJobs(snap), now, log);
  const older = (entry.olderRuns ?? [])
    .map((r) => follow(r, { kind, name }, ownJobs(snap), now, log))
    .filter((r) => r.phase === 'Running');
  setOlderRuns(entry, older);
  if (entry.lastRun?.phase === 'Succeeded') entry.lastSucceededRevision = entry.lastRun.revision;
  const running = entry.lastRun?.phase === 'Running' ? entry.lastRun : undefined;

  // A revision that waited (Forbid) and was overtaken by a rollout that is not complete (yet, or
  // ever) will not run: the Deployment no longer runs it.
  if (entry.pendingRevision && !running && entry.pendingRevision !== rollout.revision) {
    skip(entry, workload, entry.pendingRevision, rollout.revision, say);
    delete entry.pendingRevision;
  }

  // 2. Does the current revision still need its run? Removing bosun.dev/rerun asks for nothing.
  const done = entry.lastRun?.revision === rollout.revision && (!rerun || entry.rerun === rerun);
  // BeforeRollout: a revision is due once the webhook gated one of its pods; else once rolled out.
  const gated = gatedRevisions(snap.gatedPods ?? [], name, hook.metadata.name as string);
  if (hook.spec.when === 'BeforeRollout' && matched && entry.baselineRevision === undefined)
    entry.baselineRevision = baselineRevision(hook, deployment, rollout.revision, gated);
  // A revision whose pods escaped the gate still runs its hook, late, once rolled out.
  const currentRs = snap.currentReplicaSets?.[name];
  const late =
    hook.spec.when === 'BeforeRollout' &&
    rollout.phase === 'Complete' &&
    !!currentRs &&
    mayHaveEscaped(hook, deployment, rollout.revision, gated) &&
    gatePod({ replicaSet: currentRs, deployment, hooks: [hook] }).gate;
  const due =
    hook.spec.when === 'BeforeRollout' ? gated.has(rollout.revision) || late : rollout.phase === 'Complete';
  if (!matched || !due || done) return entry;
  const jobName = hookJobName({
    hook: hook.metadata.name as string,
    hookUid: hook.metadata.uid ?? '',
    kind,
    deployment: name,
    deploymentUid: uid ?? '',
    revision: rollout.revision,
    rerun,
    ...(entry.lastRun ? { after: entry.lastRun.jobName } : {}),
  });
  const existing = ownJobs(snap).find((j) => j.metadata.name === jobName);
  if (existing) {
    // Created before a crash kept it out of the status: adopt it, keep following the one it displaces.
    displace(entry);
    const adopted: Run = {
      revision: rollout.revision,
      jobName,
      phase: 'Running',
      ...(existing.metadata.creationTimestamp ? { startTime: existing.metadata.creationTimestamp } : {}),
    };
    entry.lastRun = follow(adopted, { kind, name }, [existing], now, log);
    setRerun(entry, rerun);
    delete entry.pendingRevision;
    return entry;
  }
  if (hook.spec.suspend || ctx.blocked) return entry;
  const problem = imageProblem(hook.spec.inheritImage, deployment);
  if (problem) {
    ctx.problems.push(problem);
    return entry;
  }
  if (running && ctx.policy === 'Forbid') {
    if (entry.pendingRevision !== rollout.revision) {
      if (entry.pendingRevision) skip(entry, workload, entry.pendingRevision, rollout.revision, say);
      entry.pendingRevision = rollout.revision; // in the status; its end (run or Skipped) has an Event
    }
    return entry;
  }
  if (running && ctx.policy === 'Replace') {
    plan.stop.push(running.jobName);
    say(
      'Normal',
      'Replaced',
      `Stopping Job ${running.jobName} for revision ${running.revision}: revision ${rollout.revision} rolled out (concurrencyPolicy Replace)`,
    );
  } else displace(entry);
  if (entry.pendingRevision && entry.pendingRevision !== rollout.revision)
    skip(entry, workload, entry.pendingRevision, rollout.revision, say);
  delete entry.pendingRevision;
  const image = hook.spec.inheritImage
    ? inheritedImage(deployment, hook.spec.inheritImage.fromContainer)
    : undefined;
  plan.create.push({
    deployment,
    revision: rollout.revision,
    rerun,
    name: jobName,
    ...(image ? { image } : {}),
  });
  entry.lastRun = { revision: rollout.revision, jobName, phase: 'Running', startTime: iso(now) };
  setRerun(entry, rerun); // a start has no Event: the Job and lastRun show it, its end is reported
  if (late)
    plan.events.push({
      on: { deployment: name, kind },
      type: 'Warning',
      reason: 'HookLate',
      note: `Revision ${rollout.revision} rolled out without its pods being gated, so DeploymentHook ${hook.metadata.name} runs only now, after the rollout: the admission webhook did not see them (its configuration did not cover the namespace yet, or a helm upgrade had just reset it)`,
    });
  return entry;
}

/**
 * The rollout state the status records. A revision whose rollout completed stays `Complete` while
 * the Deployment only scales (an autoscaler, `kubectl scale`, a re-applied manifest): a scale is
 * not a rollout and runs nothing, and recording it would cost two status writes each time.
 */
function recordedPhase(rollout: RolloutState, prev: DeploymentRunStatus | undefined): RolloutState['phase'] {
  const scaling =
    rollout.phase === 'Progressing' && prev?.rollout === 'Complete' && prev.revision === rollout.revision;
  return scaling ? 'Complete' : rollout.phase;
}

/** Jobs this hook (this UID) created; those of a deleted namesake are only released. */
function ownJobs(snap: Snapshot): KubeObject[] {
  const uid = snap.hook.metadata.uid;
  return snap.jobs.filter((j) => !uid || j.metadata.ownerReferences?.some((r) => r.uid === uid));
}

/** A running last run that a newer one replaces in `lastRun` is still followed until it ends. */
function displace(entry: DeploymentRunStatus) {
  if (entry.lastRun?.phase === 'Running') setOlderRuns(entry, [...(entry.olderRuns ?? []), entry.lastRun]);
}

function setOlderRuns(entry: DeploymentRunStatus, runs: Run[]) {
  if (runs.length) entry.olderRuns = runs.slice(-MAX_OLDER_RUNS);
  else delete entry.olderRuns;
}

function setRerun(entry: DeploymentRunStatus, rerun: string) {
  if (rerun) entry.rerun = rerun;
  else delete entry.rerun;
}

function skip(
  entry: DeploymentRunStatus,
  workload: string,
  revision: string,
  current: string,
  say: (type: PlannedEvent['type'], reason: string, note: string) => void,
) {
  entry.skippedRevisions = [...(entry.skippedRevisions ?? []), revision].slice(-MAX_SKIPPED);
  say(
    'Normal',
    'Skipped',
    `${workload} revision ${revision} skipped: revision ${current} replaced it while a hook Job ran (concurrencyPolicy Forbid)`,
  );
}

/**
 * Jobs whose result finalizer may go once the planned status is written: those of another hook
 * UID (a deleted namesake's), and finished or deleted Jobs that no recorded running run follows.
 */
function releasable(snap: Snapshot, entries: DeploymentRunStatus[]): string[] {
  const followed = new Set(
    entries.flatMap((e) =>
      [e.lastRun, ...(e.olderRuns ?? [])].filter((r) => r?.phase === 'Running').map((r) => r?.jobName),
    ),
  );
  const own = new Set(ownJobs(snap));
  return snap.jobs
    .filter((j) => j.metadata.finalizers?.includes(RESULT_FINALIZER))
    .filter(
      (j) =>
        !own.has(j) ||
        (!followed.has(j.metadata.name) &&
          (jobOutcome(j).phase !== 'Running' || !!j.metadata.deletionTimestamp)),
    )
    .map((j) => j.metadata.name as string);
}
