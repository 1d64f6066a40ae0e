// Hooks on StatefulSets and DaemonSets, DocBot's selector form and bounded watching, on the local
// control plane (kwok runs the StatefulSet's and DaemonSet's pods and makes them Ready).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentRunStatus } from '../../src/api/deploymenthook.ts';
import { HOOKS } from '../../src/controllers/deploymenthook/controller.ts';
import { WORKLOAD_RESOURCES } from '../../src/controllers/deploymenthook/workloads.ts';
import { type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { TEST_NODES, testClient, testNamespace } from '../support/cluster.ts';
import { deployment, hook, hookJobs, waitHook } from '../support/deployments.ts';
import { eventsFor, startOperator } from '../support/operator.ts';

const template = {
  spec: { spec: { containers: [{ name: 'migrate', image: 'registry.example/migrate:1' }] } },
};
const entryOf = (h: KubeObject, kind: string, name: string): DeploymentRunStatus | undefined =>
  h.status?.deployments?.find((e: DeploymentRunStatus) => e.kind === kind && e.name === name);
const succeeded = (kind: string, name: string, revision?: string) => (h: KubeObject) => {
  const run = entryOf(h, kind, name)?.lastRun;
  return run?.phase === 'Succeeded' && (revision === undefined || run.revision === revision);
};
const envOf = (job: KubeObject) =>
  Object.fromEntries(
    job.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]),
  );

function podWorkload(kind: 'StatefulSet' | 'DaemonSet', namespace: string, name: string, image: string) {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace, labels },
    spec: {
      ...(kind === 'StatefulSet' ? { replicas: 2, serviceName: name } : {}),
      selector: { matchLabels: { 'test.bosun.dev/workload': name } },
      template: {
        metadata: { labels: { 'test.bosun.dev/workload': name } },
        spec: { containers: [{ name: 'main', image }] },
      },
    },
  };
}

describe('DeploymentHook kinds', () => {
  it('runs once per StatefulSet revision, apart from a Deployment of the same name, and again after a rollback to a revision that already ran', async (t) => {
    const ns = await testNamespace(t, 'sts');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    const sts = (image: string) => podWorkload('StatefulSet', ns, 'web', image);
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', {
        kinds: ['Deployment', 'StatefulSet'],
        selector: { matchLabels: { app: 'web' } },
        inheritImage: { containers: ['migrate'] },
        template,
      }),
    );
    // A hook that names no kinds sees Deployments only, as before.
    await client.apply(HOOKS, hook(ns, 'legacy', { selector: { matchLabels: { app: 'web' } }, template }));
    await client.apply(WORKLOAD_RESOURCES.StatefulSet, sts('registry.example/db:1'));
    await client.apply(Resources.deployments, deployment(ns, 'web'));

    const first = await waitHook(
      client,
      ns,
      'migrate',
      'the StatefulSet and the Deployment ran',
      (h) => succeeded('StatefulSet', 'web')(h) && succeeded('Deployment', 'web', '1')(h),
      120_000,
    );
    const live = await client.get(WORKLOAD_RESOURCES.StatefulSet, ns, 'web');
    const rev1 = live.status.updateRevision as string;
    assert.equal(entryOf(first, 'StatefulSet', 'web')?.lastRun?.revision, rev1);
    const stsJob = (await hookJobs(client, ns, 'migrate')).find((j) => envOf(j).BOSUN_KIND === 'StatefulSet');
    assert.ok(stsJob, 'a Job for the StatefulSet');
    assert.deepEqual(
      { ...envOf(stsJob), BOSUN_NAMESPACE: undefined },
      {
        BOSUN_HOOK: 'migrate',
        BOSUN_KIND: 'StatefulSet',
        BOSUN_DEPLOYMENT: 'web',
        BOSUN_WORKLOAD: 'web',
        BOSUN_REVISION: rev1,
        BOSUN_NAMESPACE: undefined,
      },
    );
    assert.equal(stsJob.spec.template.spec.containers[0].image, 'registry.example/db:1', 'inheritImage');
    const legacy = await waitHook(
      client,
      ns,
      'legacy',
      'the Deployment ran',
      succeeded('Deployment', 'web', '1'),
    );
    assert.equal(legacy.status.matched, 1, 'no StatefulSet for a hook without kinds');

    // A new template: a new revision, one more run. Back to the first template: the same
    // ControllerRevision comes back, and it runs again too (as a Deployment rollback would).
    await client.apply(WORKLOAD_RESOURCES.StatefulSet, sts('registry.example/db:2'));
    const second = await waitHook(
      client,
      ns,
      'migrate',
      'the second StatefulSet revision ran',
      (h) =>
        succeeded('StatefulSet', 'web')(h) && entryOf(h, 'StatefulSet', 'web')?.lastRun?.revision !== rev1,
      120_000,
    );
    const rev2 = entryOf(second, 'StatefulSet', 'web')?.lastRun?.revision;
    await client.apply(WORKLOAD_RESOURCES.StatefulSet, sts('registry.example/db:1'));
    await waitHook(
      client,
      ns,
      'migrate',
      'the rolled-back revision ran again',
      (h) =>
        succeeded('StatefulSet', 'web', rev1)(h) &&
        entryOf(h, 'StatefulSet', 'web')?.lastRun?.jobName !== stsJob.metadata.name,
      120_000,
    );
    const stsJobs = (await hookJobs(client, ns, 'migrate')).filter(
      (j) => envOf(j).BOSUN_KIND === 'StatefulSet',
    );
    assert.deepEqual(
      stsJobs.map((j) => envOf(j).BOSUN_REVISION),
      [rev1, rev2, rev1],
      'one Job per completed rollout',
    );
    const stsEvents = await eventsFor(client, ns, 'web');
    assert.ok(
      stsEvents.some((e) => e.reason === 'HookSucceeded' && e.regarding?.kind === 'StatefulSet'),
      'HookSucceeded is recorded on the StatefulSet',
    );
  });

  it('waits for a partitioned StatefulSet rollout to reach every pod', async (t) => {
    const ns = await testNamespace(t, 'partition');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    const sts = (image: string, partition: number) => {
      const o = podWorkload('StatefulSet', ns, 'db', image);
      return {
        ...o,
        spec: { ...o.spec, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition } } },
      };
    };
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', { kinds: ['StatefulSet'], selector: { matchLabels: { app: 'db' } }, template }),
    );
    await client.apply(WORKLOAD_RESOURCES.StatefulSet, sts('registry.example/db:1', 0));
    await waitHook(client, ns, 'migrate', 'the first revision ran', succeeded('StatefulSet', 'db'), 120_000);

    // Only the pod at or above ordinal 1 updates: kubectl calls this finished, the hook waits.
    const rev1 = entryOf(await client.get(HOOKS, ns, 'migrate'), 'StatefulSet', 'db')?.revision;
    await client.apply(WORKLOAD_RESOURCES.StatefulSet, sts('registry.example/db:2', 1));
    await waitFor(
      async () => {
        const s = (await client.get(WORKLOAD_RESOURCES.StatefulSet, ns, 'db')).status ?? {};
        return s.updateRevision !== s.currentRevision && s.updatedReplicas === 1 && s.readyReplicas === 2;
      },
      { what: 'the partitioned step to finish (pod 1 updated, both ready)', timeoutMs: 120_000 },
    );
    const partial = await waitHook(
      client,
      ns,
      'migrate',
      'the hook to see the partitioned revision as still rolling out',
      (h) => {
        const e = entryOf(h, 'StatefulSet', 'db');
        return !!e && e.revision !== rev1 && e.rollout === 'Progressing';
      },
      120_000,
    );
    const rev2 = entryOf(partial, 'StatefulSet', 'db')?.revision;
    assert.equal(
      (await hookJobs(client, ns, 'migrate')).length,
      1,
      'no Job while pod 0 runs the old revision',
    );

    await client.mergePatch(WORKLOAD_RESOURCES.StatefulSet, ns, 'db', {
      spec: { updateStrategy: { rollingUpdate: { partition: 0 } } },
    });
    await waitHook(
      client,
      ns,
      'migrate',
      'the revision ran once everywhere',
      succeeded('StatefulSet', 'db', rev2),
      120_000,
    );
    assert.equal((await hookJobs(client, ns, 'migrate')).length, 2);
  });

  it('runs once per DaemonSet template generation, after every node runs it', async (t) => {
    const ns = await testNamespace(t, 'ds');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    const ds = (image: string) => podWorkload('DaemonSet', ns, 'agent', image);
    await client.apply(
      HOOKS,
      hook(ns, 'announce', { kinds: ['DaemonSet'], selector: { matchLabels: { app: 'agent' } }, template }),
    );
    await client.apply(WORKLOAD_RESOURCES.DaemonSet, ds('registry.example/agent:1'));
    await waitHook(client, ns, 'announce', 'generation 1 ran', succeeded('DaemonSet', 'agent', '1'), 120_000);
    const live = await client.get(WORKLOAD_RESOURCES.DaemonSet, ns, 'agent');
    assert.equal(
      live.status.numberAvailable,
      TEST_NODES,
      'it ran after the pods on every node were available',
    );

    await client.apply(WORKLOAD_RESOURCES.DaemonSet, ds('registry.example/agent:2'));
    await waitHook(client, ns, 'announce', 'generation 2 ran', succeeded('DaemonSet', 'agent', '2'), 120_000);
    // Scaling is no new revision for a DaemonSet either: a label on the object changes nothing.
    await client.mergePatch(WORKLOAD_RESOURCES.DaemonSet, ns, 'agent', {
      metadata: { labels: { extra: 'x' } },
    });
    await client.apply(WORKLOAD_RESOURCES.DaemonSet, ds('registry.example/agent:1'));
    await waitHook(
      client,
      ns,
      'announce',
      'a rollback is generation 3',
      succeeded('DaemonSet', 'agent', '3'),
      120_000,
    );
    const jobs = await hookJobs(client, ns, 'announce');
    assert.deepEqual(
      jobs.map((j) => [envOf(j).BOSUN_KIND, envOf(j).BOSUN_REVISION]),
      [
        ['DaemonSet', '1'],
        ['DaemonSet', '2'],
        ['DaemonSet', '3'],
      ],
    );
  });

  it("applies DocBot's README manifests with selector.labels (our fixtures) and runs them", async (t) => {
    const ns = await testNamespace(t, 'docbot');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    await client.apply(Resources.podTemplates, {
      apiVersion: 'v1',
      kind: 'PodTemplate',
      metadata: { name: 'nginx-pod-template', namespace: ns },
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'nginx', image: 'nginx:1.14.2' }] } },
    });
    await client.apply(
      HOOKS,
      hook(ns, 'run-app-migrations', {
        selector: { labels: { app: 'nginx' } },
        template: { name: 'nginx-pod-template' },
      }),
    );
    await client.apply(Resources.deployments, deployment(ns, 'nginx', { labels: { app: 'nginx' } }));
    await client.apply(Resources.deployments, deployment(ns, 'other', { labels: { app: 'other' } }));
    const done = await waitHook(
      client,
      ns,
      'run-app-migrations',
      'nginx ran',
      succeeded('Deployment', 'nginx', '1'),
    );
    assert.equal(done.status.matched, 1);
  });

  it('with --hook-opt-in-label, sees only workloads with the label and says which ones it cannot see', async (t) => {
    const ns = await testNamespace(t, 'optin');
    const client = await testClient();
    const label = 'apps.mx.com/deploymenthook';
    await startOperator(t, { namespaces: [ns], args: [`--hook-opt-in-label=${label}`] });
    await client.apply(
      Resources.deployments,
      deployment(ns, 'in', { labels: { app: 'shop', [label]: 'finished' } }),
    );
    await client.apply(Resources.deployments, deployment(ns, 'out', { labels: { app: 'shop' } }));
    await client.apply(HOOKS, hook(ns, 'migrate', { selector: { labels: { app: 'shop' } }, template }));
    const h = await waitHook(
      client,
      ns,
      'migrate',
      'the labelled Deployment ran',
      succeeded('Deployment', 'in', '1'),
    );
    assert.equal(h.status.matched, 1, 'the unlabelled Deployment is not seen');
    const warning = await waitFor(
      async () =>
        (await eventsFor(client, ns, 'migrate')).find((e) => e.reason === 'NotOptedIn') ?? {
          pending: 'no NotOptedIn event',
        },
      { what: 'a NotOptedIn Warning on the hook' },
    );
    assert.equal(warning.type, 'Warning');
    assert.match(warning.note, /Deployment\/out .* lack the label apps\.mx\.com\/deploymenthook/);
    assert.deepEqual(
      (await hookJobs(client, ns, 'migrate')).map((j) => envOf(j).BOSUN_WORKLOAD),
      ['in'],
    );
  });
});
