// What one hook run is: (hook UID, Deployment UID, revision, rerun value), on the local control plane.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentRunStatus } from '../../src/api/deploymenthook.ts';
import { HOOKS } from '../../src/controllers/deploymenthook/controller.ts';
import { type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { deployment, hook, hookJobs, waitHook, waitRolledOut } from '../support/deployments.ts';
import { startOperator } from '../support/operator.ts';

const migrate = { name: 'migrate', image: 'registry.example/migrate:1' };
const template = { spec: { spec: { containers: [migrate] } } };
const entryOf = (h: KubeObject, name: string): DeploymentRunStatus | undefined =>
  h.status?.deployments?.find((e: DeploymentRunStatus) => e.name === name);
const succeeded = (name: string, revision: string, rerun?: string) => (h: KubeObject) => {
  const e = entryOf(h, name);
  return e?.lastRun?.revision === revision && e.lastRun.phase === 'Succeeded' && e.rerun === rerun;
};

describe('DeploymentHook run identity', () => {
  it('a timestamp in bosun.dev/rerun (as the docs suggest) runs every Deployment again and blocks no later rollout', async (t) => {
    const ns = await testNamespace(t, 'rerun');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    await client.apply(HOOKS, hook(ns, 'migrate', { selector: { matchLabels: { tier: 'web' } }, template }));
    for (const name of ['web', 'api'])
      await client.apply(Resources.deployments, deployment(ns, name, { labels: { tier: 'web' } }));
    for (const name of ['web', 'api'])
      await waitHook(client, ns, 'migrate', `${name} revision 1`, succeeded(name, '1'));

    const stamp = '2026-11-23T10:00:00Z';
    await client.mergePatch(HOOKS, ns, 'migrate', {
      metadata: { annotations: { 'bosun.dev/rerun': stamp } },
    });
    for (const name of ['web', 'api'])
      await waitHook(client, ns, 'migrate', `${name} rerun at ${stamp}`, succeeded(name, '1', stamp), 90_000);
    await client.apply(
      Resources.deployments,
      deployment(ns, 'api', { labels: { tier: 'web' }, image: 'registry.example/web:2' }),
    );
    await waitHook(client, ns, 'migrate', 'api revision 2', succeeded('api', '2', stamp), 90_000);
    assert.equal(
      (await hookJobs(client, ns)).length,
      5,
      'two first runs, two reruns, one for api revision 2',
    );
  });

  it('a Deployment deleted and created again under the same name gets its hook; the old Job is not adopted', async (t) => {
    const ns = await testNamespace(t, 'recreate');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    await client.apply(HOOKS, hook(ns, 'migrate', { selector: { matchLabels: { app: 'web' } }, template }));
    await client.apply(Resources.deployments, deployment(ns, 'web'));
    const first = await waitHook(client, ns, 'migrate', 'revision 1', succeeded('web', '1'));
    const firstJob = entryOf(first, 'web')?.lastRun?.jobName;
    const firstUid = entryOf(first, 'web')?.uid;

    await client.delete(Resources.deployments, ns, 'web', 'Foreground');
    await waitFor(
      async () =>
        !(await client.list(Resources.deployments, ns)).items.some((d) => d.metadata.name === 'web') || {
          pending: 'web still exists',
        },
      { what: 'Deployment web deleted' },
    );
    await client.apply(Resources.deployments, deployment(ns, 'web'));
    await waitRolledOut(client, ns, 'web', '1');
    const second = await waitHook(
      client,
      ns,
      'migrate',
      'the re-created Deployment ran',
      (h) => succeeded('web', '1')(h) && entryOf(h, 'web')?.uid !== firstUid,
      90_000,
    );
    assert.notEqual(entryOf(second, 'web')?.lastRun?.jobName, firstJob, 'a new Job, not the old one');
    assert.equal((await hookJobs(client, ns)).length, 2);
  });

  it('a Deployment that stops matching and matches again does not run its revision twice (even with its Job gone)', async (t) => {
    const ns = await testNamespace(t, 'rematch');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', {
        selector: { matchLabels: { app: 'web' } },
        template,
        ttlSecondsAfterFinished: 0,
      }),
    );
    await client.apply(Resources.deployments, deployment(ns, 'web'));
    const done = await waitHook(client, ns, 'migrate', 'revision 1', succeeded('web', '1'));
    const jobName = entryOf(done, 'web')?.lastRun?.jobName;
    await waitFor(async () => (await hookJobs(client, ns)).length === 0 || { pending: 'Job still there' }, {
      what: 'the finished Job deleted by its TTL',
      timeoutMs: 60_000,
    });

    // Relabel the Deployment object only: no new revision.
    await client.mergePatch(Resources.deployments, ns, 'web', { metadata: { labels: { app: 'other' } } });
    await waitHook(client, ns, 'migrate', 'web unmatched', (h) => h.status?.matched === 0);
    await client.mergePatch(Resources.deployments, ns, 'web', { metadata: { labels: { app: 'web' } } });
    const back = await waitHook(client, ns, 'migrate', 'web matched again', (h) => h.status?.matched === 1);
    assert.equal(entryOf(back, 'web')?.lastRun?.jobName, jobName, 'the recorded run stands');
    assert.equal(back.status.succeeded, 1);
    assert.equal((await hookJobs(client, ns)).length, 0, 'no second Job for revision 1');
  });

  it('releases the Jobs of a hook deleted and created again under the same name while the operator was down', async (t) => {
    const ns = await testNamespace(t, 'rehook');
    const client = await testClient();
    const op = await startOperator(t, { namespaces: [ns] });
    const spec = { selector: { matchLabels: { app: 'web' } }, template };
    await client.apply(HOOKS, hook(ns, 'migrate', spec));
    await client.apply(Resources.deployments, deployment(ns, 'web'));
    await waitHook(client, ns, 'migrate', 'revision 1', succeeded('web', '1'));
    // The result is recorded; keep a finalizer on the Job as a run in progress would have it.
    const [old] = await hookJobs(client, ns);
    await client.mergePatch(Resources.jobs, ns, old?.metadata.name as string, {
      metadata: { finalizers: ['bosun.dev/hook-result'] },
    });
    await op.kill('SIGKILL');
    await client.delete(HOOKS, ns, 'migrate');
    await waitFor(
      async () => !(await client.list(HOOKS, ns)).items.length || { pending: 'hook still there' },
      { what: 'hook deleted' },
    );
    await client.apply(HOOKS, hook(ns, 'migrate', spec));
    await startOperator(t, { namespaces: [ns] });
    await waitFor(
      async () =>
        !(await hookJobs(client, ns)).some((j) => j.metadata.uid === old?.metadata.uid) || {
          pending: JSON.stringify((await hookJobs(client, ns)).map((j) => j.metadata.finalizers)),
        },
      { what: "the old hook's Job released and garbage collected", timeoutMs: 90_000 },
    );
    await waitHook(client, ns, 'migrate', 'the new hook ran', succeeded('web', '1'));
  });
});
