// DaemonJob cordon and drain on the local control plane: kwok nodes are cordoned, their pods evicted
// through the Eviction API (the API server enforcing a PodDisruptionBudget), the per-node pod runs on
// the emptied node and the node is uncordoned; a node that fails stays cordoned and reported.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DAEMONJOBS } from '../../src/controllers/daemonjob/controller.ts';
import { cordonNode, markLeftCordoned, uncordonNode } from '../../src/controllers/daemonjob/node-cordon.ts';
import { FAIL_ON_NODES, FINISH_AFTER, READY_AFTER } from '../../src/dev/kwok-stages.ts';
import { type KubeClient, type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { daemonJob, get, nodeOf, pool, waitPhase } from '../support/daemonjob.ts';
import { eventsFor, startOperator } from '../support/operator.ts';

const PDBS = { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', namespaced: true };
const BY = 'daemonjob.bosun.dev/cordoned-by';
const LEFT = 'daemonjob.bosun.dev/left-cordoned';

const nodesOf = async (client: KubeClient, names: string[]) => {
  const all = (await client.list(Resources.nodes)).items;
  return names.map((n) => all.find((o) => o.metadata.name === n) as KubeObject);
};
const unschedulable = (n: KubeObject) => n.spec?.unschedulable === true;

/** Samples `check` every 200 ms until `stop` is called; resolves with every failure it saw. */
function sample(check: () => Promise<string | undefined>) {
  const failures: string[] = [];
  let samples = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const failure = await check();
      samples++;
      if (failure) failures.push(failure);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return async () => {
    running = false;
    await done;
    return { failures, samples };
  };
}

function webDeployment(ns: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        // Replacements take 3 s to be Ready: the second eviction meets the budget's refusal.
        metadata: { labels: { app: 'web' }, annotations: { [READY_AFTER]: '3s' } },
        spec: {
          nodeSelector: { pool: ns },
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: 'web-ok', operator: 'Exists' }] }],
              },
            },
          },
          containers: [{ name: 'web', image: 'registry.example/web:1' }],
        },
      },
    },
  };
}

const isReadyPod = (p: KubeObject) =>
  !p.metadata.deletionTimestamp &&
  (p.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
  );

describe('DaemonJob cordon and drain', () => {
  it('drains one node at a time through the Eviction API within a PodDisruptionBudget, then uncordons it', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'drain');
    const nodes = (await pool(t, client, ns, 4)).sort(); // the order the DaemonJob takes them in
    const [first, , , person] = nodes as [string, string, string, string];
    // A node someone cordoned before the run: used as it is, and left cordoned.
    await client.mergePatch(Resources.nodes, undefined, person, { spec: { unschedulable: true } });
    // Both web pods on the first node; the other two take the replacements.
    await client.mergePatch(Resources.nodes, undefined, first, { metadata: { labels: { 'web-ok': 'yes' } } });
    await client.create(Resources.deployments, webDeployment(ns));
    await client.create(PDBS, {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web', namespace: ns },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } },
    });
    await waitFor(
      async () => {
        const pdb = await client.get(PDBS, ns, 'web');
        return pdb.status?.currentHealthy === 2 && pdb.status.disruptionsAllowed === 1
          ? pdb
          : { pending: JSON.stringify(pdb.status ?? {}) };
      },
      { what: 'two healthy web pods under the budget', timeoutMs: 60_000 },
    );
    for (const n of nodes.slice(1, 3))
      await client.mergePatch(Resources.nodes, undefined, n, { metadata: { labels: { 'web-ok': 'yes' } } });

    const op = await startOperator(t, { namespaces: [ns] });
    const stop = sample(async () => {
      const [pods, poolNodes] = await Promise.all([
        client.list(Resources.pods, ns).then((l) => l.items),
        nodesOf(client, nodes),
      ]);
      const web = pods.filter((p) => p.metadata.labels?.app === 'web');
      if (web.filter(isReadyPod).length < 1) return 'the budget was broken: no web pod Ready';
      const cordoned = poolNodes.filter((n) => n.metadata.annotations?.[BY] === `${ns}.maint`);
      if (cordoned.length > 1) return `maxParallel 1 but cordoned: ${cordoned.map((n) => n.metadata.name)}`;
      const running = (p: KubeObject) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
      for (const p of pods.filter((p) => p.metadata.labels?.['bosun.dev/daemonjob'] && running(p))) {
        const onIt = web.filter((w) => w.spec?.nodeName === nodeOf(p));
        if (onIt.length) return `per-node pod ${p.metadata.name} exists while web pods are on its node`;
      }
      return undefined;
    });
    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'maint', {
        drain: { ignoreDaemonSets: true, timeoutSeconds: 120 },
        podAnnotations: { [FINISH_AFTER]: '1s' },
      }),
    );
    const done = await waitPhase(client, ns, 'maint', 'Complete', 180_000);
    const { failures, samples } = await stop();
    assert.deepEqual(failures, [], `${failures.length} of ${samples} samples broke a rule`);
    assert.equal(done.status.succeeded, 4);
    assert.equal(done.status.draining, undefined);
    assert.equal(done.status.cordonedNodes, undefined);

    const after = await waitFor(
      async () => {
        const all = await nodesOf(client, nodes);
        return all.slice(0, 3).some((n) => unschedulable(n) || n.metadata.annotations?.[BY])
          ? { pending: 'uncordons' }
          : all;
      },
      { what: 'the nodes the DaemonJob cordoned uncordoned' },
    );
    assert.ok(unschedulable(after[3] as KubeObject), 'the node a person cordoned stays cordoned');
    // The budget refused at least one eviction, which was retried.
    const metrics = await op.metrics();
    const count = (result: string) =>
      Number(
        metrics.match(new RegExp(`bosun_daemonjob_evictions_total\\{result="${result}"\\} (\\d+)`))?.[1] ?? 0,
      );
    assert.ok(
      count('blocked') >= 1,
      `a PodDisruptionBudget refusal (429) was seen and retried:\n${metrics.match(/bosun_daemonjob_evictions.*/g)}`,
    );
    assert.ok(count('evicted') >= 2, 'both web pods were evicted from the first node');
    const reasons = (await eventsFor(client, ns, 'maint')).map((e) => e.reason);
    assert.ok(reasons.includes('EvictionBlocked'), `events: ${reasons}`);
    assert.ok(reasons.includes('NodeUncordoned'));
    // The last node's evicted pod may still be starting elsewhere when the run completes.
    await waitFor(
      async () => {
        const web = (await client.list(Resources.pods, ns, { labelSelector: 'app=web' })).items;
        const ready = web.filter(isReadyPod).length;
        return ready === 2 ? ready : { pending: `${ready} of 2 web pods Ready` };
      },
      { what: 'the Deployment whole again', timeoutMs: 60_000 },
    );
  });

  it('a node whose pod fails stays cordoned and reported; uncordoning it frees its slot', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'cordonfail');
    const nodes = (await pool(t, client, ns, 3)).sort();
    const bad = nodes[0] as string;
    await startOperator(t, { namespaces: [ns] });
    const stop = sample(async () => {
      const cordoned = (await nodesOf(client, nodes)).filter(
        (n) => n.metadata.annotations?.[BY] === `${ns}.fix`,
      );
      return cordoned.length > 2
        ? `maxParallel 2 but cordoned: ${cordoned.map((n) => n.metadata.name)}`
        : undefined;
    });
    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'fix', {
        cordon: true,
        maxParallel: 2,
        backoffLimit: 0,
        podAnnotations: { [FINISH_AFTER]: '1s', [FAIL_ON_NODES]: bad },
      }),
    );
    const failed = await waitPhase(client, ns, 'fix', 'Failed', 120_000);
    const { failures, samples } = await stop();
    assert.deepEqual(failures, [], `${failures.length} of ${samples} samples broke maxParallel`);
    assert.deepEqual(failed.status.cordonedNodes, [bad]);
    assert.deepEqual([failed.status.succeeded, failed.status.failed], [2, 1]);
    const marked = await waitFor(
      async () => {
        const [n] = await nodesOf(client, [bad]);
        return n?.metadata.annotations?.[LEFT] ? n : { pending: JSON.stringify(n?.metadata.annotations) };
      },
      { what: `${bad} marked as left cordoned` },
    );
    assert.ok(unschedulable(marked));
    assert.equal(marked.metadata.annotations?.[BY], `${ns}.fix`);
    assert.equal(marked.metadata.annotations?.[LEFT], 'BackoffLimitExceeded');
    const others = await waitFor(
      async () => {
        const all = await nodesOf(client, nodes.slice(1));
        return all.some(unschedulable) ? { pending: 'uncordons' } : all;
      },
      { what: 'the nodes that succeeded uncordoned' },
    );
    assert.equal(others.length, 2);
    const warnings = (await eventsFor(client, ns, 'fix')).filter((e) => e.reason === 'NodeLeftCordoned');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]?.note, new RegExp(`kubectl uncordon ${bad}`));

    // kubectl uncordon: Bosun drops its marks and the status stops listing the node.
    await client.mergePatch(Resources.nodes, undefined, bad, { spec: { unschedulable: false } });
    await waitFor(
      async () => {
        const [[n], dj] = await Promise.all([nodesOf(client, [bad]), get(client, ns, 'fix')]);
        return !n?.metadata.annotations?.[BY] && !n?.metadata.annotations?.[LEFT] && !dj.status.cordonedNodes
          ? true
          : { pending: `${JSON.stringify(n?.metadata.annotations)} ${dj.status.cordonedNodes}` };
      },
      { what: 'the marks dropped after a person uncordoned the node' },
    );
  });

  it('a restarted operator continues a held drain from the cordoned node, then finishes the run', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'drainrestart');
    const nodes = (await pool(t, client, ns, 2)).sort();
    const first = nodes[0] as string;
    await client.create(Resources.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bare', namespace: ns },
      spec: { nodeName: first, containers: [{ name: 'c', image: 'c' }] },
    });
    const op = await startOperator(t, { namespaces: [ns] });
    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'upgrade', { drain: {}, podAnnotations: { [FINISH_AFTER]: '1s' } }),
    );
    const held = await waitFor(
      async () => {
        const [n] = await nodesOf(client, [first]);
        const dj = await get(client, ns, 'upgrade');
        return n && unschedulable(n) && dj.status?.draining?.[first]
          ? dj
          : { pending: JSON.stringify(dj.status) };
      },
      { what: `${first} cordoned and held by the bare pod` },
    );
    await op.kill('SIGKILL');
    await startOperator(t, { namespaces: [ns] });
    // The pod that held the drain goes; the new operator carries on with the drain it finds.
    await client.delete(Resources.pods, ns, 'bare');
    const done = await waitPhase(client, ns, 'upgrade', 'Complete', 90_000);
    assert.equal(done.status.succeeded, 2);
    const started = (await client.list(Resources.pods, ns, { labelSelector: 'bosun.dev/daemonjob' })).items;
    assert.equal(started.length, 2, 'one per-node pod per node, none twice');
    const firstPod = started.find((p) => nodeOf(p) === first) as KubeObject;
    assert.ok(
      Date.parse(firstPod.metadata.creationTimestamp as string) >= Date.parse(held.status.draining[first]),
      'the per-node pod started after the drain',
    );
    await waitFor(
      async () => {
        const all = await nodesOf(client, nodes);
        return all.some((n) => unschedulable(n) || n.metadata.annotations?.[BY])
          ? { pending: 'uncordons' }
          : true;
      },
      { what: 'both nodes uncordoned' },
    );
  });

  it('a drain held by a pod without a controller warns; deleting the DaemonJob uncordons the node', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'drainheld');
    const [only] = await pool(t, client, ns, 1);
    await client.create(Resources.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bare', namespace: ns },
      spec: { nodeName: only, containers: [{ name: 'c', image: 'c' }] },
    });
    await startOperator(t, { namespaces: [ns] });
    await client.apply(DAEMONJOBS, daemonJob(ns, 'held', { drain: {} }));
    await waitFor(
      async () => {
        const reasons = (await eventsFor(client, ns, 'held')).map((e) => e.reason);
        const dj = await get(client, ns, 'held');
        return reasons.includes('DrainRefused') && dj.status?.draining?.[only as string]
          ? true
          : { pending: `${reasons} ${JSON.stringify(dj.status)}` };
      },
      { what: 'DrainRefused for the bare pod' },
    );
    const [cordoned] = await nodesOf(client, [only as string]);
    assert.ok(cordoned && unschedulable(cordoned));
    assert.equal((await client.get(Resources.pods, ns, 'bare')).metadata.deletionTimestamp, undefined);
    await client.delete(DAEMONJOBS, ns, 'held');
    await waitFor(
      async () => {
        const [n] = await nodesOf(client, [only as string]);
        return n && !unschedulable(n) && !n.metadata.annotations?.[BY]
          ? n
          : { pending: JSON.stringify(n?.spec) };
      },
      { what: 'the node uncordoned after the DaemonJob was deleted' },
    );
  });

  it('fails a node whose drain outlasts drain.timeoutSeconds (DrainTimeout); it stays cordoned when the DaemonJob goes', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'draintimeout');
    const [only] = (await pool(t, client, ns, 1)) as [string];
    await client.create(Resources.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bare', namespace: ns },
      spec: { nodeName: only, containers: [{ name: 'c', image: 'c' }] },
    });
    const op = await startOperator(t, { namespaces: [ns] });
    await client.apply(DAEMONJOBS, daemonJob(ns, 'slow', { drain: { timeoutSeconds: 3 } }));
    const failed = await waitPhase(client, ns, 'slow', 'Failed', 60_000);
    assert.equal(failed.status.failedNodes[0].reason, 'DrainTimeout');
    assert.match(failed.status.failedNodes[0].message, /bare \(no controller/);
    assert.deepEqual(failed.status.cordonedNodes, [only]);
    await waitFor(
      async () => {
        const [n] = await nodesOf(client, [only]);
        return n?.metadata.annotations?.[LEFT] === 'DrainTimeout'
          ? n
          : { pending: JSON.stringify(n?.metadata) };
      },
      { what: `${only} marked left cordoned (DrainTimeout)` },
    );
    await client.delete(DAEMONJOBS, ns, 'slow');
    await waitFor(
      async () =>
        op.logs.some((l) => l.msg === 'DaemonJob deleted; its failed nodes stay cordoned') || {
          pending: 'log',
        },
      { what: 'the operator to see the DaemonJob go' },
    );
    const [n] = await nodesOf(client, [only]);
    assert.ok(n && unschedulable(n), 'a failed node stays cordoned');
    assert.equal(n?.metadata.annotations?.[BY], `${ns}.slow`);
  });
  it('node patches read from a node changed since report stale and change nothing, so the reconcile tries again', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'drainstale');
    const [only] = (await pool(t, client, ns, 1)) as [string];
    const read = await client.get(Resources.nodes, undefined, only);
    await client.mergePatch(Resources.nodes, undefined, only, { metadata: { labels: { touched: 'yes' } } });
    const results = [
      await cordonNode(client, read, `${ns}.dj`),
      await markLeftCordoned(client, read, 'Error'),
      await uncordonNode(client, read),
    ];
    assert.deepEqual(results, ['stale', 'stale', 'stale']);
    const [n] = await nodesOf(client, [only]);
    assert.ok(n && !unschedulable(n) && !n.metadata.annotations?.[BY] && !n.metadata.annotations?.[LEFT]);
    // Read afresh, the patches land, as the reconcile's retry does: kwok's own node updates can
    // still come between a read and a patch, so each is retried from a new read until it does.
    const landed = (patch: (node: KubeObject) => Promise<string>, what: string) =>
      waitFor(
        async () => {
          const [fresh] = await nodesOf(client, [only]);
          const result = await patch(fresh as KubeObject);
          return result === 'done' ? result : { pending: result };
        },
        { what, timeoutMs: 30_000 },
      );
    await landed((node) => cordonNode(client, node, `${ns}.dj`), 'the cordon from a fresh read');
    const [cordoned] = await nodesOf(client, [only]);
    assert.ok(cordoned && unschedulable(cordoned));
    await landed((node) => uncordonNode(client, node), 'the uncordon from a fresh read');
  });
});
