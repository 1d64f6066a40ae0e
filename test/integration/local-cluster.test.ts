// Smoke tests of the local control plane: each asserts a real outcome of the upstream components.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { rolloutState } from '../../src/controllers/deploymenthook/rollout.ts';
import { readState, restartComponent, up } from '../../src/dev/cluster.ts';
import { FAIL_EXIT_CODE, FAIL_LABEL, FAIL_REASON, READY_AFTER } from '../../src/dev/kwok-stages.ts';
import { addNodes, deleteNodes, isNodeReady, listSimulatedNodes } from '../../src/dev/nodes.ts';
import { ApiError, type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { TEST_NODES, testClient, testCluster, testNamespace } from '../support/cluster.ts';

const container = (image = 'registry.example/app:1') => ({ name: 'main', image });
const condition = (obj: KubeObject, type: string) =>
  (obj.status?.conditions ?? []).find((c: { type: string }) => c.type === type) as
    | { status: string }
    | undefined;

describe('local control plane', () => {
  it('starts once: a second `up` reuses the running cluster', async () => {
    const first = await testCluster();
    const again = await up({ nodes: TEST_NODES, log: () => {} });
    assert.equal(again.components['kube-apiserver'].pid, first.components['kube-apiserver'].pid);
    const client = await testClient();
    const version = await client.request<{ gitVersion: string }>('GET', '/version');
    assert.match(version.gitVersion, /^v1\.36\./);
    const nodes = await listSimulatedNodes(client);
    assert.ok(nodes.length >= TEST_NODES);
    assert.ok(nodes.every(isNodeReady), 'all nodes Ready');
    const kubectl = join(first.binDir, 'kubectl');
    const out = execFileSync(kubectl, ['--kubeconfig', first.kubeconfig, 'get', 'nodes', '-o', 'name'], {
      encoding: 'utf8',
    });
    assert.equal(out.trim().split('\n').length, nodes.length);
  });

  it('rolls out a Deployment, and a pod template change increments its revision', async (t) => {
    const ns = await testNamespace(t);
    const client = await testClient();
    const deployment = (image: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container(image)] } },
      },
    });
    const rolledOut = () =>
      waitFor(
        async () => {
          const d = await client.get(Resources.deployments, ns, 'web');
          const s = rolloutState(d);
          return s.phase === 'Complete' ? d : { pending: JSON.stringify(d.status) };
        },
        { what: 'the Deployment to roll out', timeoutMs: 60_000 },
      );
    await client.apply(Resources.deployments, deployment('app:1'));
    const first = await rolledOut();
    assert.equal(first.status.observedGeneration, first.metadata.generation);
    assert.equal(first.status.updatedReplicas, 2);
    assert.equal(first.status.availableReplicas, 2);
    assert.equal(first.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');

    await client.apply(Resources.deployments, deployment('app:2'));
    const second = await waitFor(
      async () => {
        const d = await rolledOut();
        return d.metadata.annotations?.['deployment.kubernetes.io/revision'] === '2'
          ? d
          : { pending: 'revision 1' };
      },
      { what: 'revision 2', timeoutMs: 60_000 },
    );
    assert.equal(second.spec.template.spec.containers[0].image, 'app:2');
  });

  it('completes a Job, and fails a Job whose pods are labelled to fail', async (t) => {
    const ns = await testNamespace(t);
    const client = await testClient();
    const job = (name: string, labels: Record<string, string>, annotations: Record<string, string> = {}) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: ns },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels, annotations },
          spec: { restartPolicy: 'Never', containers: [container()] },
        },
      },
    });
    await client.create(Resources.jobs, job('ok', {}));
    await client.create(
      Resources.jobs,
      job('bad', { [FAIL_LABEL]: 'true' }, { [FAIL_EXIT_CODE]: '3', [FAIL_REASON]: 'MigrationFailed' }),
    );
    const finished = (name: string, type: string) =>
      waitFor(
        async () => {
          const j = await client.get(Resources.jobs, ns, name);
          return condition(j, type)?.status === 'True' ? j : { pending: JSON.stringify(j.status) };
        },
        { what: `Job ${name} to be ${type}`, timeoutMs: 60_000 },
      );
    const ok = await finished('ok', 'Complete');
    assert.equal(ok.status.succeeded, 1);
    const bad = await finished('bad', 'Failed');
    assert.equal(bad.status.failed, 1);
    const pods = await client.list(Resources.pods, ns, { labelSelector: 'job-name=bad' });
    const terminated = pods.items[0]?.status.containerStatuses[0].state.terminated;
    assert.equal(terminated.exitCode, 3);
    assert.equal(terminated.reason, 'MigrationFailed');
  });

  it('places exactly one DaemonSet pod on each node, none on a tainted node', async (t) => {
    const ns = await testNamespace(t);
    const client = await testClient();
    const [tainted] = await addNodes(client, 1);
    assert.ok(tainted);
    t.after(() => deleteNodes(client, [tainted]));
    await client.mergePatch(Resources.nodes, undefined, tainted, {
      spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] },
    });
    await waitFor(async () => isNodeReady(await client.get(Resources.nodes, undefined, tainted)), {
      what: `${tainted} Ready`,
    });

    await client.create(Resources.daemonSets, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: ns },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [container()] } },
      },
    });
    const nodes = (await listSimulatedNodes(client)).map((n) => n.metadata.name);
    const untainted = nodes.filter((n) => n !== tainted);
    const ds = await waitFor(
      async () => {
        const d = await client.get(Resources.daemonSets, ns, 'agent');
        return d.status?.numberReady === untainted.length ? d : { pending: JSON.stringify(d.status) };
      },
      { what: 'the DaemonSet to be ready on every untainted node', timeoutMs: 60_000 },
    );
    assert.equal(ds.status.desiredNumberScheduled, untainted.length);
    const pods = await client.list(Resources.pods, ns, { labelSelector: 'app=agent' });
    const placed = pods.items.map((p) => p.spec.nodeName).sort();
    assert.deepEqual(placed, [...untainted].sort(), 'one pod per untainted node');
  });

  it('keeps a pod annotated to take 5s not Ready before that time', async (t) => {
    const ns = await testNamespace(t);
    const client = await testClient();
    const created = Date.now();
    await client.create(Resources.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'slow', namespace: ns, annotations: { [READY_AFTER]: '5s' } },
      spec: { containers: [container()] },
    });
    let seenNotReady = false;
    const readyAt = await waitFor(
      async () => {
        const p = await client.get(Resources.pods, ns, 'slow');
        if (condition(p, 'Ready')?.status === 'True') return Date.now();
        if (p.spec.nodeName) seenNotReady = true;
        return { pending: `phase ${p.status?.phase}` };
      },
      { what: 'the slow pod to become Ready', timeoutMs: 60_000, intervalMs: 100 },
    );
    assert.ok(seenNotReady, 'the pod was scheduled and seen not Ready');
    assert.ok(readyAt - created >= 5000, `Ready after ${readyAt - created}ms, expected at least 5000ms`);
  });

  it('rejects an object that breaks a CRD CEL rule, with the rule message', async (t) => {
    const client = await testClient();
    const group = 'smoke.bosun.dev';
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `widgets.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    properties: { min: { type: 'integer' }, max: { type: 'integer' } },
                    'x-kubernetes-validations': [
                      { rule: 'self.min <= self.max', message: 'min must not exceed max' },
                    ],
                  },
                },
              },
            },
          },
        ],
      },
    };
    await client.apply(Resources.crds, crd);
    t.after(() => client.delete(Resources.crds, undefined, crd.metadata.name));
    const ns = await testNamespace(t);
    const widgets = { group, version: 'v1', plural: 'widgets', namespaced: true };
    await waitFor(async () => (await client.list(widgets, ns)) && true, {
      what: 'the Widget CRD to be served',
    });
    await client.create(widgets, {
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name: 'ok', namespace: ns },
      spec: { min: 1, max: 2 },
    });
    const rejected = await client
      .create(widgets, {
        apiVersion: `${group}/v1`,
        kind: 'Widget',
        metadata: { name: 'bad', namespace: ns },
        spec: { min: 3, max: 2 },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(rejected instanceof ApiError, 'the bad object is rejected');
    assert.equal(rejected.code, 422);
    assert.match(rejected.message, /min must not exceed max/);
  });

  it('is usable again after kube-apiserver is killed and restarted', async (t) => {
    const ns = await testNamespace(t);
    const client = await testClient();
    const before = readState()?.components['kube-apiserver'].pid;
    await restartComponent('kube-apiserver');
    assert.notEqual(readState()?.components['kube-apiserver'].pid, before);
    const cm = await waitFor(
      async () =>
        (
          await client.createIfAbsent(Resources.configMaps, {
            metadata: { name: 'after-restart', namespace: ns },
            data: { ok: 'yes' },
          })
        ).object,
      { what: 'a write after the restart', timeoutMs: 60_000 },
    );
    assert.equal(cm.data.ok, 'yes');
    assert.ok((await listSimulatedNodes(client)).every(isNodeReady));
  });
});
