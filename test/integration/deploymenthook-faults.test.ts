// DeploymentHook under concurrency and operator crashes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOOKS } from '../../src/controllers/deploymenthook/controller.ts';
import { FINISH_AFTER } from '../../src/dev/kwok-stages.ts';
import { type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { deployment, hook, hookJobs, jobSucceeded, waitHook, waitRolledOut } from '../support/deployments.ts';
import { type Operator, startOperator } from '../support/operator.ts';

const migrate = { name: 'migrate', image: 'registry.example/migrate:1' };

/** A small seeded PRNG, so that a failing run can be repeated (the seed is printed). */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const revisionsOf = (jobs: KubeObject[]) => jobs.map((j) => j.metadata.labels?.['bosun.dev/revision']);

describe('DeploymentHook concurrency policies', () => {
  it('Forbid keeps the running Job and then runs only the newest; Replace stops it; Allow runs all', async (t) => {
    const client = await testClient();
    const policies = ['Forbid', 'Replace', 'Allow'] as const;
    const namespaces = await Promise.all(policies.map((p) => testNamespace(t, p.toLowerCase())));
    await startOperator(t, { namespaces });
    const slow = {
      spec: { metadata: { annotations: { [FINISH_AFTER]: '30s' } }, spec: { containers: [migrate] } },
    };
    for (const [i, ns] of namespaces.entries()) {
      await client.apply(
        HOOKS,
        hook(ns, 'migrate', {
          selector: { matchLabels: { app: 'web' } },
          template: slow,
          concurrencyPolicy: policies[i],
        }),
      );
    }
    // Revision 1 starts a 30 s hook Job; revisions 2 and 3 complete 5 s apart while it runs.
    for (const [revision, image] of [
      ['1', 'web:1'],
      ['2', 'web:2'],
      ['3', 'web:3'],
    ] as const) {
      await Promise.all(
        namespaces.map((ns) => client.apply(Resources.deployments, deployment(ns, 'web', { image }))),
      );
      await Promise.all(namespaces.map((ns) => waitRolledOut(client, ns, 'web', revision)));
      if (revision === '1')
        await Promise.all(
          namespaces.map((ns) =>
            waitFor(async () => (await hookJobs(client, ns)).length === 1, {
              what: `${ns}: the first hook Job`,
            }),
          ),
        );
      await new Promise((r) => setTimeout(r, 5000)); // the spacing between rollouts is the scenario itself
    }
    const [forbid, replace, allow] = namespaces as [string, string, string];

    // Forbid: while Job 1 runs, nothing else starts.
    const forbidJobs = await hookJobs(client, forbid);
    assert.deepEqual(revisionsOf(forbidJobs), ['1'], 'Forbid: only the first Job while it runs');
    assert.equal(
      forbidJobs[0]?.metadata.deletionTimestamp,
      undefined,
      'Forbid: the first Job is not stopped',
    );
    const waiting = (await client.get(HOOKS, forbid, 'migrate')).status.deployments[0];
    assert.equal(waiting.pendingRevision, '3');
    assert.deepEqual(waiting.skippedRevisions, ['2']);

    // Allow: a Job per revision, all at once.
    assert.deepEqual(revisionsOf(await hookJobs(client, allow)).sort(), ['1', '2', '3']);

    // Replace: the running Job is stopped each time; the newest runs.
    await waitFor(
      async () =>
        revisionsOf(await hookJobs(client, replace)).join() === '3' || {
          pending: revisionsOf(await hookJobs(client, replace)).join(),
        },
      {
        what: 'Replace: only the newest Job left',
        timeoutMs: 60_000,
      },
    );

    const done = (ns: string) =>
      waitHook(
        client,
        ns,
        'migrate',
        'revision 3 succeeded',
        (h) =>
          h.status?.deployments?.[0]?.lastRun?.revision === '3' &&
          h.status.deployments[0].lastRun.phase === 'Succeeded',
        120_000,
      );
    await Promise.all(namespaces.map(done));
    const forbidFinal = await hookJobs(client, forbid);
    assert.deepEqual(
      revisionsOf(forbidFinal),
      ['1', '3'],
      'Forbid: revision 1 finished, then only revision 3 ran',
    );
    assert.ok(forbidFinal.every(jobSucceeded), 'Forbid: both succeeded (revision 1 was never killed)');
    const allowFinal = await hookJobs(client, allow);
    await waitFor(async () => (await hookJobs(client, allow)).every(jobSucceeded), {
      what: 'Allow: all three Jobs succeed',
      timeoutMs: 60_000,
    });
    assert.equal(allowFinal.length, 3);
  });
});

describe('DeploymentHook exactly once under operator crashes', () => {
  it('10 Deployments, 50 rollouts, SIGKILL at random moments: one succeeded Job for each newest revision, never two for one revision', async (t) => {
    const seed = Number(process.env.BOSUN_TEST_SEED ?? Date.now() % 1_000_000);
    t.diagnostic(`seed ${seed} (BOSUN_TEST_SEED to repeat)`);
    const random = prng(seed);
    const client = await testClient();
    const ns = await testNamespace(t, 'crash');
    const names = Array.from({ length: 10 }, (_, i) => `app-${i}`);
    const label = { tier: 'web' };

    let operator: Operator = await startOperator(t, { namespaces: [ns] });
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', {
        selector: { matchLabels: label },
        template: { spec: { spec: { containers: [migrate] } } },
      }),
    );

    let crashing = true;
    let kills = 0;
    const chaos = (async () => {
      while (crashing) {
        await new Promise((r) => setTimeout(r, 500 + random() * 2500));
        await operator.kill('SIGKILL');
        kills++;
        operator = await startOperator(t, { namespaces: [ns], waitReady: random() < 0.5 });
      }
    })();

    // 5 rollouts per Deployment, in a shuffled order, a few hundred milliseconds apart.
    const rollouts = names.flatMap((name) => [1, 2, 3, 4, 5].map((v) => ({ name, v })));
    const order = rollouts
      .map((r) => ({ r, k: random() }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.r);
    const next = new Map(names.map((n) => [n, 1]));
    for (const { name } of order) {
      const v = next.get(name) as number;
      next.set(name, v + 1);
      await client.apply(Resources.deployments, deployment(ns, name, { image: `web:${v}`, labels: label }));
      await new Promise((r) => setTimeout(r, random() * 400));
    }
    for (const name of names) await waitRolledOut(client, ns, name, '5', 120_000);
    crashing = false;
    await chaos;
    t.diagnostic(`operator killed ${kills} times`);
    assert.ok(kills >= 3, `the operator was killed during the run (${kills} times)`);

    const final = await waitHook(
      client,
      ns,
      'migrate',
      'every newest revision succeeded',
      (h) =>
        h.status?.deployments?.length === 10 &&
        h.status.deployments.every(
          (d: { revision: string; lastRun?: { revision: string; phase: string } }) =>
            d.revision === '5' && d.lastRun?.revision === '5' && d.lastRun.phase === 'Succeeded',
        ),
      180_000,
    );
    assert.equal(final.status.succeeded, 10);
    const jobs = await hookJobs(client, ns);
    const perRevision = new Map<string, KubeObject[]>();
    for (const j of jobs) {
      const key = `${j.metadata.labels?.['bosun.dev/deployment']}@${j.metadata.labels?.['bosun.dev/revision']}`;
      perRevision.set(key, [...(perRevision.get(key) ?? []), j]);
    }
    for (const [key, list] of perRevision) assert.equal(list.length, 1, `${key} has ${list.length} Jobs`);
    for (const name of names) {
      const newest = perRevision.get(`${name}@5`);
      assert.ok(
        newest && newest.length === 1 && jobSucceeded(newest[0] as KubeObject),
        `${name} revision 5 has exactly one succeeded Job`,
      );
    }
    t.diagnostic(
      `${jobs.length} hook Jobs for 50 rollouts (Forbid skips revisions that completed while a Job ran)`,
    );
  });
});
