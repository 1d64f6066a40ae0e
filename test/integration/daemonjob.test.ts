// DaemonJob behaviour on the local control plane. Each test gets its own pool of nodes (a label
// the DaemonJob selects), so tests do not see each other's nodes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DAEMONJOBS } from '../../src/controllers/daemonjob/controller.ts';
import { FAIL_LABEL, FAIL_ON_NODES, FINISH_AFTER, NODE_NOT_READY } from '../../src/dev/kwok-stages.ts';
import { addNodes, deleteNodes, nodeIndex, nodeManifest } from '../../src/dev/nodes.ts';
import { type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testClient, testCluster, testNamespace } from '../support/cluster.ts';
import { daemonJob, get, nodeOf, podSucceeded, podsOf, pool, waitPhase } from '../support/daemonjob.ts';
import { condition } from '../support/deployments.ts';
import { eventsFor, installCrds, kubectlApply, startOperator } from '../support/operator.ts';

describe('DaemonJob', () => {
  it('runs exactly one pod per node, each bound to its node, and completes', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'dj');
    const nodes = await pool(t, client, ns, 5);
    await startOperator(t, { namespaces: [ns] });
    await client.apply(DAEMONJOBS, daemonJob(ns, 'clean-tmp', {}));
    const done = await waitPhase(client, ns, 'clean-tmp', 'Complete');
    assert.deepEqual(
      [
        done.status.desired,
        done.status.succeeded,
        done.status.failed,
        done.status.active,
        done.status.pending,
      ],
      [5, 5, 0, 0, 0],
    );
    assert.equal(condition(done, 'Complete').status, 'True');
    assert.deepEqual(Object.keys(done.status.nodeResults).sort(), [...nodes].sort());
    // The result finalizers go in the reconcile after the one that recorded the results.
    const pods = await waitFor(
      async () => {
        const all = await podsOf(client, ns);
        return all.every((p) => !p.metadata.finalizers?.length) ? all : { pending: 'result finalizers' };
      },
      { what: 'every result finalizer released' },
    );
    assert.deepEqual(pods.map(nodeOf).sort(), [...nodes].sort(), 'one pod per node');
    for (const pod of pods) {
      assert.equal(pod.spec.nodeName, nodeOf(pod), 'the pod ran on its node');
      assert.deepEqual(
        pod.spec.containers[0].env.find((e: { name: string }) => e.name === 'BOSUN_NODE_NAME'),
        { name: 'BOSUN_NODE_NAME', value: nodeOf(pod) },
      );
    }
    const { kubeconfig, binDir } = await testCluster();
    const row = execFileSync(
      join(binDir, 'kubectl'),
      ['--kubeconfig', kubeconfig, '-n', ns, 'get', 'daemonjobs', '--no-headers'],
      { encoding: 'utf8' },
    );
    assert.match(row, /^clean-tmp\s+Complete\s+5\s+0\s+5\s+0\s+0\s+/);
  });

  it('picks exactly the nodes a DaemonSet with the same template would (selectors, affinity, taints, tolerations)', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'elig');
    const nodes = await pool(t, client, ns, 8, [
      { disk: 'ssd' },
      { disk: 'ssd' },
      { disk: 'hdd' },
      {},
      { disk: 'ssd' },
      { disk: 'ssd' },
      { disk: 'ssd', zone: 'x' },
      { disk: 'ssd' },
    ]);
    const taints = [
      [nodes[1], { key: 'dedicated', value: 'db', effect: 'NoSchedule' }],
      [nodes[4], { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
      [nodes[5], { key: 'maintenance', effect: 'NoExecute' }],
      [nodes[7], { key: 'soft', effect: 'PreferNoSchedule' }],
    ] as const;
    for (const [node, taint] of taints)
      await client.mergePatch(Resources.nodes, undefined, node as string, { spec: { taints: [taint] } });
    const podSpec = {
      nodeSelector: { pool: ns },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              {
                matchExpressions: [
                  { key: 'disk', operator: 'In', values: ['ssd'] },
                  { key: 'zone', operator: 'DoesNotExist' },
                ],
              },
            ],
          },
        },
      },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }],
    };
    await startOperator(t, { namespaces: [ns] });
    await client.apply(DAEMONJOBS, daemonJob(ns, 'audit', { podSpec }));
    await client.create(Resources.daemonSets, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'peer', namespace: ns },
      spec: {
        selector: { matchLabels: { app: 'peer' } },
        template: {
          metadata: { labels: { app: 'peer' } },
          spec: { ...podSpec, containers: [{ name: 'c', image: 'c' }] },
        },
      },
    });
    const dj = await waitPhase(client, ns, 'audit', 'Complete');
    const ds = await waitFor(
      async () => {
        const d = await client.get(Resources.daemonSets, ns, 'peer');
        return d.status?.observedGeneration === d.metadata.generation &&
          d.status.numberReady === d.status.desiredNumberScheduled &&
          d.status.desiredNumberScheduled > 0
          ? d
          : { pending: JSON.stringify(d.status) };
      },
      { what: 'the DaemonSet to settle' },
    );
    const dsPods = await client.list(Resources.pods, ns, { labelSelector: 'app=peer' });
    const dsNodes = dsPods.items.map((p) => p.spec.nodeName).sort();
    const djNodes = (await podsOf(client, ns)).map(nodeOf).sort();
    assert.deepEqual(djNodes, dsNodes, 'DaemonJob nodes equal DaemonSet nodes');
    assert.deepEqual(
      djNodes,
      [nodes[0], nodes[1], nodes[7]].sort(),
      'ssd, no zone, tolerated or soft taints only',
    );
    assert.equal(dj.status.desired, ds.status.desiredNumberScheduled);
  });

  it('never runs more than maxParallel pods at once, and finishes every node', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'par');
    await pool(t, client, ns, 6);
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'slow', { maxParallel: 2, podAnnotations: { [FINISH_AFTER]: '2s' } }),
    );
    let most = 0;
    await waitFor(
      async () => {
        const pods = await podsOf(client, ns);
        const active = pods.filter((p) => !podSucceeded(p)).length;
        most = Math.max(most, active);
        assert.ok(active <= 2, `${active} pods active at once`);
        const d = await get(client, ns, 'slow');
        return d.status?.phase === 'Complete' || { pending: `${active} active` };
      },
      { what: 'the rolling run to complete', timeoutMs: 90_000, intervalMs: 100 },
    );
    assert.equal(most, 2, 'it used both slots');
    assert.equal((await podsOf(client, ns)).length, 6);
  });

  it('runs on nodes that join or gain the label later (newNodes: Run), not with Ignore; not on a node tainted before its turn', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'new');
    await pool(t, client, ns, 2);
    await startOperator(t, { namespaces: [ns] });
    await client.apply(DAEMONJOBS, daemonJob(ns, 'run', {}));
    await client.apply(DAEMONJOBS, daemonJob(ns, 'ignore', { newNodes: 'Ignore' }));
    await waitPhase(client, ns, 'run', 'Complete');
    await waitPhase(client, ns, 'ignore', 'Complete');

    const [joined] = await pool(t, client, ns, 1);
    const [relabelled] = await addNodes(client, 1);
    t.after(() => deleteNodes(client, [relabelled as string]));
    const [tainted] = await addNodes(client, 1);
    t.after(() => deleteNodes(client, [tainted as string]));
    await client.mergePatch(Resources.nodes, undefined, tainted as string, {
      spec: { taints: [{ key: 'no', effect: 'NoSchedule' }] },
    });
    await client.mergePatch(Resources.nodes, undefined, tainted as string, {
      metadata: { labels: { pool: ns } },
    });
    await client.mergePatch(Resources.nodes, undefined, relabelled as string, {
      metadata: { labels: { pool: ns } },
    });
    const run = await waitFor(
      async () => {
        const d = await get(client, ns, 'run');
        return d.status?.phase === 'Complete' && d.status.succeeded === 4
          ? d
          : { pending: JSON.stringify(d.status) };
      },
      { what: 'the new and relabelled nodes to run' },
    );
    assert.ok(run.status.nodeResults[joined as string] && run.status.nodeResults[relabelled as string]);
    assert.equal(run.status.nodeResults[tainted as string], undefined, 'the tainted node does not run');
    const ignore = await get(client, ns, 'ignore');
    assert.equal(ignore.status.succeeded, 2, 'Ignore leaves later nodes out');
    const ignorePods = (await podsOf(client, ns)).filter(
      (p) => p.metadata.labels?.['bosun.dev/daemonjob'] === 'ignore',
    );
    assert.equal(ignorePods.length, 2);
  });

  it('reports 2 failed nodes of 5 and completes the rest (Continue); FailFast starts no node after the first failure', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'fail');
    const nodes = await pool(t, client, ns, 5);
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'cont', {
        backoffLimit: 0,
        podAnnotations: { [FAIL_ON_NODES]: `${nodes[0]},${nodes[2]}` },
      }),
    );
    const cont = await waitPhase(client, ns, 'cont', 'Failed');
    assert.deepEqual(
      [cont.status.succeeded, cont.status.failed, cont.status.pending],
      [3, 2, 0],
      'the others completed',
    );
    assert.deepEqual(
      cont.status.failedNodes.map((f: { node: string }) => f.node).sort(),
      [nodes[0], nodes[2]].sort(),
    );
    assert.ok(cont.status.failedNodes.every((f: { reason: string }) => f.reason === 'BackoffLimitExceeded'));
    assert.equal(condition(cont, 'Failed').status, 'True');
    assert.match(condition(cont, 'Failed').message, /BackoffLimitExceeded/);

    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'fast', {
        backoffLimit: 0,
        maxParallel: 1,
        failurePolicy: 'FailFast',
        podLabels: { [FAIL_LABEL]: 'true' },
      }),
    );
    const fast = await waitPhase(client, ns, 'fast', 'Failed');
    assert.equal(fast.status.failed, 1);
    assert.equal(fast.status.pending, 4, 'no node started after the first failure');
    assert.equal(
      (await podsOf(client, ns)).filter((p) => p.metadata.labels?.['bosun.dev/daemonjob'] === 'fast').length,
      1,
    );
    assert.equal(condition(fast, 'Failed').reason, 'FailFast');
  });

  it('re-runs every node after a template change, rolling under maxParallel, without killing old pods', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'tmpl');
    await pool(t, client, ns, 4);
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'setup', { maxParallel: 2, podAnnotations: { [FINISH_AFTER]: '6s' } }),
    );
    await waitFor(async () => (await podsOf(client, ns)).length === 2, {
      what: 'two pods of the first template',
    });
    const first = (await get(client, ns, 'setup')).status?.templateHash;
    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'setup', { maxParallel: 2, podAnnotations: { [FINISH_AFTER]: '1s', version: '2' } }),
    );
    const oldPods = await podsOf(client, ns);
    const done = await waitFor(
      async () => {
        const d = await get(client, ns, 'setup');
        const pods = await podsOf(client, ns);
        const running = pods.filter((p) => !podSucceeded(p)).length;
        assert.ok(running <= 2, `${running} pods running at once`);
        return d.status?.phase === 'Complete' && d.status.templateHash !== first
          ? d
          : { pending: `${d.status?.phase} ${d.status?.templateHash}` };
      },
      { what: 'the second run to complete', timeoutMs: 90_000, intervalMs: 100 },
    );
    assert.equal(done.status.succeeded, 4);
    const pods = await podsOf(client, ns);
    for (const old of oldPods) {
      const now = pods.find((p) => p.metadata.name === old.metadata.name);
      assert.ok(now && podSucceeded(now), `old pod ${old.metadata.name} ran to completion, not killed`);
    }
    assert.equal(
      pods.filter((p) => p.metadata.labels?.['bosun.dev/template-hash'] === done.status.templateHash).length,
      4,
    );
  });

  it('does not re-run nodes whose pods were deleted after success (TTL or by hand)', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'ttl');
    await pool(t, client, ns, 3);
    const op = await startOperator(t, { namespaces: [ns] });
    await client.apply(DAEMONJOBS, daemonJob(ns, 'once', { ttlSecondsAfterFinished: 0 }));
    await waitPhase(client, ns, 'once', 'Complete');
    await waitFor(async () => (await podsOf(client, ns)).length === 0 || { pending: 'pods remain' }, {
      what: 'the TTL to delete every pod',
      timeoutMs: 60_000,
    });
    const reconciles = async () =>
      Number(
        /controller_runtime_reconcile_total\{controller="daemonjob",result="success"\} (\d+)/.exec(
          await op.metrics(),
        )?.[1] ?? 0,
      );
    const before = await reconciles();
    await client.mergePatch(DAEMONJOBS, ns, 'once', { metadata: { labels: { touched: 'yes' } } });
    await waitFor(async () => (await reconciles()) > before, { what: 'a reconcile after the pods went' });
    assert.equal((await podsOf(client, ns)).length, 0, 'nothing re-ran');
    assert.equal((await get(client, ns, 'once')).status.succeeded, 3);
  });

  it('does not let a node deleted mid-run block completion, and reports it', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'gone');
    const nodes = await pool(t, client, ns, 3);
    await startOperator(t, { namespaces: [ns] });
    await client.apply(DAEMONJOBS, daemonJob(ns, 'run', { podAnnotations: { [FINISH_AFTER]: '8s' } }));
    await waitFor(async () => (await get(client, ns, 'run')).status?.active === 3, {
      what: 'all three running',
    });
    await deleteNodes(client, [nodes[0] as string]);
    const done = await waitPhase(client, ns, 'run', 'Complete', 90_000);
    assert.equal(done.status.desired, 2);
    assert.equal(done.status.succeeded, 2);
    assert.deepEqual(done.status.failedNodes, [
      { node: nodes[0], reason: 'NodeDeleted', message: `node ${nodes[0]} was deleted while its pod ran` },
    ]);
    const reasons = (await eventsFor(client, ns, 'run')).map((e) => e.reason);
    assert.ok(reasons.includes('NodeDeleted'), reasons.join());
    assert.ok(
      !reasons.includes('NodeFailed'),
      `a deleted node is not also reported failed: ${reasons.join()}`,
    );
  });

  it('reports a node that is not Ready and waits for it instead of counting it done', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'notready');
    const [up] = await pool(t, client, ns, 1);
    // kwok plays node stages when it first sees a node: the annotation must be there at creation.
    const [spare] = await addNodes(client, 1);
    await deleteNodes(client, [spare as string]);
    const down = nodeManifest(nodeIndex(spare as string) + 1000);
    down.metadata.labels = { ...down.metadata.labels, pool: ns };
    down.metadata.annotations = { ...down.metadata.annotations, [NODE_NOT_READY]: 'true' };
    await client.create(Resources.nodes, down);
    const downName = down.metadata.name as string;
    t.after(() => deleteNodes(client, [downName]));
    await waitFor(
      async () =>
        (await client.get(Resources.nodes, undefined, downName)).status?.conditions?.some(
          (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'False',
        ),
      {
        what: `${downName} reporting Ready=False`,
      },
    );
    await startOperator(t, { namespaces: [ns] });
    await client.apply(DAEMONJOBS, daemonJob(ns, 'audit', {}));
    const waiting = await waitFor(
      async () => {
        const d = await get(client, ns, 'audit');
        return d.status?.succeeded === 1 ? d : { pending: JSON.stringify(d.status ?? {}) };
      },
      { what: 'the Ready node done' },
    );
    assert.equal(
      waiting.status.phase,
      'Running',
      `not Complete while a node is not Ready: ${JSON.stringify(waiting.status)}`,
    );
    assert.deepEqual(waiting.status.notReady, [downName]);
    assert.equal(waiting.status.pending, 1);
    assert.deepEqual(Object.keys(waiting.status.nodeResults), [up]);
    assert.deepEqual((await podsOf(client, ns)).map(nodeOf), [up], 'no pod on the node that is not Ready');

    await deleteNodes(client, [downName]);
    const done = await waitPhase(client, ns, 'audit', 'Complete');
    assert.deepEqual([done.status.desired, done.status.succeeded], [1, 1]);
  });

  it('labels each node that succeeded with labelNodes, and only those', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'label');
    const nodes = await pool(t, client, ns, 3);
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'audit', {
        labelNodes: true,
        backoffLimit: 0,
        podAnnotations: { [FAIL_ON_NODES]: nodes[0] as string },
      }),
    );
    const done = await waitPhase(client, ns, 'audit', 'Failed');
    const labelOf = async (node: string) =>
      (await client.get(Resources.nodes, undefined, node)).metadata.labels?.[
        `daemonjob.bosun.dev/${ns}.audit`
      ];
    await waitFor(
      async () => (await labelOf(nodes[2] as string)) === done.status.templateHash || { pending: 'no label' },
      { what: 'the result label on the nodes that succeeded' },
    );
    assert.equal(await labelOf(nodes[1] as string), done.status.templateHash);
    assert.equal(await labelOf(nodes[0] as string), undefined, 'the node that failed is not labelled');
  });

  it('is rejected by kubectl apply with a message saying what to fix', async (t) => {
    await installCrds();
    const ns = await testNamespace(t, 'reject');
    const apply = (o: KubeObject) => kubectlApply(o);
    assert.match(
      await apply(daemonJob(ns, 'a', { podSpec: { restartPolicy: 'Always' } })),
      /restartPolicy must be Never or OnFailure|supported values: "Never", "OnFailure"/,
    );
    const parallel = /maxParallel must be a positive integer or a percentage from 1% to 100%/;
    assert.match(await apply(daemonJob(ns, 'b', { maxParallel: 0 })), parallel);
    assert.match(await apply(daemonJob(ns, 'c', { maxParallel: '0%' })), parallel);
    assert.match(await apply(daemonJob(ns, 'd', { maxParallel: -2 })), parallel);
    assert.equal(
      await apply(daemonJob(ns, 'e', { maxParallel: '25%' })),
      '',
      'a valid DaemonJob is accepted',
    );
  });
});
