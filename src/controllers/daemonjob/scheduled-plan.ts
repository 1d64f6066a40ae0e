// A DaemonJob on a schedule, around the plan of its current run: each scheduled time starts a new
// run on every eligible node. A run is (pod template, scheduled time): status.lastScheduleTime
// names the current one. A new run is written to the status before any pod of it is created, so a
// restarted operator finds it there and neither starts it twice nor skips a newer one.
import type { DaemonJobStatus } from '../../api/daemonjob.ts';
import { setCondition } from '../../runtime/status.ts';
import { cordonOwner, letGoOfNodes } from './drain.ts';
import { NODE_RESULT_FINALIZER, TEMPLATE_HASH_LABEL } from './labels.ts';
import {
  type DaemonJobObject,
  iso,
  ownerUid,
  type Plan,
  planDaemonJob,
  type Run,
  type Snapshot,
  templateHash,
} from './plan.ts';
import { podOutcome } from './pod-outcome.ts';
import { dueTime, MAX_COUNTED, parseSchedule } from './schedule.ts';

type RunRecord = NonNullable<DaemonJobStatus['runs']>[number];

export const DEFAULT_SUCCESSFUL_RUNS = 3;
export const DEFAULT_FAILED_RUNS = 1;
const SCHEDULED = 'Scheduled';
const ACTIVE = new Set(['Running', 'Suspended']);
/**
 * The longest wait for a scheduled time: a timer past 2^31 ms (24.8 days, @monthly) would fire at
 * once, and a shorter one also follows the wall clock when it is set while we wait.
 */
export const MAX_WAKE_MS = 3_600_000;

/** The run of a scheduled time: its hash covers the template and the time; all of it is in pod names. */
export const scheduledRun = (template: unknown, scheduledTime: string): Run => {
  const hash = templateHash({ template, scheduledTime });
  return { hash, nameHash: hash };
};

/** The DaemonJob's plan: its schedule's decision if it has one, and its current run's. */
export function planWithSchedule(snap: Snapshot): Plan {
  const dj = snap.daemonJob;
  const { schedule } = dj.spec;
  if (!schedule) {
    const plan = planDaemonJob(snap);
    // A schedule removed: its condition goes (the run of the template starts as for a new DaemonJob).
    plan.status.conditions = plan.status.conditions?.filter((c) => c.type !== SCHEDULED);
    return plan;
  }
  const { now } = snap;
  const prior = dj.status ?? {};
  const { lastScheduleTime } = prior;
  const plan = lastScheduleTime
    ? planDaemonJob(snap, scheduledRun(dj.spec.template, lastScheduleTime))
    : waiting(snap);
  // Trimmed again here too, for limits lowered since the last run started.
  const runs = trim(prior.runs ?? [], dj);
  plan.status = {
    ...plan.status,
    ...(lastScheduleTime ? { lastScheduleTime } : {}),
    ...(prior.lastSkippedScheduleTime ? { lastSkippedScheduleTime: prior.lastSkippedScheduleTime } : {}),
    ...(runs.length ? { runs } : {}),
  };
  prune(snap, plan);
  const timeZone = dj.spec.timeZone ?? 'UTC';
  const parsed = parseSchedule(schedule, timeZone);
  const condition = (status: 'True' | 'False', reason: string, message: string) => {
    plan.status.conditions = setCondition(
      plan.status.conditions,
      { type: SCHEDULED, status, reason, message, observedGeneration: dj.metadata.generation },
      now,
    );
  };
  if (parsed.error) {
    // The current run goes on; no new one starts until the spec is fixed.
    const { reason, message } = parsed.error;
    const was = prior.conditions?.find((c) => c.type === SCHEDULED);
    if (was?.reason !== reason || was.message !== message)
      plan.events.push({ type: 'Warning', reason, note: message });
    condition('False', reason, message);
    return plan;
  }
  condition('True', 'ValidSchedule', `runs at "${schedule}" (${timeZone})`);
  // Suspended: scheduled times pass unstarted; once resumed, the latest of them is due (as a CronJob).
  if (dj.spec.suspend) return plan;

  const created = Date.parse(dj.metadata.creationTimestamp ?? '');
  const since = new Date(lastScheduleTime ? Date.parse(lastScheduleTime) : created || now.getTime());
  const { startingDeadlineSeconds } = dj.spec;
  const due = dueTime({ cron: parsed.cron, now, since, startingDeadlineSeconds });
  if (due.next) wake(plan, Math.min(due.next.getTime() - now.getTime(), MAX_WAKE_MS));
  const reported = (t: Date) =>
    prior.lastSkippedScheduleTime !== undefined && Date.parse(prior.lastSkippedScheduleTime) >= t.getTime();
  const skip = (t: Date, type: 'Normal' | 'Warning', reason: string, note: string) => {
    if (reported(t)) return;
    plan.status.lastSkippedScheduleTime = iso(t);
    plan.events.push({ type, reason, note: `${note}${collapsed(due.earlier)}` });
  };
  if (due.missed)
    skip(
      due.missed,
      'Warning',
      'RunMissed',
      `Scheduled run of ${iso(due.missed)} did not start within startingDeadlineSeconds (${startingDeadlineSeconds}s)`,
    );
  if (!due.time) return plan;
  const active = lastScheduleTime !== undefined && ACTIVE.has(plan.status.phase ?? '');
  if (active && (dj.spec.concurrencyPolicy ?? 'Forbid') === 'Forbid') {
    skip(
      due.time,
      'Normal',
      'RunSkipped',
      `Scheduled run of ${iso(due.time)} not started: the run of ${lastScheduleTime} is still active (concurrencyPolicy Forbid); it starts when that run ends${startingDeadlineSeconds ? `, if within startingDeadlineSeconds (${startingDeadlineSeconds}s)` : ''}`,
    );
    return plan;
  }
  return startRun(snap, plan, due.time, due.earlier);
}

const collapsed = (earlier: number) =>
  earlier === 0
    ? ''
    : ` (${earlier > MAX_COUNTED ? `more than ${MAX_COUNTED}` : earlier} earlier scheduled time(s) not started)`;

const wake = (plan: Plan, ms: number) => {
  plan.requeueAfterMs = Math.min(plan.requeueAfterMs ?? ms, Math.max(ms, 1));
};

/**
 * A new run, as a status write only: the run it ends goes to status.runs, and its pods start in the
 * next reconcile, from a status that names it. Pods of the run it ends are let go (or, under
 * Replace, deleted) then too, once status.runs holds their results.
 */
function startRun(snap: Snapshot, current: Plan, time: Date, earlier: number): Plan {
  const dj = snap.daemonJob;
  const prior = dj.status ?? {};
  const scheduledTime = iso(time);
  const run = scheduledRun(dj.spec.template, scheduledTime);
  const ended = prior.lastScheduleTime ? record(current.status, prior.lastScheduleTime, snap.now) : undefined;
  const runs = trim([...(ended ? [ended] : []), ...(prior.runs ?? [])], dj);
  const fresh = planDaemonJob(
    {
      ...snap,
      daemonJob: { ...dj, status: { conditions: current.status.conditions } } as DaemonJobObject,
      rejected: undefined,
    },
    run,
  );
  const replacing =
    ended?.result === 'Replaced' ? `; it replaces the run of ${prior.lastScheduleTime}, still active` : '';
  // The nodes the fresh plan would start or cordon wait for the next reconcile: pending, not
  // active, yet; so does every cordon, drain and uncordon.
  const deferred = fresh.start.length;
  const { draining: _deferred, ...freshStatus } = fresh.status;
  return {
    status: {
      ...freshStatus,
      active: (fresh.status.active ?? 0) - deferred,
      pending: (fresh.status.pending ?? 0) + deferred,
      lastScheduleTime: scheduledTime,
      ...(current.status.lastSkippedScheduleTime
        ? { lastSkippedScheduleTime: current.status.lastSkippedScheduleTime }
        : {}),
      ...(runs.length ? { runs } : {}),
    },
    start: [],
    remove: [],
    release: [],
    releaseJobs: [],
    labelNodes: [],
    ...NO_NODE_WORK,
    events: [
      {
        type: 'Normal',
        reason: 'RunStarted',
        note: `Scheduled run of ${scheduledTime} starts on every eligible node${replacing}${collapsed(earlier)}`,
      },
      ...current.events.filter((e) => e.reason !== 'RunStarted'),
      ...fresh.events.filter((e) => e.reason !== 'RunStarted'),
    ],
    // The status write wakes the next reconcile; this is in case it is lost.
    requeueAfterMs: 1000,
  };
}

/** No cordon, eviction or uncordon: a plan that only writes the status. */
const NO_NODE_WORK = { cordon: [], evict: [], uncordon: [], markLeft: [] } satisfies Partial<Plan>;

/** The record of a run that ends: finished, or replaced while active. */
function record(status: DaemonJobStatus, scheduledTime: string, now: Date): RunRecord {
  const result = status.phase === 'Complete' || status.phase === 'Failed' ? status.phase : 'Replaced';
  const completionTime = result === 'Replaced' ? iso(now) : status.completionTime;
  return {
    scheduledTime,
    templateHash: status.templateHash ?? '',
    ...(status.startTime ? { startTime: status.startTime } : {}),
    ...(completionTime ? { completionTime } : {}),
    result,
    desired: status.desired ?? 0,
    succeeded: status.succeeded ?? 0,
    failed: status.failed ?? 0,
  };
}

/** Newest first, up to the history limits. */
function trim(runs: RunRecord[], dj: DaemonJobObject): RunRecord[] {
  let complete = dj.spec.successfulRunsHistoryLimit ?? DEFAULT_SUCCESSFUL_RUNS;
  let failed = dj.spec.failedRunsHistoryLimit ?? DEFAULT_FAILED_RUNS;
  return runs.filter((r) => (r.result === 'Complete' ? complete-- > 0 : failed-- > 0));
}

/**
 * Before the first scheduled time: no run; pods of this DaemonJob from before a schedule was set
 * go, and so do the nodes it cordoned for them (but those left cordoned after a failure).
 */
function waiting(snap: Snapshot): Plan {
  const dj = snap.daemonJob;
  const drains = letGoOfNodes({
    spec: dj.spec,
    owner: cordonOwner(dj.metadata.namespace as string, dj.metadata.name as string),
    nodesByName: new Map(snap.nodes.map((n) => [n.metadata.name as string, n])),
    now: snap.now,
  });
  const release = snap.pods
    .filter(
      (p) =>
        p.metadata.finalizers?.includes(NODE_RESULT_FINALIZER) &&
        (ownerUid(p) !== dj.metadata.uid || podOutcome(p).phase !== 'Running'),
    )
    .map((p) => p.metadata.name as string);
  return {
    status: {
      observedGeneration: dj.metadata.generation,
      phase: 'Waiting',
      ...(dj.status?.conditions ? { conditions: dj.status.conditions } : {}),
      ...(drains.left.length ? { cordonedNodes: drains.left } : {}),
    },
    start: [],
    remove: [],
    release,
    releaseJobs: [],
    labelNodes: [],
    ...NO_NODE_WORK,
    uncordon: drains.uncordon,
    events: drains.events,
  };
}

/**
 * Pods of runs no longer kept (neither the current run nor in status.runs) are deleted once
 * finished, as a CronJob deletes Jobs past its history limits. Under Replace, running pods of
 * other runs are deleted: the status read names a newer run, so the run they belong to was
 * recorded (or dropped by the history limits) when that one started.
 */
function prune(snap: Snapshot, plan: Plan): void {
  const dj = snap.daemonJob;
  const kept = new Set((plan.status.runs ?? []).map((r) => r.templateHash));
  const current = plan.status.templateHash;
  const replace = dj.spec.concurrencyPolicy === 'Replace';
  const remove = new Set(plan.remove);
  for (const pod of snap.pods) {
    const hash = pod.metadata.labels?.[TEMPLATE_HASH_LABEL];
    if (ownerUid(pod) !== dj.metadata.uid || hash === current || pod.metadata.deletionTimestamp) continue;
    const running = podOutcome(pod).phase === 'Running';
    if (running ? replace : !kept.has(hash as string)) remove.add(pod.metadata.name as string);
  }
  plan.remove = [...remove];
}
