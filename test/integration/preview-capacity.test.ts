// Capacity on the real control plane: the caps hold at every moment (sampled from what really
// exists), a burst builds only what it keeps, initialization is first-queued first-served, the
// newest preview of a branch stays, and starting one more stops the least recently started.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeClient, KubeObject } from '../../src/runtime/kube-client.ts';
import { Resources } from '../../src/runtime/kube-client.ts';
import { silentLogger } from '../../src/runtime/log.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { WatchCache } from '../../src/runtime/watch-cache.ts';
import { admissionHold, testClient, testNamespace } from '../support/cluster.ts';
import { eventsFor, getOrUndefined, installCrds, metricValue, startOperator } from '../support/operator.ts';
import {
  labelled,
  PREVIEW_REPOSITORIES,
  PREVIEW_TEMPLATES,
  PREVIEWS,
  phase,
  preview,
  ready,
  readyReason,
  repository,
  sampleCaps,
  template,
  waitPreview,
} from '../support/previews.ts';

async function setup(
  t: import('node:test').TestContext,
  capacity: Record<string, number>,
  tpl: Record<string, unknown> = {},
  /** Creates objects before the operator starts: they reach it as one burst. */
  before?: (ns: string, client: KubeClient) => Promise<void>,
) {
  await installCrds(); // the templates are created before the operator starts
  const ns = await testNamespace(t, 'cap');
  const client = await testClient();
  await client.create(PREVIEW_TEMPLATES, template(ns, 'web', tpl));
  await client.create(PREVIEW_REPOSITORIES, repository(ns, 'shop', { capacity }));
  const samples = await sampleCaps(client, ns);
  t.after(() => samples.stop());
  await before?.(ns, client);
  const operator = await startOperator(t, { namespaces: [ns] });
  return { ns, client, samples, operator };
}

/** A template without a build whose initialization Job runs `duration`. */
const initTaking = (duration: string) => ({
  build: undefined,
  initialize: {
    template: {
      metadata: { annotations: { 'kwok.bosun.dev/finish-after': duration } },
      spec: { containers: [{ name: 'init', image: 'x' }] },
    },
  },
});

const previews = async (client: Awaited<ReturnType<typeof testClient>>, ns: string) =>
  (await client.list(PREVIEWS, ns)).items as KubeObject[];
const settled = (p: KubeObject) => ['Stopped', 'Running', 'Failed', 'Pending'].includes(p.status?.phase);

describe('Preview capacity', () => {
  it('a burst of 100 pull requests under maxDeployed 50 deploys 50, builds nothing it undeploys, never exceeds a cap', async (t) => {
    const caps = { maxDeployed: 50, maxInitializing: 5, maxRunning: 3 };
    // All 100 arrive at once (as after an outage of the operator, or a mass re-trigger): the
    // newest 50 are deployed and nothing is built only to be undeployed again.
    const { ns, client, samples } = await setup(t, caps, {}, (ns, client) =>
      Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          client.create(
            PREVIEWS,
            preview(ns, `shop-pr${i + 1}`, {
              pullRequest: i + 1,
              branch: `fix-${i + 1}`,
              state: i % 10 === 0 ? 'Running' : undefined,
            }),
          ),
        ),
      ).then(() => undefined),
    );
    const final = await waitFor(
      async () => {
        const all = await previews(client, ns);
        const deployed = all.filter((p) => p.status?.admittedAt);
        const pending = all.filter((p) => p.status?.phase === 'Pending');
        const running = all.filter((p) => p.status?.phase === 'Running');
        // Those asked to run run (maxRunning stops the least recently started by setting spec.state).
        const asked = deployed.filter((p) => p.spec.state === 'Running').length;
        return deployed.length === 50 &&
          pending.length === 50 &&
          all.every(settled) &&
          running.length === asked &&
          asked > 0
          ? all
          : {
              pending: `${deployed.length} deployed, ${pending.length} pending, ${running.length} running, phases ${[...new Set(all.map((p) => p.status?.phase))]}`,
            };
      },
      { what: 'the burst to settle under the caps', timeoutMs: 240_000 },
    );
    assert.ok(samples.max.deployed <= caps.maxDeployed, `deployed peaked at ${samples.max.deployed}`);
    assert.ok(
      samples.max.initializing <= caps.maxInitializing,
      `initializing peaked at ${samples.max.initializing}`,
    );
    assert.ok(samples.max.running <= caps.maxRunning, `running peaked at ${samples.max.running}`);
    assert.ok(samples.max.deployed >= 45, `the sampler saw the deploys (peak ${samples.max.deployed})`);
    const builds = [...samples.jobsCreated.keys()].filter((n) => n.includes('-build-'));
    assert.equal(builds.length, 50, 'only the previews that stay deployed were built');
    assert.deepEqual(
      [...samples.jobsCreated].filter(([, uids]) => uids.size > 1),
      [],
      'no Job was created twice',
    );
    assert.equal(final.length, 100, 'nothing was undeployed');
    // The repository's status (its printer columns) counts what settled: written by the passes
    // beside their acts, it must end at the truth once nothing moves.
    const running = final.filter((p) => p.status?.phase === 'Running').length;
    await waitFor(
      async () => {
        const status = (await client.get(PREVIEW_REPOSITORIES, ns, 'shop')).status ?? {};
        const want = { deployed: 50, running, initializing: 0, pending: 50 };
        const got = {
          deployed: status.deployed,
          running: status.running,
          initializing: status.initializing,
          pending: status.pending,
        };
        return JSON.stringify(got) === JSON.stringify(want) || { pending: `counts ${JSON.stringify(got)}` };
      },
      { what: `the repository's counts: 50 deployed, ${running} running, 0 initializing, 50 pending` },
    );
  });

  it('initialization is first queued, first served, under maxInitializing', async (t) => {
    const { ns, client, samples } = await setup(t, { maxInitializing: 1 }, initTaking('1s'));
    await client.mergePatch(PREVIEW_REPOSITORIES, ns, 'shop', { spec: { image: 'app:1' } });
    const order = ['zeta', 'yota', 'xi', 'omega', 'nu'];
    for (const [i, name] of order.entries()) {
      await client.create(PREVIEWS, preview(ns, name, { branch: `b${i}` }));
      await waitPreview(client, ns, name, (p) => !!p.status?.initQueuedAt, 'queued for initialization');
    }
    for (const name of order) await waitPreview(client, ns, name, phase('Stopped'), 'initialized');
    const started = await Promise.all(
      order.map(
        async (name) =>
          (await eventsFor(client, ns, name)).find((e) => e.reason === 'InitStarted')?.eventTime as string,
      ),
    );
    assert.deepEqual([...started].sort(), started, `InitStarted in queue order: ${started}`);
    assert.equal(samples.max.initializing, 1);
  });

  it('the newest preview of a branch is never undeployed; the least recently used idle one is', async (t) => {
    const { ns, client } = await setup(t, { maxDeployed: 2 });
    await client.create(PREVIEWS, preview(ns, 'main-1', { branch: 'main', commit: '1111111aaa' }));
    await waitPreview(client, ns, 'main-1', phase('Stopped'), 'deployed');
    await client.create(PREVIEWS, preview(ns, 'main-2', { branch: 'main', commit: '2222222aaa' }));
    await waitPreview(client, ns, 'main-2', phase('Stopped'), 'deployed');
    await client.create(PREVIEWS, preview(ns, 'feature-1', { branch: 'feature', commit: '3333333aaa' }));
    await waitPreview(client, ns, 'feature-1', phase('Stopped'), 'deployed in place of main-1');
    await waitFor(
      async () =>
        !(await getOrUndefined(client, PREVIEWS, ns, 'main-1')) || { pending: 'main-1 still there' },
      {
        what: 'main-1 undeployed',
      },
    );
    // Now every deployed preview is the newest of its branch: another one waits.
    await client.create(PREVIEWS, preview(ns, 'other-1', { branch: 'other', commit: '4444444aaa' }));
    const waiting = await waitPreview(
      client,
      ns,
      'other-1',
      (p) => p.status?.phase === 'Pending' && !!p.status?.conditions,
      'Pending',
    );
    assert.equal(waiting.status.conditions[0].reason, 'WaitingForCapacity');
    assert.ok(await getOrUndefined(client, PREVIEWS, ns, 'main-2'), 'the newest of main stays');
  });

  it('lowering maxDeployed undeploys the excess at once, in shared purges, and leaves nothing labelled', async (t) => {
    const names = Array.from({ length: 30 }, (_, i) => `shop-pr${i + 1}`);
    // No build, init or cleanup Job: the undeploys reach their purges together.
    const { ns, client, samples, operator } = await setup(
      t,
      { maxDeployed: 30 },
      { build: undefined, initialize: undefined, cleanup: undefined },
      async (ns, client) => {
        await client.mergePatch(PREVIEW_REPOSITORIES, ns, 'shop', { spec: { image: 'app:1' } });
        await Promise.all(
          names.map((n, i) =>
            client.create(PREVIEWS, preview(ns, n, { pullRequest: i + 1, branch: `fix-${i}` })),
          ),
        );
      },
    );
    for (const n of names) await waitPreview(client, ns, n, phase('Stopped'), 'deployed');
    await client.mergePatch(PREVIEW_REPOSITORIES, ns, 'shop', { spec: { capacity: { maxDeployed: 5 } } });
    const left = await waitFor(
      async () => {
        const all = await previews(client, ns);
        return all.length === 5 ? all : { pending: `${all.length} previews` };
      },
      { what: '25 previews undeployed', timeoutMs: 120_000 },
    );
    const kept = new Set(left.map((p) => p.metadata.name));
    for (const n of names.filter((n) => !kept.has(n)))
      assert.deepEqual(await labelled(client, ns, n), [], `nothing labelled with ${n} is left`);
    assert.ok(samples.max.deployed <= 30, `deployed peaked at ${samples.max.deployed}`);
    // A purge takes a batch or two per preview (a second one looks again at what the first
    // deleted in the background); 25 undeploys at once share them.
    const batches = await metricValue(operator, 'bosun_preview_purge_batch_previews_count');
    const purged = await metricValue(operator, 'bosun_preview_purge_batch_previews_sum');
    assert.ok(purged >= 25, `${purged} previews in the batches`);
    assert.ok(batches * 2 < purged, `${purged} previews purged in ${batches} batches`);
  });

  it('a preview that takes the slot of an idle one is admitted only once that one is being deleted', async (t) => {
    const { ns, client, samples } = await setup(t, { maxDeployed: 1 }, { cleanup: undefined });
    await client.create(PREVIEWS, preview(ns, 'old', { branch: 'f1', pullRequest: 1 }));
    await waitPreview(client, ns, 'old', phase('Stopped'), 'Stopped');
    // An admission policy refuses to delete old: the undeploy that makes room fails.
    const release = await admissionHold(t, client, ns, {
      rule: {
        apiGroups: ['bosun.dev'],
        apiVersions: ['v1alpha1'],
        operations: ['DELETE'],
        resources: ['previews'],
      },
      expression: "oldObject.metadata.name != 'old'",
      probe: () =>
        client.request('DELETE', `/apis/bosun.dev/v1alpha1/namespaces/${ns}/previews/old`, {
          query: { dryRun: 'All' },
        }),
    });
    await client.create(PREVIEWS, preview(ns, 'new', { branch: 'f2', pullRequest: 2 }));
    const waiting = await waitPreview(
      client,
      ns,
      'new',
      readyReason('WaitingForCapacity'),
      'waiting for old',
    );
    assert.equal(waiting.status.admittedAt, undefined, 'not admitted while old cannot be deleted');
    assert.ok(await getOrUndefined(client, PREVIEWS, ns, 'old'), 'old is still there');
    // The counts the failing passes write are what they did: old deployed, new waiting.
    await waitFor(
      async () => {
        const { deployed, pending } = (await client.get(PREVIEW_REPOSITORIES, ns, 'shop')).status ?? {};
        return (deployed === 1 && pending === 1) || { pending: `deployed ${deployed}, pending ${pending}` };
      },
      { what: 'the repository to count old deployed and new pending' },
    );

    await release();
    await waitPreview(client, ns, 'new', phase('Stopped'), 'deployed in place of old');
    assert.equal(samples.max.deployed, 1, 'never two previews deployed');
  });

  it('a preview being undeployed holds its run slot until its pods are gone', async (t) => {
    const { ns, client, samples } = await setup(t, { maxRunning: 1 }, { cleanup: undefined });
    await client.create(PREVIEWS, preview(ns, 'a', { branch: 'a', state: 'Running' }));
    await client.create(PREVIEWS, preview(ns, 'b', { branch: 'b' }));
    await waitPreview(client, ns, 'a', phase('Running'), 'Running');
    await waitPreview(client, ns, 'b', phase('Stopped'), 'Stopped');
    // An admission policy refuses to scale a's Deployment down: its pods stay while it is undeployed.
    const release = await admissionHold(t, client, ns, {
      rule: { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['deployments'] },
      expression: "object.metadata.name != 'a' || object.spec.replicas >= oldObject.spec.replicas",
      probe: () =>
        client.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/a`, {
          query: { dryRun: 'All' },
          body: { spec: { replicas: 0 } },
          contentType: 'application/merge-patch+json',
        }),
    });

    await client.delete(PREVIEWS, ns, 'a');
    await client.mergePatch(PREVIEWS, ns, 'b', { spec: { state: 'Running' } });
    await waitPreview(client, ns, 'a', phase('Undeploying'), 'Undeploying');
    const waiting = await waitPreview(
      client,
      ns,
      'b',
      readyReason('WaitingForCapacity'),
      'waiting for a run slot while a still has pods',
    );
    assert.match(ready(waiting)?.message, /maxRunning is reached/);
    assert.equal((await client.get(Resources.deployments, ns, 'b')).spec.replicas, 0);

    await release();
    await waitPreview(client, ns, 'b', phase('Running'), 'Running once a is scaled down');
    assert.equal(samples.max.running, 1, 'never two previews with pods');
  });

  it('a preview deleted while it initializes stops its Job, frees the slot, and cleans up only after the Job is gone', async (t) => {
    const { ns, client, samples } = await setup(t, { maxInitializing: 1 }, initTaking('600s'));
    // Whether a preview's init Job was still there when its cleanup Job appeared (one watch stream
    // is in resourceVersion order, so the cache has seen every earlier deletion).
    const jobs = new WatchCache(client, Resources.jobs, { namespace: ns, log: silentLogger });
    const overlaps: string[] = [];
    jobs.onEvent((e) => {
      const role = (j: KubeObject) => j.metadata.labels?.['bosun.dev/preview-role'];
      if (e.type !== 'added' || role(e.object) !== 'cleanup') return;
      const owner = e.object.metadata.labels?.['bosun.dev/preview'];
      const inits = jobs.list(
        (j) => role(j) === 'init' && j.metadata.labels?.['bosun.dev/preview'] === owner,
      );
      if (inits.length) overlaps.push(`${owner}: ${inits.map((j) => j.metadata.name)}`);
    });
    jobs.start();
    t.after(() => jobs.stop());
    await client.mergePatch(PREVIEW_REPOSITORIES, ns, 'shop', { spec: { image: 'app:1' } });
    await client.create(PREVIEWS, preview(ns, 'a', { branch: 'a' }));
    await waitPreview(client, ns, 'a', phase('Initializing'), 'initializing');
    await client.create(PREVIEWS, preview(ns, 'b', { branch: 'b' }));
    await waitPreview(client, ns, 'b', (p) => !!p.status?.initQueuedAt, 'queued behind a');

    await client.delete(PREVIEWS, ns, 'a');
    // a's Job would run for ten minutes: b starts once it is stopped, and a is cleaned up and gone.
    await waitPreview(client, ns, 'b', phase('Initializing'), 'initializing in the freed slot');
    await waitFor(
      async () => !(await getOrUndefined(client, PREVIEWS, ns, 'a')) || { pending: 'a still there' },
      { what: 'a undeployed' },
    );
    assert.deepEqual(await labelled(client, ns, 'a'), []);
    assert.ok(samples.jobsCreated.has('a-cleanup'), 'a cleanup Job ran');
    assert.deepEqual(overlaps, [], 'no cleanup Job beside a running init Job');
    assert.equal(samples.max.initializing, 1);
  });

  it('a stopped preview holds its run slot while its pods terminate', async (t) => {
    const { ns, client, samples } = await setup(
      t,
      { maxRunning: 1 },
      {
        app: {
          port: 8080,
          template: {
            metadata: { annotations: { 'kwok.bosun.dev/terminate-after': '4s' } },
            spec: { containers: [{ name: 'web' }] },
          },
        },
      },
    );
    await client.create(PREVIEWS, preview(ns, 'a', { branch: 'a', state: 'Running' }));
    await waitPreview(client, ns, 'a', phase('Running'), 'Running');
    await client.create(PREVIEWS, preview(ns, 'b', { branch: 'b', state: 'Running' }));
    await waitPreview(client, ns, 'a', phase('Stopping'), 'Stopping while its pod terminates');
    await waitPreview(client, ns, 'b', phase('Running'), 'Running once a has no pod left');
    const a = await client.get(Resources.deployments, ns, 'a');
    assert.equal(a.status?.terminatingReplicas ?? 0, 0, "a's pod is gone");
    assert.equal(samples.max.running, 1, 'never two previews with pods, terminating ones included');
  });

  it('starting one more stops the least recently started', async (t) => {
    const { ns, client, samples } = await setup(t, { maxRunning: 1 });
    await client.create(PREVIEWS, preview(ns, 'a', { branch: 'a', state: 'Running' }));
    await waitPreview(client, ns, 'a', phase('Running'), 'Running');
    await client.create(PREVIEWS, preview(ns, 'b', { branch: 'b', state: 'Running' }));
    await waitPreview(client, ns, 'b', phase('Running'), 'Running');
    const a = await waitPreview(client, ns, 'a', phase('Stopped'), 'stopped for capacity');
    assert.equal(a.spec.state, 'Stopped', 'the stop is recorded in spec.state');
    assert.ok((await eventsFor(client, ns, 'a')).some((e) => e.reason === 'StoppedForCapacity'));
    assert.equal((await client.get(Resources.deployments, ns, 'a')).spec.replicas, 0);
    assert.equal(samples.max.running, 1);
  });
});
