// DaemonJobs on a schedule (`* * * * *`, a run a minute) on the local control plane: a run per
// scheduled time on every node with new pods, bounded history, Forbid, and operator restarts that
// neither start a run twice nor skip the newest scheduled time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DAEMONJOBS } from '../../src/controllers/daemonjob/controller.ts';
import { FINISH_AFTER } from '../../src/dev/kwok-stages.ts';
import type { KubeClient, KubeObject } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { daemonJob, get, nodeOf, podsOf, pool } from '../support/daemonjob.ts';
import { condition } from '../support/deployments.ts';
import { eventsFor, installCrds, kubectlApply, startOperator } from '../support/operator.ts';

const MINUTE = 60_000;
const runHash = (p: KubeObject) => p.metadata.labels?.['bosun.dev/template-hash'] as string;

/** Waits for a run scheduled after `after` (an ISO time) that reached `phase`; returns the DaemonJob. */
const waitRun = (
  client: KubeClient,
  ns: string,
  name: string,
  after: string,
  phase: string,
  timeoutMs: number,
) =>
  waitFor(
    async () => {
      const d = await get(client, ns, name);
      return d.status?.lastScheduleTime > after && d.status.phase === phase
        ? d
        : { pending: JSON.stringify(d.status ?? {}) };
    },
    { what: `a run scheduled after ${after} ${phase}`, timeoutMs },
  );

/** Events with this reason whose note names the scheduled time; each with its series count. */
const eventsOf = async (client: KubeClient, ns: string, name: string, reason: string, time: string) =>
  (await eventsFor(client, ns, name))
    .filter((e) => e.reason === reason && String(e.note).includes(time))
    .map((e) => e.series?.count ?? 1);

describe('DaemonJob on a schedule', () => {
  it('starts a run on every node each minute, the newest missed one after downtime, never one twice, and keeps bounded history', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'djcron');
    const nodes = await pool(t, client, ns, 2);
    let op = await startOperator(t, { namespaces: [ns] });
    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'audit', {
        schedule: '* * * * *',
        successfulRunsHistoryLimit: 1,
        podAnnotations: { [FINISH_AFTER]: '8s' },
      }),
    );
    const created = (await get(client, ns, 'audit')).metadata.creationTimestamp as string;

    const first = await waitRun(client, ns, 'audit', created, 'Complete', 2 * MINUTE);
    const t1 = first.status.lastScheduleTime as string;
    assert.equal(new Date(t1).getUTCSeconds(), 0, 'a whole minute');
    const firstPods = await podsOf(client, ns);
    assert.deepEqual(firstPods.map(nodeOf).sort(), [...nodes].sort());
    assert.ok(firstPods.every((p) => runHash(p) === first.status.templateHash));

    // Down across the next scheduled time: the restarted operator starts that time (the newest) at once.
    await op.kill('SIGKILL');
    const t2 = new Date(Date.parse(t1) + MINUTE).toISOString().replace('.000Z', 'Z');
    await waitFor(async () => Date.now() > Date.parse(t2) + 3000 || { pending: `before ${t2}` }, {
      what: `${t2} to pass while the operator is down`,
      timeoutMs: 2 * MINUTE,
    });
    op = await startOperator(t, { namespaces: [ns] });
    const second = await waitFor(
      async () => {
        const d = await get(client, ns, 'audit');
        const pods = (await podsOf(client, ns)).filter((p) => runHash(p) === d.status?.templateHash);
        return d.status?.lastScheduleTime === t2 && pods.length === 2
          ? d
          : { pending: JSON.stringify(d.status) };
      },
      { what: `the run of ${t2} and its pods`, timeoutMs: MINUTE },
    );
    assert.notEqual(second.status.templateHash, first.status.templateHash);
    // Killed again mid-run: the same run goes on, with the same pods.
    await op.kill('SIGKILL');
    op = await startOperator(t, { namespaces: [ns] });
    const secondDone = await waitRun(client, ns, 'audit', t1, 'Complete', MINUTE);
    assert.equal(secondDone.status.lastScheduleTime, t2, 'the same run');
    assert.deepEqual(
      secondDone.status.runs.map((r: { scheduledTime: string }) => r.scheduledTime),
      [t1],
    );

    const third = await waitRun(client, ns, 'audit', t2, 'Complete', 2 * MINUTE);
    const t3 = third.status.lastScheduleTime as string;
    assert.deepEqual(
      third.status.runs.map((r: { scheduledTime: string; result: string; succeeded: number }) => [
        r.scheduledTime,
        r.result,
        r.succeeded,
      ]),
      [[t2, 'Complete', 2]],
      'successfulRunsHistoryLimit: 1',
    );
    // The pods of the run dropped from history go, as a CronJob's Jobs do.
    const pods = await waitFor(
      async () => {
        const all = await podsOf(client, ns);
        return all.some((p) => runHash(p) === first.status.templateHash) ? { pending: 'run 1 pods' } : all;
      },
      { what: 'the pods of the first run deleted' },
    );
    const perRun = new Map<string, string[]>();
    for (const p of pods) perRun.set(runHash(p), [...(perRun.get(runHash(p)) ?? []), nodeOf(p)].sort());
    assert.deepEqual(
      perRun,
      new Map([
        [second.status.templateHash, [...nodes].sort()],
        [third.status.templateHash, [...nodes].sort()],
      ]),
      'one pod per node and run',
    );
    for (const time of [t1, t2, t3])
      assert.deepEqual(await eventsOf(client, ns, 'audit', 'RunStarted', time), [1], `${time} started once`);
  });

  it('Forbid: a time that comes while the run is active is skipped, reported, and started when the run ends', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'djforbid');
    await pool(t, client, ns, 2);
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'long', { schedule: '* * * * *', podAnnotations: { [FINISH_AFTER]: '70s' } }),
    );
    const created = (await get(client, ns, 'long')).metadata.creationTimestamp as string;
    const first = await waitRun(client, ns, 'long', created, 'Running', 2 * MINUTE);
    const t1 = first.status.lastScheduleTime as string;
    const t2 = new Date(Date.parse(t1) + MINUTE).toISOString().replace('.000Z', 'Z');
    const skipped = await waitFor(
      async () => {
        const d = await get(client, ns, 'long');
        return d.status?.lastSkippedScheduleTime === t2 ? d : { pending: JSON.stringify(d.status) };
      },
      { what: `${t2} skipped`, timeoutMs: 2 * MINUTE },
    );
    assert.equal(skipped.status.lastScheduleTime, t1, 'no new run while the first is active');
    assert.equal(skipped.status.phase, 'Running');
    assert.equal((await podsOf(client, ns)).length, 2, 'no new pods');
    assert.deepEqual(await eventsOf(client, ns, 'long', 'RunSkipped', t2), [1]);

    // As a CronJob without startingDeadlineSeconds: the skipped time starts once the run ends.
    const late = await waitFor(
      async () => {
        const d = await get(client, ns, 'long');
        return d.status?.lastScheduleTime === t2 ? d : { pending: JSON.stringify(d.status) };
      },
      { what: `the run of ${t2} started late`, timeoutMs: MINUTE },
    );
    assert.equal(late.status.runs[0].scheduledTime, t1);
    assert.equal(late.status.runs[0].result, 'Complete');
    assert.ok(Date.parse(late.status.startTime) >= Date.parse(late.status.runs[0].completionTime));
  });

  it('Replace: the active run is recorded as Replaced, its running pods deleted, and the new run starts on every node', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'djreplace');
    const nodes = await pool(t, client, ns, 2);
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'swap', {
        schedule: '* * * * *',
        concurrencyPolicy: 'Replace',
        podAnnotations: { [FINISH_AFTER]: '10m' },
      }),
    );
    const created = (await get(client, ns, 'swap')).metadata.creationTimestamp as string;
    const first = await waitFor(
      async () => {
        const d = await get(client, ns, 'swap');
        return d.status?.lastScheduleTime > created && d.status.active === 2
          ? d
          : { pending: JSON.stringify(d.status) };
      },
      { what: 'the first run on both nodes', timeoutMs: 2 * MINUTE },
    );
    const second = await waitFor(
      async () => {
        const d = await get(client, ns, 'swap');
        const pods = (await podsOf(client, ns)).filter((p) => runHash(p) === d.status?.templateHash);
        return d.status?.lastScheduleTime > first.status.lastScheduleTime && pods.length === 2
          ? d
          : { pending: JSON.stringify(d.status) };
      },
      { what: 'the second run replacing the first', timeoutMs: 2 * MINUTE },
    );
    assert.deepEqual(
      second.status.runs.map((r: { scheduledTime: string; result: string }) => [r.scheduledTime, r.result]),
      [[first.status.lastScheduleTime, 'Replaced']],
    );
    const pods = await waitFor(
      async () => {
        const all = await podsOf(client, ns);
        return all.some((p) => runHash(p) === first.status.templateHash) ? { pending: 'old pods' } : all;
      },
      { what: "the replaced run's pods deleted" },
    );
    assert.deepEqual(pods.map(nodeOf).sort(), [...nodes].sort(), 'the new run on every node');
  });

  it('rejects a bad schedule at kubectl apply, and reports a time zone the operator does not know', async (t) => {
    await installCrds();
    const client = await testClient();
    const ns = await testNamespace(t, 'djbadcron');
    const fields = /schedule must be 5 cron fields/;
    assert.match(await kubectlApply(daemonJob(ns, 'a', { schedule: 'TZ=UTC 0 * * * *' })), fields);
    assert.match(await kubectlApply(daemonJob(ns, 'b', { schedule: '0 * * *' })), fields);
    assert.match(
      await kubectlApply(daemonJob(ns, 'c', { concurrencyPolicy: 'Replace' })),
      /only with a schedule/,
    );
    assert.match(
      await kubectlApply(daemonJob(ns, 'd', { schedule: '@daily', concurrencyPolicy: 'Allow' })),
      /supported values: "Forbid", "Replace"/,
    );
    await startOperator(t, { namespaces: [ns] });
    assert.equal(
      await kubectlApply(daemonJob(ns, 'mars', { schedule: '@daily', timeZone: 'Mars/Olympus' })),
      '',
    );
    const bad = await waitFor(
      async () => {
        const d = await get(client, ns, 'mars');
        return condition(d, 'Scheduled')?.status === 'False' ? d : { pending: JSON.stringify(d.status) };
      },
      { what: 'the Scheduled condition False' },
    );
    assert.equal(condition(bad, 'Scheduled').reason, 'InvalidTimeZone');
    assert.match(condition(bad, 'Scheduled').message, /Mars\/Olympus/);
    assert.equal(bad.status.phase, 'Waiting');
    await waitFor(
      async () =>
        (await eventsFor(client, ns, 'mars')).some(
          (e) => e.reason === 'InvalidTimeZone' && e.type === 'Warning',
        ) || {
          pending: 'no Warning Event',
        },
      { what: 'a Warning Event' },
    );
    // Fixed: the condition says so; before its first time (midnight) it waits.
    await client.mergePatch(DAEMONJOBS, ns, 'mars', { spec: { timeZone: 'Europe/Berlin' } });
    await waitFor(
      async () =>
        condition(await get(client, ns, 'mars'), 'Scheduled')?.status === 'True' || { pending: 'False' },
      { what: 'the Scheduled condition True' },
    );
  });
});
