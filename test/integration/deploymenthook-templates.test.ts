// Bad templates and selectors: rejected at kubectl apply where the schema can tell, otherwise a
// condition and an Event, never a silent fallback or a retry storm. Also: Allow follows every Job.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentRunStatus } from '../../src/api/deploymenthook.ts';
import { HOOKS } from '../../src/controllers/deploymenthook/controller.ts';
import { FAIL_LABEL, FINISH_AFTER } from '../../src/dev/kwok-stages.ts';
import { ApiError, type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { condition, deployment, hook, hookJobs, waitHook, waitRolledOut } from '../support/deployments.ts';
import { eventsFor, installCrds, kubectlApply, type Operator, startOperator } from '../support/operator.ts';

const migrate = { name: 'migrate', image: 'registry.example/migrate:1' };
const selector = { matchLabels: { app: 'web' } };
const entry = (h: KubeObject): DeploymentRunStatus | undefined => h.status?.deployments?.[0];

const metric = async (op: Operator, pattern: RegExp) => Number(pattern.exec(await op.metrics())?.[1] ?? 0);
const REJECTED_POSTS = /rest_client_requests_total\{method="POST",code="422"\} (\d+)/;
const RECONCILES = /controller_runtime_reconcile_total\{controller="deploymenthook",result="success"\} (\d+)/;

describe('DeploymentHook templates', () => {
  it('kubectl apply rejects unknown pod template fields (hook and DaemonJob) and malformed selectors', async (t) => {
    await installCrds();
    const ns = await testNamespace(t, 'strict');
    const typo = { nodeSelecter: { disk: 'ssd' }, containers: [migrate] };
    assert.match(
      await kubectlApply(hook(ns, 'typo', { selector, template: { spec: { spec: typo } } })),
      /unknown field "spec.template.spec.spec.nodeSelecter"/,
    );
    assert.match(
      await kubectlApply(
        hook(ns, 'typo', {
          selector,
          template: { spec: { spec: { containers: [{ ...migrate, comand: ['x'] }] } } },
        }),
      ),
      /unknown field "spec.template.spec.spec.containers\[0\].comand"/,
    );
    assert.match(
      await kubectlApply({
        apiVersion: 'bosun.dev/v1alpha1',
        kind: 'DaemonJob',
        metadata: { name: 'typo', namespace: ns },
        spec: { template: { spec: typo } },
      }),
      /unknown field "spec.template.spec.nodeSelecter"/,
    );
    const badSelector = await kubectlApply(
      hook(ns, 'sel', {
        selector: {
          matchLabels: { 'my app': 'web' },
          matchExpressions: [
            { key: 'tier', operator: 'In' },
            { key: 'zone', operator: 'Exists', values: ['a'] },
            { key: 'team', operator: 'NotIn', values: ['a b'] },
          ],
        },
        template: { name: 'migrations' },
      }),
    );
    assert.match(
      badSelector,
      /matchExpressions\[0\]\.values: .*must list at least one value for operator In and NotIn/,
    );
    assert.match(
      badSelector,
      /matchExpressions\[1\]\.values: .*must be empty for operator Exists and DoesNotExist/,
    );
    assert.match(
      badSelector,
      /matchExpressions\[2\]\.values\[0\]: Invalid value: "a b": must be a label value/,
    );
    assert.match(badSelector, /matchLabels: .*each matchLabels key must be a label key/);
    assert.equal(
      await kubectlApply(
        hook(ns, 'ok', {
          selector,
          template: { spec: { spec: { nodeSelector: { disk: 'ssd' }, containers: [migrate] } } },
        }),
      ),
      '',
      'a valid hook is accepted',
    );
  });

  it("Bosun's own creates are strict: a Job with an unknown field is refused, not pruned", async (t) => {
    const ns = await testNamespace(t, 'strictcreate');
    const client = await testClient();
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'typo', namespace: ns },
      spec: {
        template: { spec: { restartPolicy: 'Never', nodeSelecter: { disk: 'ssd' }, containers: [migrate] } },
      },
    };
    const error = await client.create(Resources.jobs, job).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ApiError, 'the create fails');
    assert.match(error.message, /unknown field "spec.template.spec.nodeSelecter"/);
  });

  it('inheritImage naming a container the Deployment lacks: InvalidTemplate and an Event, no Job', async (t) => {
    const ns = await testNamespace(t, 'inherit');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', {
        selector,
        template: { spec: { spec: { containers: [migrate] } } },
        inheritImage: { fromContainer: 'app' },
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
    assert.match(
      condition(h, 'Ready').message,
      /Deployment web has no container "app" \(inheritImage.fromContainer; it has "web"\)/,
    );
    await waitFor(
      async () =>
        (await eventsFor(client, ns, 'migrate')).some(
          (e) => e.type === 'Warning' && e.reason === 'InvalidTemplate',
        ),
      { what: 'an InvalidTemplate Warning event' },
    );
    assert.equal((await hookJobs(client, ns)).length, 0, 'no Job with the wrong image');

    await client.mergePatch(HOOKS, ns, 'migrate', { spec: { inheritImage: { fromContainer: 'web' } } });
    const ran = await waitHook(
      client,
      ns,
      'migrate',
      'ran once fixed',
      (x) => entry(x)?.lastRun?.phase === 'Succeeded',
    );
    assert.equal(condition(ran, 'Ready').reason, 'Succeeded');
  });

  it('a Job Kubernetes rejects is sent once per template version, not on every event', async (t) => {
    const ns = await testNamespace(t, 'storm');
    const client = await testClient();
    const op = await startOperator(t, { namespaces: [ns] });
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', {
        selector,
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
    assert.match(condition(h, 'Ready').message, /Bad_Name/);
    assert.equal(await metric(op, REJECTED_POSTS), 1);

    for (const touch of ['a', 'b', 'c']) {
      const before = await metric(op, RECONCILES);
      await client.mergePatch(HOOKS, ns, 'migrate', { metadata: { labels: { touch } } });
      await waitFor(
        async () => (await metric(op, RECONCILES)) > before || { pending: `${before} reconciles` },
        {
          what: `a reconcile after touch ${touch}`,
        },
      );
    }
    assert.equal(await metric(op, REJECTED_POSTS), 1, 'the rejected Job was not sent again');
    assert.match((await client.get(HOOKS, ns, 'migrate')).status.rejectedTemplate?.message, /Bad_Name/);

    await client.mergePatch(HOOKS, ns, 'migrate', {
      spec: { template: { spec: { spec: { containers: [migrate] } } } },
    });
    await waitHook(
      client,
      ns,
      'migrate',
      'ran once the template was fixed',
      (x) => entry(x)?.lastRun?.phase === 'Succeeded',
    );
    const fixed = await client.get(HOOKS, ns, 'migrate');
    assert.equal(fixed.status.rejectedTemplate, undefined);
  });

  it("Allow follows every running Job: an older revision's failure is reported", async (t) => {
    const ns = await testNamespace(t, 'allow');
    const client = await testClient();
    await startOperator(t, { namespaces: [ns] });
    const slowFailing = {
      spec: {
        metadata: { labels: { [FAIL_LABEL]: 'true' }, annotations: { [FINISH_AFTER]: '15s' } },
        spec: { containers: [migrate] },
      },
    };
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', { selector, template: slowFailing, concurrencyPolicy: 'Allow' }),
    );
    await client.apply(Resources.deployments, deployment(ns, 'web', { image: 'web:1' }));
    const first = await waitHook(
      client,
      ns,
      'migrate',
      'revision 1 running',
      (x) => entry(x)?.lastRun?.phase === 'Running',
    );
    const firstJob = entry(first)?.lastRun?.jobName as string;

    // Revision 2 runs a template that succeeds at once, while revision 1's Job still runs.
    await client.apply(
      HOOKS,
      hook(ns, 'migrate', {
        selector,
        template: { spec: { spec: { containers: [migrate] } } },
        concurrencyPolicy: 'Allow',
      }),
    );
    await client.apply(Resources.deployments, deployment(ns, 'web', { image: 'web:2' }));
    await waitRolledOut(client, ns, 'web', '2');
    const both = await waitHook(
      client,
      ns,
      'migrate',
      'revision 2 started, revision 1 followed',
      (x) => entry(x)?.lastRun?.revision === '2' && entry(x)?.olderRuns?.[0]?.jobName === firstJob,
    );
    assert.equal(entry(both)?.olderRuns?.[0]?.phase, 'Running');

    await waitFor(
      async () =>
        (await eventsFor(client, ns, 'migrate')).some(
          (e) => e.type === 'Warning' && e.reason === 'Failed' && e.note.includes(firstJob),
        ) || { pending: 'no Failed event yet' },
      { what: `a Warning event for the failure of ${firstJob}`, timeoutMs: 90_000 },
    );
    const after = await waitHook(
      client,
      ns,
      'migrate',
      'revision 1 no longer followed',
      (x) => !entry(x)?.olderRuns,
    );
    assert.equal(entry(after)?.lastRun?.revision, '2');
    await waitFor(
      async () => {
        const job = (await hookJobs(client, ns)).find((j) => j.metadata.name === firstJob);
        return (
          (job && !job.metadata.finalizers?.length) || { pending: JSON.stringify(job?.metadata.finalizers) }
        );
      },
      { what: `the finalizer of ${firstJob} released after its result was reported` },
    );
  });
});
