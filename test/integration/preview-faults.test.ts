// The operator SIGKILLed at random while 50 previews arrive: every decision is in the API
// server, so the caps hold at every moment and no Job is created twice.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { KubeObject } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { installCrds, startOperator } from '../support/operator.ts';
import {
  PREVIEW_REPOSITORIES,
  PREVIEW_TEMPLATES,
  PREVIEWS,
  preview,
  repository,
  sampleCaps,
  template,
} from '../support/previews.ts';

it('SIGKILL at random during 50 previews: caps never exceeded, no Job duplicated, all settle', async (t) => {
  const caps = { maxDeployed: 30, maxInitializing: 3, maxRunning: 4 };
  await installCrds(); // the templates are created before the operator starts
  const ns = await testNamespace(t, 'chaos');
  const client = await testClient();
  await client.create(PREVIEW_TEMPLATES, template(ns, 'web'));
  await client.create(PREVIEW_REPOSITORIES, repository(ns, 'shop', { capacity: caps }));
  const samples = await sampleCaps(client, ns);
  t.after(() => samples.stop());

  let operator = await startOperator(t, { namespaces: [ns] });
  // Ten branches, five commits each, a third asked to run: undeploys, stops and inits all happen.
  const creating = (async () => {
    for (let i = 0; i < 50; i++) {
      const branch = `b${i % 10}`;
      await client.create(
        PREVIEWS,
        preview(ns, `shop-${branch}-${i}`, {
          branch,
          commit: `${String(i).padStart(7, '0')}abc`,
          state: i % 3 === 0 ? 'Running' : undefined,
        }),
      );
    }
  })();
  let kills = 0;
  const seed = Number(process.env.CHAOS_SEED ?? Date.now());
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  t.diagnostic(`chaos seed ${seed} (CHAOS_SEED to replay)`);
  for (let round = 0; round < 4; round++) {
    // Let it work for a random while (measured in observed progress, not in sleeps).
    const target = samples.events + 20 + Math.floor(random() * 80);
    await waitFor(async () => samples.events >= target || { pending: `${samples.events}/${target} events` }, {
      what: 'the operator to make progress before the next kill',
      timeoutMs: 120_000,
    });
    await operator.kill('SIGKILL');
    kills++;
    operator = await startOperator(t, { namespaces: [ns] });
  }
  await creating;
  await waitFor(
    async () => {
      const all = (await client.list(PREVIEWS, ns)).items as KubeObject[];
      const live = all.filter((p) => !p.metadata.deletionTimestamp);
      const settled = live.every((p) => ['Stopped', 'Running', 'Pending'].includes(p.status?.phase));
      const deployed = live.filter((p) => p.status?.admittedAt).length;
      return (
        (settled && all.length === live.length && deployed === caps.maxDeployed) || {
          pending: `${all.length} previews, ${deployed} deployed, phases ${[...new Set(all.map((p) => p.status?.phase))]}`,
        }
      );
    },
    { what: 'every preview to settle', timeoutMs: 300_000 },
  );
  assert.equal(kills, 4);
  assert.ok(samples.max.deployed <= caps.maxDeployed, `deployed peaked at ${samples.max.deployed}`);
  assert.ok(
    samples.max.initializing <= caps.maxInitializing,
    `initializing peaked at ${samples.max.initializing}`,
  );
  assert.ok(samples.max.running <= caps.maxRunning, `running peaked at ${samples.max.running}`);
  assert.deepEqual(
    [...samples.jobsCreated].filter(([, uids]) => uids.size > 1),
    [],
    'no Job was created twice',
  );
});
