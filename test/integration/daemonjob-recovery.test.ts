// DaemonJob runs that must end or recover: a node that dies mid-run, a DaemonJob deleted and
// created again while the operator was away, a template Kubernetes rejects (validation, Pod Security).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DAEMONJOBS } from '../../src/controllers/daemonjob/controller.ts';
import { FINISH_AFTER, NODE_NOT_READY } from '../../src/dev/kwok-stages.ts';
import { type KubeClient, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { daemonJob, get, podsOf, pool, waitPhase } from '../support/daemonjob.ts';
import { condition } from '../support/deployments.ts';
import { eventsFor, getOrUndefined, startOperator } from '../support/operator.ts';

const readyStatus = async (client: KubeClient, node: string) =>
  (await client.get(Resources.nodes, undefined, node)).status?.conditions?.find(
    (c: { type: string }) => c.type === 'Ready',
  )?.status;

async function markNotReady(client: KubeClient, node: string) {
  const conditions = (await client.get(Resources.nodes, undefined, node)).status.conditions.map(
    (c: { type: string }) =>
      c.type === 'Ready'
        ? {
            ...c,
            status: 'False',
            reason: 'KubeletNotReady',
            message: 'test: the node went down',
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          }
        : c,
  );
  await client.mergePatch(Resources.nodes, undefined, node, { status: { conditions } }, 'status');
}

/** The operator's count of API requests with this method and status code. */
const requests = async (metrics: string, method: string, code: number) =>
  Number(
    new RegExp(`rest_client_requests_total\\{method="${method}",code="${code}"\\} (\\d+)`).exec(
      metrics,
    )?.[1] ?? 0,
  );
const reconciles = (metrics: string) =>
  Number(
    /controller_runtime_reconcile_total\{controller="daemonjob",result="success"\} (\d+)/.exec(
      metrics,
    )?.[1] ?? 0,
  );

describe('DaemonJob recovery', () => {
  it('ends the run when a node dies mid-run: listed in notReady, then failed with NodeNotReady and its pod deleted', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'djdown');
    const [node] = await pool(t, client, ns, 1);
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'audit', { notReadyTimeoutSeconds: 15, podAnnotations: { [FINISH_AFTER]: '10m' } }),
    );
    await waitFor(async () => (await get(client, ns, 'audit')).status?.active === 1, {
      what: 'the pod running',
    });

    // The node reports Ready=False, as a kubelet that went down would. The annotation keeps kwok
    // from making it Ready again (it plays its not-ready stage only on nodes created with it).
    await client.mergePatch(Resources.nodes, undefined, node as string, {
      metadata: { annotations: { [NODE_NOT_READY]: 'true' } },
    });
    await markNotReady(client, node as string);
    await waitFor(async () => (await readyStatus(client, node as string)) === 'False', {
      what: `${node} not Ready`,
    });
    const waiting = await waitFor(
      async () => {
        const d = await get(client, ns, 'audit');
        return d.status?.notReady?.includes(node) ? d : { pending: JSON.stringify(d.status) };
      },
      { what: 'the node listed in status.notReady' },
    );
    assert.equal(waiting.status.phase, 'Running', 'waited for until the timeout');

    const failed = await waitPhase(client, ns, 'audit', 'Failed', 60_000);
    assert.deepEqual(
      failed.status.failedNodes.map((f: { node: string; reason: string }) => [f.node, f.reason]),
      [[node, 'NodeNotReady']],
    );
    assert.equal(failed.status.nodeResults[node as string], 'Failed');
    assert.equal(failed.status.notReady, undefined, 'no longer waited for');
    assert.equal(condition(failed, 'Failed').status, 'True');
    await waitFor(async () => (await podsOf(client, ns)).length === 0 || { pending: 'the pod remains' }, {
      what: 'the pod on the dead node deleted',
    });
    const reasons = (await eventsFor(client, ns, 'audit')).map((e) => e.reason);
    assert.ok(reasons.includes('NodeNotReady'), reasons.join());
  });

  it('releases the pods of a DaemonJob deleted and created again under the same name while the operator was away', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'djagain');
    await pool(t, client, ns, 2);
    const first = await startOperator(t, { namespaces: [ns] });
    const manifest = daemonJob(ns, 'setup', { podAnnotations: { [FINISH_AFTER]: '3s' } });
    await client.apply(DAEMONJOBS, manifest);
    const oldUid = (await get(client, ns, 'setup')).metadata.uid;
    await waitFor(async () => (await podsOf(client, ns)).length === 2, { what: 'two pods' });
    await first.kill('SIGKILL');

    // Gone and back before any reconcile: the old pods keep their result finalizer.
    await client.delete(DAEMONJOBS, ns, 'setup', 'Background');
    await waitFor(async () => !(await getOrUndefined(client, DAEMONJOBS, ns, 'setup')), {
      what: 'the DaemonJob deleted',
    });
    await client.apply(DAEMONJOBS, manifest);
    const newUid = (await get(client, ns, 'setup')).metadata.uid;
    assert.notEqual(newUid, oldUid);

    await startOperator(t, { namespaces: [ns] });
    await waitFor(
      async () => {
        const old = (await podsOf(client, ns)).filter((p) => p.metadata.ownerReferences?.[0]?.uid === oldUid);
        return (
          old.length === 0 || {
            pending: old.map((p) => `${p.metadata.name} ${p.metadata.finalizers}`).join(),
          }
        );
      },
      { what: 'the old pods released and garbage collected', timeoutMs: 60_000 },
    );
    // A result counts only from a pod of this DaemonJob's uid (the plan's unit rows), so these are
    // the new run's own. Counted from the status rather than live pods: kwok deletes a terminating
    // pod by name, without the uid precondition a kubelet sends, and its second, late delete of an
    // old pod can take the new run's pod of the same name once it finished (seen under CI load).
    const done = await waitPhase(client, ns, 'setup', 'Complete');
    assert.equal(done.status.succeeded, 2);
    assert.deepEqual(Object.values(done.status.nodeResults), ['Succeeded', 'Succeeded']);
    const pods = await podsOf(client, ns);
    assert.ok(
      pods.every((p) => p.metadata.ownerReferences?.[0]?.uid === newUid),
      'only the new run has pods',
    );
  });

  it('reports a template Kubernetes rejects as a condition and an Event, and does not retry it on every event', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'djbad');
    const nodes = await pool(t, client, ns, 2);
    const op = await startOperator(t, { namespaces: [ns] });
    await client.apply(
      DAEMONJOBS,
      daemonJob(ns, 'bad', { podSpec: { containers: [{ name: 'Bad_Name', image: 'x' }] } }),
    );
    const rejected = await waitFor(
      async () => {
        const d = await get(client, ns, 'bad');
        return condition(d, 'Failed')?.reason === 'InvalidTemplate'
          ? d
          : { pending: JSON.stringify(d.status) };
      },
      { what: 'the InvalidTemplate condition' },
    );
    assert.equal(rejected.status.phase, 'Failed');
    assert.equal(condition(rejected, 'Failed').status, 'True');
    assert.match(condition(rejected, 'Failed').message, /Kubernetes rejected the per-node pod: .*Bad_Name/);
    // The Event is recorded right after the status write.
    await waitFor(
      async () =>
        (await eventsFor(client, ns, 'bad')).some(
          (e) => e.reason === 'InvalidTemplate' && e.type === 'Warning',
        ) || {
          pending: 'no InvalidTemplate Event',
        },
      { what: 'a Warning Event' },
    );

    // Events that make it reconcile again: node changes and a metadata change (same generation).
    const before = await op.metrics();
    for (const [i, node] of nodes.entries())
      await client.mergePatch(Resources.nodes, undefined, node, {
        metadata: { labels: { round: String(i) } },
      });
    await client.mergePatch(DAEMONJOBS, ns, 'bad', { metadata: { labels: { touched: 'yes' } } });
    await waitFor(
      async () => reconciles(await op.metrics()) >= reconciles(before) + 3 || { pending: 'reconciles' },
      {
        what: 'three more reconciles',
      },
    );
    const after = await op.metrics();
    assert.equal(
      await requests(after, 'POST', 422),
      await requests(before, 'POST', 422),
      'no new create attempt for a template already rejected',
    );
    assert.equal((await podsOf(client, ns)).length, 0);

    // A new generation tries again (and is rejected again, once).
    await client.mergePatch(DAEMONJOBS, ns, 'bad', { spec: { maxParallel: 1 } });
    await waitFor(
      async () => {
        const d = await get(client, ns, 'bad');
        return (
          condition(d, 'Failed')?.observedGeneration === d.metadata.generation || {
            pending: 'new generation',
          }
        );
      },
      { what: 'the rejection reported for the new generation' },
    );
    assert.ok((await requests(await op.metrics(), 'POST', 422)) > (await requests(after, 'POST', 422)));
  });

  it('reports a pod Pod Security admission forbids (403) as a rejected template, not an error retried forever', async (t) => {
    const client = await testClient();
    const ns = await testNamespace(t, 'djpsa');
    await client.mergePatch(Resources.namespaces, undefined, ns, {
      metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
    await pool(t, client, ns, 2);
    const op = await startOperator(t, { namespaces: [ns] });
    await client.apply(DAEMONJOBS, daemonJob(ns, 'priv', {}));
    const rejected = await waitFor(
      async () => {
        const d = await get(client, ns, 'priv');
        return condition(d, 'Failed')?.reason === 'InvalidTemplate'
          ? d
          : { pending: JSON.stringify(d.status) };
      },
      { what: 'the InvalidTemplate condition', timeoutMs: 60_000 },
    );
    assert.equal(rejected.status.phase, 'Failed');
    assert.match(condition(rejected, 'Failed').message, /violates PodSecurity "restricted/);
    await waitFor(
      async () =>
        (await eventsFor(client, ns, 'priv')).some((e) => e.reason === 'InvalidTemplate') || {
          pending: 'no InvalidTemplate Event',
        },
      { what: 'a Warning Event' },
    );
    const before = await op.metrics();
    await client.mergePatch(DAEMONJOBS, ns, 'priv', { metadata: { labels: { touched: 'yes' } } });
    await waitFor(
      async () => reconciles(await op.metrics()) > reconciles(before) || { pending: 'a reconcile' },
      { what: 'a reconcile after a metadata change' },
    );
    assert.equal(
      await requests(await op.metrics(), 'POST', 403),
      await requests(before, 'POST', 403),
      'not created again',
    );
    assert.equal((await podsOf(client, ns)).length, 0);
  });
});
