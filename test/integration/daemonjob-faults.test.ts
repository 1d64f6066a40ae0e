// DaemonJob under operator crashes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DAEMONJOBS } from '../../src/controllers/daemonjob/controller.ts';
import { FINISH_AFTER } from '../../src/dev/kwok-stages.ts';
import { addNodes, deleteNodes } from '../../src/dev/nodes.ts';
import { Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { type Operator, startOperator } from '../support/operator.ts';

describe('DaemonJob exactly once per node under operator crashes', () => {
  it('50 nodes, SIGKILL at random moments: at most one pod per node and template, and the run completes', async (t) => {
    const seed = Number(process.env.BOSUN_TEST_SEED ?? Date.now() % 1_000_000);
    t.diagnostic(`seed ${seed} (BOSUN_TEST_SEED to repeat)`);
    let s = seed >>> 0;
    const random = () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    const client = await testClient();
    const ns = await testNamespace(t, 'djcrash');
    const nodes = await addNodes(client, 50);
    t.after(() => deleteNodes(client, nodes));
    await Promise.all(
      nodes.map((n) =>
        client.mergePatch(Resources.nodes, undefined, n, { metadata: { labels: { pool: ns } } }),
      ),
    );

    let operator: Operator = await startOperator(t, { namespaces: [ns] });
    await client.apply(DAEMONJOBS, {
      apiVersion: 'bosun.dev/v1alpha1',
      kind: 'DaemonJob',
      metadata: { name: 'setup', namespace: ns },
      spec: {
        // Ten rounds of pods that run 2 s each: long enough for several crashes, now that pods are
        // created directly (a run of 1 s pods in five rounds could end before the third kill).
        maxParallel: 5,
        template: {
          metadata: { annotations: { [FINISH_AFTER]: '2s' } },
          spec: {
            nodeSelector: { pool: ns },
            restartPolicy: 'Never',
            containers: [{ name: 'c', image: 'c' }],
          },
        },
      },
    });
    let kills = 0;
    let phase = '';
    while (phase !== 'Complete') {
      await new Promise((r) => setTimeout(r, 500 + random() * 2000));
      phase = (await client.get(DAEMONJOBS, ns, 'setup')).status?.phase ?? '';
      if (phase === 'Complete') break;
      await operator.kill('SIGKILL');
      kills++;
      operator = await startOperator(t, { namespaces: [ns], waitReady: random() < 0.5 });
      assert.ok(kills < 60, 'the run completes while the operator keeps crashing');
    }
    t.diagnostic(`operator killed ${kills} times`);
    assert.ok(kills >= 3, `killed during the run (${kills} times)`);
    const done = await waitFor(
      async () => {
        const d = await client.get(DAEMONJOBS, ns, 'setup');
        return d.status?.phase === 'Complete' ? d : { pending: JSON.stringify(d.status) };
      },
      { what: 'Complete', timeoutMs: 60_000 },
    );
    assert.equal(done.status.succeeded, 50);
    const pods = (await client.list(Resources.pods, ns, { labelSelector: 'bosun.dev/daemonjob=setup' }))
      .items;
    const perNode = new Map<string, number>();
    for (const p of pods) {
      const key = `${p.metadata.annotations?.['bosun.dev/node']}@${p.metadata.labels?.['bosun.dev/template-hash']}`;
      perNode.set(key, (perNode.get(key) ?? 0) + 1);
    }
    assert.equal(perNode.size, 50, 'a pod for each node');
    for (const [key, count] of perNode) assert.equal(count, 1, `${key} has ${count} pods`);
    await waitFor(
      async () =>
        (await client.list(Resources.pods, ns, { labelSelector: 'bosun.dev/daemonjob=setup' })).items.every(
          (p) => !p.metadata.finalizers?.length,
        ) || { pending: 'result finalizers' },
      { what: 'every result finalizer released' },
    );
  });
});
