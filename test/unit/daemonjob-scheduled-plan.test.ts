// planWithSchedule as table tests: a DaemonJob on `* * * * *`, snapshots in, decisions out, with a
// fixed clock. A new run is a status write only; its pods start from a status that names it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DaemonJobStatus } from '../../src/api/daemonjob.ts';
import { type DaemonJobObject, type Plan, planDaemonJob } from '../../src/controllers/daemonjob/plan.ts';
import {
  MAX_WAKE_MS,
  planWithSchedule,
  scheduledRun,
} from '../../src/controllers/daemonjob/scheduled-plan.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';
import { perNodePod } from '../support/daemonjob-pods.ts';

const template = { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } };
const at = (hhmmss: string) => new Date(`2026-06-01T${hhmmss}Z`);
const T0 = '2026-06-01T10:00:00Z';
const T1 = '2026-06-01T10:01:00Z';
const run0 = scheduledRun(template, T0).hash;
const run1 = scheduledRun(template, T1).hash;

const daemonJob = (spec: Record<string, unknown> = {}, status?: DaemonJobStatus): DaemonJobObject => ({
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'DaemonJob',
  metadata: {
    name: 'dj',
    namespace: 'ns',
    uid: 'u',
    generation: 1,
    creationTimestamp: '2026-06-01T09:59:30Z',
  },
  spec: { template, backoffLimit: 0, schedule: '* * * * *', ...spec } as DaemonJobObject['spec'],
  ...(status ? { status } : {}),
});
/** The status of the run of `scheduled`, as written when it started. */
const runOf = (scheduled: string, extra: DaemonJobStatus = {}): DaemonJobStatus => ({
  lastScheduleTime: scheduled,
  templateHash: scheduledRun(template, scheduled).hash,
  startTime: scheduled,
  phase: 'Running',
  ...extra,
});
/** The run of `scheduled`, complete on both nodes. */
const doneOf = (scheduled: string, extra: DaemonJobStatus = {}): DaemonJobStatus =>
  runOf(scheduled, {
    phase: 'Complete',
    completionTime: '2026-06-01T10:00:20Z',
    desired: 2,
    succeeded: 2,
    nodeResults: { n1: 'Succeeded', n2: 'Succeeded' },
    ...extra,
  });
const node = (name: string): KubeObject => ({
  metadata: { name, labels: {} },
  spec: {},
  status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
});
const nodes = [node('n1'), node('n2')];
const pod = (node: string, hash: string, phase: 'Running' | 'Succeeded' | 'Failed'): KubeObject =>
  perNodePod({ node, phase, hash, created: '2026-06-01T10:00:01Z', finished: '2026-06-01T10:00:20Z' });

const plan = (dj: DaemonJobObject, now: Date, pods: KubeObject[] = []): Plan =>
  planWithSchedule({ daemonJob: dj, nodes, pods, now });
const reasons = (p: Plan) => p.events.map((e) => e.reason);
const scheduled = (p: Plan) => p.status.conditions?.find((c) => c.type === 'Scheduled');
const noActions = (p: Plan) =>
  assert.deepEqual([p.start, p.remove, p.release, p.labelNodes], [[], [], [], []], 'a status write only');

describe('planWithSchedule: starting runs', () => {
  it('waits for the first scheduled time after creation, and wakes then', () => {
    const p = plan(daemonJob({}, undefined), at('09:59:40'));
    assert.equal(p.status.phase, 'Waiting');
    assert.deepEqual(p.start, []);
    assert.equal(p.requeueAfterMs, 20_000);
    assert.equal(scheduled(p)?.status, 'True');
  });

  it('records a due run in the status first, with no pod yet', () => {
    const p = plan(daemonJob(), at('10:00:02'));
    noActions(p);
    assert.equal(p.status.lastScheduleTime, T0);
    assert.equal(p.status.templateHash, run0);
    assert.equal(p.status.phase, 'Running');
    assert.equal(p.status.pending, 2);
    assert.equal(p.status.startTime, '2026-06-01T10:00:02Z');
    assert.deepEqual(reasons(p), ['RunStarted']);
    assert.match(p.events[0]?.note ?? '', /Scheduled run of 2026-06-01T10:00:00Z starts/);
  });

  it('a schedule added mid-run lets go of the nodes the run cordoned, but not those left cordoned after a failure', () => {
    const BY = 'daemonjob.bosun.dev/cordoned-by';
    const LEFT = 'daemonjob.bosun.dev/left-cordoned';
    const cordoned = (name: string, annotations: Record<string, string>): KubeObject => ({
      ...node(name),
      metadata: { name, labels: {}, annotations },
      spec: { unschedulable: true },
    });
    const cases: { name: string; nodes: KubeObject[]; uncordon: string[]; cordonedNodes?: string[] }[] = [
      {
        name: 'ours, running or draining: uncordoned',
        nodes: [cordoned('n1', { [BY]: 'ns.dj' }), node('n2')],
        uncordon: ['n1'],
      },
      {
        name: 'left cordoned after a failure: kept and listed',
        nodes: [cordoned('n1', { [BY]: 'ns.dj', [LEFT]: 'Error' }), node('n2')],
        uncordon: [],
        cordonedNodes: ['n1'],
      },
      {
        name: "another DaemonJob's or a person's cordon: untouched",
        nodes: [cordoned('n1', { [BY]: 'ns.other' }), cordoned('n2', {})],
        uncordon: [],
      },
    ];
    for (const c of cases) {
      const dj = daemonJob({ cordon: true }, { templateHash: 'old', phase: 'Running' });
      const p = planWithSchedule({ daemonJob: dj, nodes: c.nodes, pods: [], now: at('09:59:40') });
      assert.equal(p.status.phase, 'Waiting', c.name);
      assert.deepEqual(p.uncordon, c.uncordon, c.name);
      assert.deepEqual(p.status.cordonedNodes, c.cordonedNodes, c.name);
      assert.deepEqual(p.cordon, [], c.name);
    }
  });

  it('with drain, a new run cordons nothing in its status write: nodes are taken from the status that names it', () => {
    const drain = { drain: { ignoreDaemonSets: true } };
    const start = plan(daemonJob(drain), at('10:00:02'));
    assert.deepEqual([start.cordon, start.evict, start.uncordon, start.markLeft], [[], [], [], []]);
    assert.equal(start.status.draining, undefined, 'no drain recorded for a node not cordoned');
    const next = plan(daemonJob(drain, runOf(T0)), at('10:00:03'));
    assert.deepEqual(next.cordon, ['n1'], 'one node at a time (maxParallel defaults to 1 with cordon)');
    assert.deepEqual(Object.keys(next.status.draining ?? {}), ['n1']);
  });

  it('starts the pods of the run the status names, with the whole run hash in their names', () => {
    const p = plan(daemonJob({}, runOf(T0)), at('10:00:03'));
    assert.deepEqual(
      p.start.map((s) => s.name),
      [`dj-n1-${run0}-0`, `dj-n2-${run0}-0`],
    );
    assert.equal(p.status.lastScheduleTime, T0);
    assert.deepEqual(reasons(p), []);
    assert.equal(p.requeueAfterMs, 57_000, 'wakes at the next scheduled time');
  });

  it('a restarted operator that reads the same status starts nothing twice', () => {
    const pods = [pod('n1', run0, 'Running'), pod('n2', run0, 'Running')];
    const p = plan(daemonJob({}, runOf(T0)), at('10:00:30'), pods);
    assert.deepEqual(p.start, []);
    assert.equal(p.status.lastScheduleTime, T0);
    assert.deepEqual(reasons(p), []);
  });

  it('starts the newest missed time after downtime, collapsing the earlier ones, and records the run it ends', () => {
    const done = doneOf(T0);
    const pods = [pod('n1', run0, 'Succeeded'), pod('n2', run0, 'Succeeded')];
    const p = plan(daemonJob({}, done), at('10:03:05'), pods);
    noActions(p);
    assert.equal(p.status.lastScheduleTime, '2026-06-01T10:03:00Z');
    assert.match(p.events[0]?.note ?? '', /\(2 earlier scheduled time\(s\) not started\)/);
    assert.deepEqual(p.status.runs, [
      {
        scheduledTime: T0,
        templateHash: run0,
        startTime: T0,
        completionTime: '2026-06-01T10:00:20Z',
        result: 'Complete',
        desired: 2,
        succeeded: 2,
        failed: 0,
      },
    ]);
  });

  it('misses a time past startingDeadlineSeconds, once, and waits for the next', () => {
    const dj = daemonJob({ startingDeadlineSeconds: 30 }, doneOf(T0));
    const p = plan(dj, at('10:01:40'));
    assert.deepEqual(p.start, []);
    assert.equal(p.status.lastScheduleTime, T0);
    assert.equal(p.status.lastSkippedScheduleTime, T1);
    assert.deepEqual(reasons(p), ['RunMissed']);
    assert.equal(p.requeueAfterMs, 20_000);
    const again = plan(daemonJob({ startingDeadlineSeconds: 30 }, p.status), at('10:01:50'));
    assert.deepEqual(reasons(again), [], 'reported once');
  });

  it('wakes at most an hour ahead, for a time a month away (a timer past 24.8 days would fire at once)', () => {
    const p = plan(daemonJob({ schedule: '@monthly' }, doneOf(T0)), at('10:05:00'));
    assert.equal(p.requeueAfterMs, MAX_WAKE_MS);
  });

  it('suspended: no run starts; the status keeps the current one', () => {
    const p = plan(daemonJob({ suspend: true }, doneOf(T0)), at('10:05:00'));
    assert.equal(p.status.lastScheduleTime, T0);
    assert.deepEqual(reasons(p), []);
  });
});

describe('planWithSchedule: concurrencyPolicy', () => {
  const active = [pod('n1', run0, 'Running'), pod('n2', run0, 'Succeeded')];

  it('Forbid (default) skips a time while the run is active, reports it once, and starts it when the run ends', () => {
    const p = plan(daemonJob({}, runOf(T0)), at('10:01:05'), active);
    assert.equal(p.status.lastScheduleTime, T0);
    assert.equal(p.status.lastSkippedScheduleTime, T1);
    assert.deepEqual(reasons(p), ['RunSkipped']);
    assert.match(p.events[0]?.note ?? '', /run of 2026-06-01T10:00:00Z is still active/);
    const again = plan(daemonJob({}, p.status), at('10:01:10'), active);
    assert.deepEqual(reasons(again), []);
    const ended = [pod('n1', run0, 'Succeeded'), pod('n2', run0, 'Succeeded')];
    const late = plan(daemonJob({}, p.status), at('10:01:30'), ended);
    assert.equal(late.status.lastScheduleTime, T1, 'as a CronJob: the skipped time starts late');
    assert.equal(late.status.runs?.[0]?.result, 'Complete');
  });

  it('Forbid with startingDeadlineSeconds: a time skipped too long is not started late', () => {
    const dj = (status: DaemonJobStatus) => daemonJob({ startingDeadlineSeconds: 20 }, status);
    const skipped = plan(dj(runOf(T0)), at('10:01:05'), active);
    const ended = [pod('n1', run0, 'Succeeded'), pod('n2', run0, 'Succeeded')];
    const p = plan(dj(skipped.status), at('10:01:30'), ended);
    assert.equal(p.status.lastScheduleTime, T0);
    assert.deepEqual(reasons(p), ['Completed'], 'already reported as skipped');
  });

  it('Replace records the active run as Replaced, then deletes its running pods once the status holds it', () => {
    const dj = (status: DaemonJobStatus) => daemonJob({ concurrencyPolicy: 'Replace' }, status);
    const p = plan(dj(runOf(T0)), at('10:01:05'), active);
    noActions(p);
    assert.equal(p.status.lastScheduleTime, T1);
    assert.match(p.events[0]?.note ?? '', /replaces the run of 2026-06-01T10:00:00Z/);
    assert.deepEqual(p.status.runs?.[0], {
      scheduledTime: T0,
      templateHash: run0,
      startTime: T0,
      completionTime: '2026-06-01T10:01:05Z',
      result: 'Replaced',
      desired: 2,
      succeeded: 1,
      failed: 0,
    });
    const next = plan(dj(p.status), at('10:01:06'), active);
    assert.deepEqual(next.remove, [`dj-n1-${run0}-0`], 'the running pod of the replaced run');
    assert.ok(next.release.includes(`dj-n2-${run0}-0`), 'the finished one is let go');
    assert.equal(next.start.length, 1, 'the old pod holds a maxParallel slot until it is gone');
  });

  it('Replace with failedRunsHistoryLimit 0: the replaced run is not kept, and its running pods still go', () => {
    const dj = (status: DaemonJobStatus) =>
      daemonJob({ concurrencyPolicy: 'Replace', failedRunsHistoryLimit: 0 }, status);
    const p = plan(dj(runOf(T0)), at('10:01:05'), active);
    assert.equal(p.status.runs, undefined);
    const next = plan(dj(p.status), at('10:01:06'), active);
    assert.deepEqual(next.remove, [`dj-n1-${run0}-0`, `dj-n2-${run0}-0`], 'running and finished');
  });

  it('Forbid never deletes a running pod of another run', () => {
    const status = doneOf(T1, { runs: [] });
    const p = plan(daemonJob({}, status), at('10:01:30'), [pod('n1', run0, 'Running')]);
    assert.deepEqual(p.remove, []);
  });
});

describe('planWithSchedule: history', () => {
  const record = (scheduledTime: string, result: 'Complete' | 'Failed') => ({
    scheduledTime,
    templateHash: scheduledRun(template, scheduledTime).hash,
    result,
    desired: 2,
    succeeded: result === 'Complete' ? 2 : 1,
    failed: result === 'Complete' ? 0 : 1,
  });

  it('keeps successfulRunsHistoryLimit completed and failedRunsHistoryLimit failed runs, newest first', () => {
    const older = [
      record('2026-06-01T09:59:00Z', 'Failed'),
      record('2026-06-01T09:58:00Z', 'Complete'),
      record('2026-06-01T09:57:00Z', 'Failed'),
    ];
    const dj = daemonJob({ successfulRunsHistoryLimit: 1, failedRunsHistoryLimit: 1 }, doneOf(T0));
    dj.status = { ...dj.status, runs: older };
    const p = plan(dj, at('10:01:00'));
    assert.deepEqual(
      p.status.runs?.map((r) => [r.scheduledTime, r.result]),
      [
        [T0, 'Complete'],
        ['2026-06-01T09:59:00Z', 'Failed'],
      ],
    );
  });

  it('deletes finished pods of runs no longer kept, and keeps those of the current and recorded runs', () => {
    const gone = scheduledRun(template, '2026-06-01T09:58:00Z').hash;
    const status = doneOf(T1, { runs: [record(T0, 'Complete')] });
    const pods = [pod('n1', gone, 'Succeeded'), pod('n1', run0, 'Succeeded'), pod('n1', run1, 'Succeeded')];
    const p = plan(daemonJob({ successfulRunsHistoryLimit: 1 }, status), at('10:01:30'), pods);
    assert.deepEqual(p.remove, [`dj-n1-${gone}-0`]);
  });
});

describe('planWithSchedule: a schedule it cannot use', () => {
  it('reports a time zone it does not know as a condition and one Warning Event; the current run goes on', () => {
    const dj = daemonJob({ timeZone: 'Mars/Olympus_Mons' }, runOf(T0));
    const p = plan(dj, at('10:05:00'));
    assert.deepEqual([scheduled(p)?.status, scheduled(p)?.reason], ['False', 'InvalidTimeZone']);
    assert.deepEqual(reasons(p), ['InvalidTimeZone']);
    assert.equal(p.status.lastScheduleTime, T0);
    assert.equal(p.start.length, 2, 'the run of 10:00 still starts its pods');
    assert.deepEqual(
      reasons(plan(daemonJob({ timeZone: 'Mars/Olympus_Mons' }, p.status), at('10:06:00'))),
      [],
    );
  });
});

describe('planWithSchedule without a schedule', () => {
  it('is the plan of the template run, as before', () => {
    const dj = daemonJob({ schedule: undefined });
    const snap = { daemonJob: dj, nodes, pods: [], now: at('10:00:00') };
    assert.deepEqual(planWithSchedule(snap), planDaemonJob(snap));
  });
});
