// DeploymentHook behaviour on the local control plane, with `bosun run` as a real process.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DeploymentRunStatus } from '../../src/api/deploymenthook.ts';
import { HOOKS } from '../../src/controllers/deploymenthook/controller.ts';
import { FAIL_LABEL, FAIL_REASON, READY_AFTER } from '../../src/dev/kwok-stages.ts';
import { type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testClient, testCluster, testNamespace } from '../support/cluster.ts';
import { condition, deployment, hook, hookJobs, waitHook, waitRolledOut } from '../support/deployments.ts';
import { eventsFor, getOrUndefined, installCrds, kubectlApply, startOperator } from '../support/operator.ts';

const migrate = { name: 'migrate', image: 'registry.example/migrate:1', command: ['migrate', 'up'] };
const inline = (extra: Record<string, unknown> = {}) => ({
  spec: { spec: { containers: [migrate] }, ...extra },
});
const succeededFor =
  (revision: string, d = 'web') =>
  (h: KubeObject) =>
    !!h.status?.deployments?.some(
      (e: DeploymentRunStatus) =>
        e.name === d && e.lastRun?.revision === revision && e.lastRun.phase === 'Succeeded',
    );

describe('DeploymentHook', () => {
  it("runs DocBot's two manifests, by PodTemplate name and inline: one Job per rollout, built from that template", async (t) => {
    const ns = await testNamespace(t, 'docbot');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    await client.create(Resources.podTemplates, {
      apiVersion: 'v1',
      kind: 'PodTemplate',
      metadata: { name: 'nginx-pod-template', namespace: ns },
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            { name: 'nginx', image: 'nginx:1.14.2', command: ['sh', '-c', 'echo Doing some work'] },
          ],
        },
      },
    });
    await client.apply(
      HOOKS,
      hook(ns, 'run-app-migrations', {
        selector: { matchLabels: { app: 'nginx' } },
        template: { name: 'nginx-pod-template' },
      }),
    );
    await client.apply(
      HOOKS,
      hook(ns, 'run-app-migrations-inline', {
        selector: { matchLabels: { app: 'nginx' } },
        template: inline(),
      }),
    );
    await client.apply(
      Resources.deployments,
      deployment(ns, 'nginx', { labels: { app: 'nginx' }, replicas: 2 }),
    );
    await waitRolledOut(client, ns, 'nginx', '1');
    await waitHook(client, ns, 'run-app-migrations', 'succeeded for revision 1', succeededFor('1', 'nginx'));
    await waitHook(
      client,
      ns,
      'run-app-migrations-inline',
      'succeeded for revision 1',
      succeededFor('1', 'nginx'),
    );

    await client.apply(
      Resources.deployments,
      deployment(ns, 'nginx', { labels: { app: 'nginx' }, replicas: 2, image: 'nginx:1.15' }),
    );
    await waitRolledOut(client, ns, 'nginx', '2');
    await waitHook(client, ns, 'run-app-migrations', 'succeeded for revision 2', succeededFor('2', 'nginx'));
    await waitHook(
      client,
      ns,
      'run-app-migrations-inline',
      'succeeded for revision 2',
      succeededFor('2', 'nginx'),
    );

    const byName = await hookJobs(client, ns, 'run-app-migrations');
    assert.deepEqual(
      byName.map((j) => j.metadata.labels?.['bosun.dev/revision']),
      ['1', '2'],
      'one Job per rollout',
    );
    const pod = byName[0]?.spec.template.spec;
    assert.equal(pod.containers[0].image, 'nginx:1.14.2', 'built from the PodTemplate');
    assert.deepEqual(pod.containers[0].command, ['sh', '-c', 'echo Doing some work']);
    const env = Object.fromEntries(
      pod.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    assert.deepEqual(env, {
      BOSUN_HOOK: 'run-app-migrations',
      BOSUN_KIND: 'Deployment',
      BOSUN_DEPLOYMENT: 'nginx',
      BOSUN_WORKLOAD: 'nginx',
      BOSUN_REVISION: '1',
      BOSUN_NAMESPACE: ns,
    });
    assert.equal(byName[0]?.spec.template.metadata.labels['bosun.dev/deployment'], 'nginx');
    const inlineJobs = await hookJobs(client, ns, 'run-app-migrations-inline');
    assert.equal(inlineJobs.length, 2);
    assert.equal(
      inlineJobs[0]?.spec.template.spec.containers[0].image,
      'registry.example/migrate:1',
      'built from the inline template',
    );
  });

  it('never runs early: no Job while pods are still becoming ready, one right after the rollout completes', async (t) => {
    const ns = await testNamespace(t, 'early');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', { selector: { matchLabels: { app: 'web' } }, template: inline() }),
    );
    await client.apply(
      Resources.deployments,
      deployment(ns, 'web', { replicas: 2, podAnnotations: { [READY_AFTER]: '10s' } }),
    );
    const started = Date.now();
    let completedAt = 0;
    // Watch continuously: while the rollout is incomplete, no hook Job may exist.
    await waitFor(
      async () => {
        const d = await client.get(Resources.deployments, ns, 'web');
        const jobs = await hookJobs(client, ns);
        const done = d.status?.availableReplicas === 2 && d.status?.updatedReplicas === 2;
        if (!done)
          assert.equal(
            jobs.length,
            0,
            `a hook Job exists while the rollout is in progress (${JSON.stringify(d.status)})`,
          );
        if (done && !completedAt) completedAt = Date.now();
        return jobs.length > 0 || { pending: 'no Job yet' };
      },
      { what: 'the hook Job after the rollout', timeoutMs: 60_000, intervalMs: 100 },
    );
    assert.ok(Date.now() - started >= 10_000, 'pods took 10s to become ready');
    assert.ok(completedAt > 0, 'the rollout was seen complete before the Job appeared');
  });

  it('ignores scaling and re-applying the same manifest; runs again after a rollback', async (t) => {
    const ns = await testNamespace(t, 'same');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', { selector: { matchLabels: { app: 'web' } }, template: inline() }),
    );
    await client.apply(Resources.deployments, deployment(ns, 'web', { image: 'web:1' }));
    await waitHook(client, ns, 'migrate', 'revision 1 done', succeededFor('1'));
    await client.apply(Resources.deployments, deployment(ns, 'web', { image: 'web:2' }));
    await waitHook(client, ns, 'migrate', 'revision 2 done', succeededFor('2'));

    await client.apply(Resources.deployments, deployment(ns, 'web', { image: 'web:2', replicas: 3 })); // scale
    await waitRolledOut(client, ns, 'web', '2');
    await client.apply(Resources.deployments, deployment(ns, 'web', { image: 'web:2', replicas: 3 })); // same manifest
    const { kubeconfig, binDir } = await testCluster();
    execFileSync(join(binDir, 'kubectl'), [
      '--kubeconfig',
      kubeconfig,
      '-n',
      ns,
      'rollout',
      'undo',
      'deployment/web',
    ]);
    await waitRolledOut(client, ns, 'web', '3');
    const d = await client.get(Resources.deployments, ns, 'web');
    assert.equal(d.spec.template.spec.containers[0].image, 'web:1', 'rolled back to the first image');
    await waitHook(client, ns, 'migrate', 'rollback (revision 3) done', succeededFor('3'));
    const jobs = await hookJobs(client, ns);
    assert.deepEqual(
      jobs.map((j) => j.metadata.labels?.['bosun.dev/revision']),
      ['1', '2', '3'],
      'scaling and re-applying ran nothing',
    );
  });

  it('never runs for a rollout that exceeds its progress deadline, and reports it', async (t) => {
    const ns = await testNamespace(t, 'stall');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', { selector: { matchLabels: { app: 'web' } }, template: inline() }),
    );
    await client.apply(
      Resources.deployments,
      deployment(ns, 'web', { podAnnotations: { [READY_AFTER]: '1h' }, progressDeadlineSeconds: 2 }),
    );
    const h = await waitHook(
      client,
      ns,
      'migrate',
      'rollout reported failed',
      (x) => condition(x, 'Ready')?.reason === 'RolloutFailed',
      90_000,
    );
    assert.match(condition(h, 'Ready').message, /web: rollout exceeded its progress deadline/);
    assert.equal(h.status.deployments[0].rollout, 'Failed');
    assert.equal((await hookJobs(client, ns)).length, 0, 'no hook Job');
    await waitFor(
      async () =>
        (await eventsFor(client, ns, 'migrate')).some(
          (e) => e.reason === 'RolloutFailed' && e.type === 'Warning',
        ),
      { what: 'a RolloutFailed Warning event' },
    );
  });

  it('runs the hook with the image of the revision that just rolled out (inheritImage)', async (t) => {
    const ns = await testNamespace(t, 'image');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    const template = {
      spec: {
        spec: {
          containers: [
            { name: 'migrate', image: 'placeholder', command: ['./migrate'] },
            { name: 'sidecar', image: 'proxy:1' },
          ],
        },
      },
    };
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', {
        selector: { matchLabels: { app: 'web' } },
        template,
        inheritImage: { fromContainer: 'web', containers: ['migrate'] },
      }),
    );
    await client.apply(Resources.deployments, deployment(ns, 'web', { image: 'shop:2026.11.1' }));
    await waitHook(client, ns, 'migrate', 'revision 1 done', succeededFor('1'));
    await client.apply(Resources.deployments, deployment(ns, 'web', { image: 'shop:2026.11.2' }));
    await waitHook(client, ns, 'migrate', 'revision 2 done', succeededFor('2'));
    const images = (await hookJobs(client, ns)).map((j) =>
      j.spec.template.spec.containers.map((c: { image: string }) => c.image),
    );
    assert.deepEqual(images, [
      ['shop:2026.11.1', 'proxy:1'],
      ['shop:2026.11.2', 'proxy:1'],
    ]);
  });

  it('reports a failing hook, does not retry beyond backoffLimit, and runs again when bosun.dev/rerun changes', async (t) => {
    const ns = await testNamespace(t, 'fail');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    const failing = {
      spec: {
        metadata: { labels: { [FAIL_LABEL]: 'true' }, annotations: { [FAIL_REASON]: 'MigrationError' } },
        spec: { containers: [migrate] },
      },
    };
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', { selector: { matchLabels: { app: 'web' } }, template: failing, backoffLimit: 1 }),
    );
    await client.apply(Resources.deployments, deployment(ns, 'web'));
    const h = await waitHook(
      client,
      ns,
      'migrate',
      'Failed condition',
      (x) => condition(x, 'Failed')?.status === 'True',
      90_000,
    );
    assert.match(condition(h, 'Failed').message, /web revision 1: BackoffLimitExceeded/);
    assert.equal(condition(h, 'Ready').reason, 'HookFailed');
    assert.equal(h.status.deployments[0].lastRun.phase, 'Failed');
    const jobs = await hookJobs(client, ns);
    assert.equal(jobs.length, 1, 'one Job, not retried by Bosun');
    const pods = await client.list(Resources.pods, ns, {
      labelSelector: `job-name=${jobs[0]?.metadata.name}`,
    });
    assert.equal(pods.items.length, 2, 'backoffLimit 1: the first pod and one retry');
    await waitFor(
      async () =>
        (await eventsFor(client, ns, 'migrate')).some(
          (e) => e.type === 'Warning' && e.reason === 'Failed' && /BackoffLimitExceeded/.test(e.note),
        ),
      { what: 'a Warning event on the hook' },
    );
    await waitFor(
      async () =>
        (await eventsFor(client, ns, 'web')).some((e) => e.type === 'Warning' && e.reason === 'HookFailed'),
      { what: 'a Warning event on the Deployment' },
    );

    await client.mergePatch(HOOKS, ns, 'migrate', {
      // Fix the template (drop the fail label) and ask for a rerun.
      metadata: { annotations: { 'bosun.dev/rerun': 'fixed-the-schema' } },
      spec: { template: { spec: { metadata: null } } },
    });
    const after = await waitHook(client, ns, 'migrate', 'rerun succeeded', succeededFor('1'), 60_000);
    assert.equal(after.status.deployments[0].rerun, 'fixed-the-schema');
    assert.equal(condition(after, 'Failed').status, 'False');
    assert.equal((await hookJobs(client, ns)).length, 2, 'the rerun is a second Job');
  });

  it('reports a missing PodTemplate, and runs once it is created', async (t) => {
    const ns = await testNamespace(t, 'tmpl');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', { selector: { matchLabels: { app: 'web' } }, template: { name: 'migrations' } }),
    );
    await client.apply(Resources.deployments, deployment(ns, 'web'));
    const h = await waitHook(
      client,
      ns,
      'migrate',
      'TemplateNotFound',
      (x) => condition(x, 'Ready')?.reason === 'TemplateNotFound',
    );
    assert.match(condition(h, 'Ready').message, /PodTemplate .*\/migrations does not exist/);
    await waitFor(
      async () =>
        (await eventsFor(client, ns, 'migrate')).some(
          (e) => e.reason === 'TemplateNotFound' && e.type === 'Warning',
        ),
      { what: 'a TemplateNotFound Warning event' },
    );
    assert.equal((await hookJobs(client, ns)).length, 0);
    await client.create(Resources.podTemplates, {
      apiVersion: 'v1',
      kind: 'PodTemplate',
      metadata: { name: 'migrations', namespace: ns },
      template: { spec: { containers: [migrate] } },
    });
    await waitHook(client, ns, 'migrate', 'ran after the template appeared', succeededFor('1'));
  });

  it('reports an inline template that Kubernetes rejects, without retrying', async (t) => {
    const ns = await testNamespace(t, 'invalid');
    const client = await testClient();
    const op = await startOperator(t, { namespaces: [ns] });
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', {
        selector: { matchLabels: { app: 'web' } },
        template: { spec: { spec: { containers: [{ name: 'Bad_Name', image: 'x' }] } } },
      }),
    );
    await client.apply(Resources.deployments, deployment(ns, 'web'));
    const h = await waitHook(
      client,
      ns,
      'migrate',
      'InvalidTemplate',
      (x) => condition(x, 'Ready')?.reason === 'InvalidTemplate',
    );
    assert.match(condition(h, 'Ready').message, /Kubernetes rejected the hook Job: .*Bad_Name/);
    const metrics = await op.metrics();
    const errors = Number(
      /controller_runtime_reconcile_errors_total\{controller="deploymenthook"\} (\d+)/.exec(metrics)?.[1] ??
        0,
    );
    assert.equal(errors, 0, 'a rejected template is a status, not a retried error');
  });

  it('does not run again when a finished hook Job is deleted by its TTL', async (t) => {
    const ns = await testNamespace(t, 'ttl');
    const client = await testClient();
    const op = await startOperator(t, { namespaces: [ns] });
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', {
        selector: { matchLabels: { app: 'web' } },
        template: inline(),
        ttlSecondsAfterFinished: 0,
      }),
    );
    await client.apply(Resources.deployments, deployment(ns, 'web'));
    const h = await waitHook(client, ns, 'migrate', 'revision 1 done', succeededFor('1'));
    const jobName = h.status.deployments[0].lastRun.jobName;
    await waitFor(async () => !(await getOrUndefined(client, Resources.jobs, ns, jobName)), {
      what: `Job ${jobName} deleted by its TTL`,
      timeoutMs: 60_000,
    });
    // Touch the hook and wait until the operator has reconciled it again, with the Job gone.
    const reconciles = async () =>
      Number(
        /controller_runtime_reconcile_total\{controller="deploymenthook",result="success"\} (\d+)/.exec(
          await op.metrics(),
        )?.[1] ?? 0,
      );
    const before = await reconciles();
    await client.mergePatch(HOOKS, ns, 'migrate', { metadata: { labels: { touched: 'yes' } } });
    await waitFor(async () => (await reconciles()) > before || { pending: `${before} reconciles` }, {
      what: 'a reconcile after the touch',
    });
    assert.equal((await hookJobs(client, ns)).length, 0, 'no new Job');
  });

  it('reports each run once by its end, and writes nothing once settled, even after a restart', async (t) => {
    const ns = await testNamespace(t, 'idle');
    const client = await testClient();
    const count = 20;
    const names = Array.from({ length: count }, (_, i) => `web-${i}`);
    let op = await startOperator(t, { namespaces: [ns] });
    for (const d of names) {
      await client.apply(HOOKS, hook(ns, d, { selector: { matchLabels: { app: d } }, template: inline() }));
      await client.apply(Resources.deployments, deployment(ns, d));
    }
    for (const d of names) await waitHook(client, ns, d, 'revision 1 done', succeededFor('1', d), 120_000);
    await waitFor(
      async () =>
        (await hookJobs(client, ns)).every((j) => !j.metadata.finalizers?.length) || {
          pending: 'finalizers',
        },
      { what: 'every result finalizer released' },
    );
    // One Event per run, on the Deployment; none on a hook whose runs succeeded.
    for (const d of names) {
      const events = await waitFor(
        async () => {
          const list = (await eventsFor(client, ns, d)).filter(
            (e) => e.reportingController === 'bosun.dev/operator',
          );
          return list.length ? list : undefined;
        },
        { what: `the Event of ${d}` },
      );
      assert.deepEqual(
        events.map((e) => [e.regarding.kind, e.type, e.reason]),
        [['Deployment', 'Normal', 'HookSucceeded']],
      );
    }
    const hookEvents = (await client.list(Resources.events, ns)).items.filter(
      (e) => e.regarding.kind === 'DeploymentHook',
    );
    assert.deepEqual(hookEvents, []);

    // A restarted operator lists and reconciles every hook (what a re-watch or relist does), then
    // every Deployment is touched without a new revision: nothing is written.
    await op.kill();
    op = await startOperator(t, { namespaces: [ns] });
    const writes = async () =>
      [
        ...(await op.metrics()).matchAll(
          /rest_client_requests_total\{method="(POST|PUT|PATCH|DELETE)",code="\d+"\} (\d+)/g,
        ),
      ]
        .map((m) => Number(m[2]))
        .reduce((a, b) => a + b, 0);
    const reconciles = async () =>
      Number(
        /controller_runtime_reconcile_total\{controller="deploymenthook",result="success"\} (\d+)/.exec(
          await op.metrics(),
        )?.[1] ?? 0,
      );
    await waitFor(
      async () => (await reconciles()) >= count || { pending: `${await reconciles()} reconciles` },
      {
        what: 'every hook reconciled after the restart',
      },
    );
    const afterStart = await reconciles();
    for (const d of names)
      await client.mergePatch(Resources.deployments, ns, d, {
        metadata: { annotations: { touched: 'yes' } },
      });
    await waitFor(
      async () =>
        (await reconciles()) >= afterStart + count || { pending: `${await reconciles()} reconciles` },
      { what: 'every hook reconciled after the touch' },
    );
    assert.equal(await writes(), 0, 'a settled hook writes nothing');
    assert.equal((await hookJobs(client, ns)).length, count, 'no new Job');
  });

  it('runs once for the current revision when created after the rollout; deleting the hook deletes its Jobs', async (t) => {
    const ns = await testNamespace(t, 'late');
    const client = await testClient();
    await client.apply(Resources.deployments, deployment(ns, 'web', { image: 'web:1' }));
    await waitRolledOut(client, ns, 'web', '1');
    await client.apply(Resources.deployments, deployment(ns, 'web', { image: 'web:2' }));
    await waitRolledOut(client, ns, 'web', '2');
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', { selector: { matchLabels: { app: 'web' } }, template: inline() }),
    );
    await waitHook(client, ns, 'migrate', 'revision 2 done', succeededFor('2'));
    const jobs = await hookJobs(client, ns);
    assert.deepEqual(
      jobs.map((j) => j.metadata.labels?.['bosun.dev/revision']),
      ['2'],
      'only the current revision',
    );
    await client.delete(HOOKS, ns, 'migrate');
    await waitFor(async () => (await hookJobs(client, ns)).length === 0 || { pending: 'Jobs remain' }, {
      what: 'the hook Jobs to be garbage collected',
      timeoutMs: 60_000,
    });
  });

  it('is rejected by kubectl apply with a message saying what to fix', async (t) => {
    await installCrds();
    const ns = await testNamespace(t, 'reject');
    const apply = (spec: Record<string, unknown>) => kubectlApply(hook(ns, 'bad', spec));
    const selector = { matchLabels: { app: 'web' } };
    assert.match(
      await apply({ selector, template: { name: 'a', spec: { spec: { containers: [migrate] } } } }),
      /set exactly one of template.name .* or template.spec/,
    );
    assert.match(
      await apply({ selector, template: {} }),
      /set exactly one of template.name .* or template.spec/,
    );
    assert.match(
      await apply({ selector, template: { name: 'a' }, concurrencyPolicy: 'Sometimes' }),
      /concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Forbid", "Replace", "Allow"/,
    );
    assert.match(
      await apply({ selector, template: { name: 'a' }, backoffLimit: -1 }),
      /backoffLimit: Invalid value: -1: .*greater than or equal to 0/,
    );
    assert.equal(await apply({ selector, template: { name: 'a' } }), '', 'a valid hook is accepted');
  });
});
