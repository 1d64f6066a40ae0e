// Preview lifecycle on the real control plane (kwok plays the pods): both modes, failures and
// their ways out, undeploy leaving nothing, bad input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/runtime/kube-client.ts';
import { Resources } from '../../src/runtime/kube-client.ts';
import { silentLogger } from '../../src/runtime/log.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { WatchCache } from '../../src/runtime/watch-cache.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import {
  eventsFor,
  getOrUndefined,
  installCrds,
  kubectlApply,
  metricValue,
  startOperator,
} from '../support/operator.ts';
import {
  failing,
  labelled,
  PREVIEW_REPOSITORIES,
  PREVIEW_TEMPLATES,
  PREVIEWS,
  phase,
  preview,
  ready,
  readyReason,
  repository,
  template,
  waitPreview,
} from '../support/previews.ts';

const gone = async (client: Awaited<ReturnType<typeof testClient>>, ns: string, name: string) =>
  waitFor(async () => !(await getOrUndefined(client, PREVIEWS, ns, name)) || { pending: 'still there' }, {
    what: `preview ${name} to be gone`,
    timeoutMs: 90_000,
  });

async function setup(
  t: import('node:test').TestContext,
  repo: Record<string, unknown> = {},
  tpl: Record<string, unknown> = {},
) {
  await installCrds(); // the templates are created before the operator starts
  const ns = await testNamespace(t, 'pv');
  const client = await testClient();
  await client.create(PREVIEW_TEMPLATES, template(ns, 'web', tpl));
  await client.create(PREVIEW_REPOSITORIES, repository(ns, 'shop', repo));
  const operator = await startOperator(t, { namespaces: [ns] });
  return { ns, client, operator };
}

describe('Preview', () => {
  it('per commit: build, initialize, Stopped, start, Running, stop, undeploy that leaves nothing', async (t) => {
    const { ns, client } = await setup(t);
    await client.create(PREVIEWS, preview(ns, 'shop-main-abcdef0'));
    let p = await waitPreview(
      client,
      ns,
      'shop-main-abcdef0',
      phase('Stopped'),
      'Stopped after build and init',
    );
    assert.equal(p.status.buildStatus, 'success');
    assert.equal(p.status.initStatus, 'ready');
    assert.equal(p.status.image, 'registry.local/acme/shop:abcdef0123');
    assert.equal(p.status.url, 'http://shop-main-abcdef0.preview.test');
    const deployment = await client.get(Resources.deployments, ns, 'shop-main-abcdef0');
    assert.equal(deployment.spec.replicas, 0, 'deployed idle, as runboat does');
    assert.equal(deployment.spec.template.spec.containers[0].image, 'registry.local/acme/shop:abcdef0123');
    const ingress = await client.get(
      { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', namespaced: true },
      ns,
      'shop-main-abcdef0',
    );
    assert.equal(ingress.spec.rules[0].host, 'shop-main-abcdef0.preview.test');

    await client.mergePatch(PREVIEWS, ns, 'shop-main-abcdef0', { spec: { state: 'Running' } });
    p = await waitPreview(client, ns, 'shop-main-abcdef0', phase('Running'), 'Running after start');
    assert.equal(ready(p)?.status, 'True');
    await client.mergePatch(PREVIEWS, ns, 'shop-main-abcdef0', { spec: { state: 'Stopped' } });
    await waitPreview(client, ns, 'shop-main-abcdef0', phase('Stopped'), 'Stopped after stop');

    const before = await labelled(client, ns, 'shop-main-abcdef0');
    for (const kind of [
      'jobs',
      'deployments',
      'services',
      'ingresses',
      'configmaps',
      'persistentvolumeclaims',
    ])
      assert.ok(
        before.some((o) => o.startsWith(`${kind}/`)),
        `a labelled ${kind} exists before undeploy: ${before}`,
      );
    await client.delete(PREVIEWS, ns, 'shop-main-abcdef0');
    await gone(client, ns, 'shop-main-abcdef0');
    assert.deepEqual(await labelled(client, ns, 'shop-main-abcdef0'), [], 'nothing labelled is left');
    const reasons = (await eventsFor(client, ns, 'shop-main-abcdef0')).map((e) => e.reason);
    for (const r of ['BuildStarted', 'BuildSucceeded', 'InitStarted', 'Initialized', 'Started'])
      assert.ok(reasons.includes(r), `Event ${r} in ${reasons}`);
  });

  it('without initialize, Stopped is written only once its Deployment exists', async (t) => {
    const { ns, client } = await setup(t, {}, { initialize: undefined });
    // Written versions in one etcd are ordered: the status that first says Stopped must come after
    // the Deployment's creation, so a reader who waits for Stopped finds the Deployment.
    const opts = { namespace: ns, log: silentLogger };
    const previews = new WatchCache(client, PREVIEWS, opts);
    const deployments = new WatchCache(client, Resources.deployments, opts);
    t.after(() => {
      previews.stop();
      deployments.stop();
    });
    const phases: string[] = [];
    let stoppedAt: bigint | undefined;
    let createdAt: bigint | undefined;
    previews.onEvent(({ object: p }) => {
      if (p.status?.phase && phases.at(-1) !== p.status.phase) phases.push(p.status.phase);
      if (p.status?.phase === 'Stopped') stoppedAt ??= BigInt(p.metadata.resourceVersion as string);
    });
    deployments.onEvent(({ object: d }) => {
      createdAt ??= BigInt(d.metadata.resourceVersion as string);
    });
    previews.start();
    deployments.start();
    await Promise.all([previews.synced, deployments.synced]);
    await client.create(PREVIEWS, preview(ns, 'shop-main-abcdef0'));
    await waitFor(async () => stoppedAt !== undefined || { pending: `phases ${phases}` }, {
      what: 'the preview to be Stopped',
      timeoutMs: 90_000,
    });
    assert.ok(
      createdAt !== undefined && createdAt < (stoppedAt as bigint),
      `Deployment created at ${createdAt}, Stopped at ${stoppedAt}`,
    );
    assert.deepEqual(
      phases.slice(phases.indexOf('Building')),
      ['Building', 'Pending', 'Stopped'],
      'Pending (Deploying) between the build and Stopped',
    );
  });

  it('per pull request: a new commit rebuilds in place at the same URL, keeps serving, initializes once', async (t) => {
    const { ns, client } = await setup(t, { previewPer: 'PullRequest' });
    await client.create(
      PREVIEWS,
      preview(ns, 'shop-pr7', { pullRequest: 7, branch: 'fix', state: 'Running' }),
    );
    const first = await waitPreview(client, ns, 'shop-pr7', phase('Running'), 'Running');
    await client.mergePatch(PREVIEWS, ns, 'shop-pr7', { spec: { commit: '1234567890' } });
    const second = await waitPreview(
      client,
      ns,
      'shop-pr7',
      (p) => p.status?.deployedCommit === '1234567890' && p.status?.phase === 'Running',
      'the new commit deployed and Running',
    );
    assert.equal(second.status.url, first.status.url);
    assert.equal(second.status.image, 'registry.local/acme/shop:1234567890');
    const jobs = (await client.list(Resources.jobs, ns)).items.map((j) => j.metadata.name).sort();
    assert.deepEqual(jobs, ['shop-pr7-build-1234567', 'shop-pr7-build-abcdef0', 'shop-pr7-init-0']);
    // The status records the decision before the apply: the Deployment follows.
    await waitFor(
      async () => {
        const d = await client.get(Resources.deployments, ns, 'shop-pr7');
        const image = d.spec.template.spec.containers[0].image;
        return image === 'registry.local/acme/shop:1234567890' || { pending: `image ${image}` };
      },
      { what: 'the Deployment on the new image', timeoutMs: 60_000 },
    );
  });

  it('a failed build is Failed with its logs kept; a reset builds again', async (t) => {
    const { ns, client } = await setup(
      t,
      {},
      {
        build: {
          image: 'r/${commit}',
          backoffLimit: 0,
          template: { metadata: failing, spec: { containers: [{ name: 'b', image: 'kaniko' }] } },
        },
      },
    );
    await client.create(PREVIEWS, preview(ns, 'p'));
    const p = await waitPreview(client, ns, 'p', phase('Failed'), 'Failed');
    assert.equal(p.status.buildStatus, 'error');
    assert.equal(ready(p)?.reason, 'BuildFailed');
    const job = await client.get(Resources.jobs, ns, 'p-build-abcdef0');
    assert.ok(job.status.failed >= 1, 'the failed build Job is kept');
    assert.ok((await eventsFor(client, ns, 'p')).some((e) => e.reason === 'BuildFailed'));
    await client.mergePatch(PREVIEWS, ns, 'p', {
      metadata: { annotations: { 'bosun.dev/reset': '2026-11-23T10:00:00Z' } },
    });
    await waitFor(
      async () => (await getOrUndefined(client, Resources.jobs, ns, 'p-build-abcdef0-1')) ?? false,
      {
        what: 'a second build attempt',
      },
    );
  });

  it('a failed initialization is Failed with its logs kept; a reset initializes again', async (t) => {
    const { ns, client } = await setup(
      t,
      {},
      {
        initialize: { template: { metadata: failing, spec: { containers: [{ name: 'init' }] } } },
      },
    );
    await client.create(PREVIEWS, preview(ns, 'p', { state: 'Running' }));
    const p = await waitPreview(client, ns, 'p', phase('Failed'), 'Failed');
    assert.equal(p.status.initStatus, 'failed');
    assert.equal(ready(p)?.reason, 'InitFailed');
    assert.equal(
      (await client.get(Resources.deployments, ns, 'p')).spec.replicas,
      0,
      'a failed preview does not run',
    );
    assert.ok(
      await getOrUndefined(client, Resources.jobs, ns, 'p-init-0'),
      'the failed init Job is kept for its logs',
    );
    await client.mergePatch(PREVIEWS, ns, 'p', { metadata: { annotations: { 'bosun.dev/reset': 'again' } } });
    await waitPreview(
      client,
      ns,
      'p',
      (x) => x.status?.initAttempt === 1 && x.status?.phase === 'Failed',
      'the second attempt fails too',
    );
    assert.ok(await getOrUndefined(client, Resources.jobs, ns, 'p-init-1'));
    assert.ok(
      await getOrUndefined(client, Resources.jobs, ns, 'p-init-0'),
      'the failed first attempt keeps its logs',
    );
  });

  it('a failed cleanup holds the undeploy, says why, and skip-cleanup lets it finish with nothing left', async (t) => {
    const { ns, client } = await setup(
      t,
      {},
      {
        cleanup: {
          backoffLimit: 0,
          template: { metadata: failing, spec: { containers: [{ name: 'drop', image: 'postgres' }] } },
        },
      },
    );
    await client.create(PREVIEWS, preview(ns, 'p'));
    await waitPreview(client, ns, 'p', phase('Stopped'), 'Stopped');
    await client.delete(PREVIEWS, ns, 'p');
    const p = await waitPreview(client, ns, 'p', readyReason('CleanupFailed'), 'CleanupFailed');
    assert.equal(p.status.phase, 'Undeploying');
    assert.match(ready(p)?.message, /bosun\.dev\/skip-cleanup=true/);
    await client.mergePatch(PREVIEWS, ns, 'p', {
      metadata: { annotations: { 'bosun.dev/skip-cleanup': 'true' } },
    });
    await gone(client, ns, 'p');
    assert.deepEqual(await labelled(client, ns, 'p'), []);
  });

  it('deleting the namespace undeploys its previews without their cleanup Jobs, and the namespace goes', async (t) => {
    const { ns, client } = await setup(t);
    await client.create(PREVIEWS, preview(ns, 'p'));
    await client.create(PREVIEWS, preview(ns, 'q', { branch: 'feature' }));
    for (const name of ['p', 'q']) await waitPreview(client, ns, name, phase('Stopped'), 'Stopped');
    // The namespace's deletion takes the template, and no Job may be created there any more.
    await client.delete(Resources.namespaces, undefined, ns);
    await waitFor(async () => !(await getOrUndefined(client, Resources.namespaces, undefined, ns)), {
      what: `namespace ${ns} gone`,
      timeoutMs: 120_000,
    });
  });

  it('a cleanup Job the API server refuses is CleanupFailed, not created again until the template changes', async (t) => {
    const { ns, client, operator } = await setup(t);
    await client.create(PREVIEWS, preview(ns, 'p'));
    await waitPreview(client, ns, 'p', phase('Stopped'), 'Stopped');
    // A quota with room for no more Jobs: the cleanup Job is forbidden (403).
    const quotas = { group: '', version: 'v1', plural: 'resourcequotas', namespaced: true };
    const jobs = (await client.list(Resources.jobs, ns)).items.length;
    await client.create(quotas, {
      metadata: { name: 'no-more-jobs', namespace: ns },
      spec: { hard: { 'count/jobs.batch': String(jobs) } },
    });
    await waitFor(
      async () =>
        (await client.get(quotas, ns, 'no-more-jobs')).status?.used?.['count/jobs.batch'] ===
          String(jobs) || {
          pending: 'quota usage not counted yet',
        },
      { what: 'the quota in force' },
    );
    await client.delete(PREVIEWS, ns, 'p');
    const failed = await waitPreview(client, ns, 'p', readyReason('CleanupFailed'), 'CleanupFailed');
    assert.match(ready(failed)?.message, /exceeded quota/);
    const warned = (await eventsFor(client, ns, 'p')).filter((e) => e.reason === 'CleanupFailed');
    assert.equal(warned.length, 1, 'one CleanupFailed Event, as the Ready reason says');
    assert.equal(
      await metricValue(operator, 'bosun_preview_transitions_total{reason="CleanupFailed"}'),
      1,
      'counted with the other lifecycle Events',
    );
    // Another reconcile (a template event) must not send the same Job again, nor write the status.
    const reconciles = () =>
      metricValue(
        operator,
        'controller_runtime_reconcile_total{controller="preview-undeploy",result="success"}',
      );
    const before = await reconciles();
    await client.mergePatch(PREVIEW_TEMPLATES, ns, 'web', { metadata: { labels: { touched: 'yes' } } });
    await waitFor(async () => (await reconciles()) > before || { pending: `${before} reconciles` }, {
      what: 'another reconcile',
    });
    const p = await client.get(PREVIEWS, ns, 'p');
    assert.equal(p.metadata.resourceVersion, failed.metadata.resourceVersion, 'no status write');
    assert.equal(ready(p)?.reason, 'CleanupFailed');
    // Room again and a changed cleanup: it runs, and the undeploy ends with nothing left.
    await client.delete(quotas, ns, 'no-more-jobs');
    await client.mergePatch(PREVIEW_TEMPLATES, ns, 'web', {
      spec: { cleanup: { template: { spec: { containers: [{ name: 'drop', image: 'postgres:17' }] } } } },
    });
    await gone(client, ns, 'p');
    assert.deepEqual(await labelled(client, ns, 'p'), []);
  });

  it('an undeploy waits for a labelled object that is slow to go, looking again, and ends once it is gone; undeploys beside it do not wait', async (t) => {
    const HOLD = 'test.bosun.dev/hold';
    const held = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: '${preview}-held', finalizers: [HOLD] },
      data: { a: 'b' },
    };
    const { ns, client, operator } = await setup(t, {}, { cleanup: undefined, resources: [held] });
    const configMaps = { group: '', version: 'v1', plural: 'configmaps', namespaced: true };
    // p's ConfigMap keeps its finalizer; q's and r's lose theirs. The three are deleted at once, so
    // their purges share rounds (one label selector for all): q and r must not wait for p.
    const names = ['p', 'q', 'r'];
    for (const n of names) await client.create(PREVIEWS, preview(ns, n));
    for (const n of names) await waitPreview(client, ns, n, phase('Stopped'), 'Stopped');
    for (const n of ['q', 'r'])
      await client.mergePatch(configMaps, ns, `${n}-held`, { metadata: { finalizers: null } });
    const rounds = () =>
      metricValue(
        operator,
        'controller_runtime_reconcile_total{controller="preview-undeploy",result="requeue_after"}',
      );
    await Promise.all(names.map((n) => client.delete(PREVIEWS, ns, n)));
    for (const n of ['q', 'r']) {
      await gone(client, ns, n);
      assert.deepEqual(await labelled(client, ns, n), [], `nothing labelled with ${n} is left`);
    }
    await waitFor(
      async () =>
        !!(await client.get(configMaps, ns, 'p-held')).metadata.deletionTimestamp || {
          pending: 'not deleted',
        },
      { what: 'the held ConfigMap to be deleted' },
    );
    // Two more rounds that found it still there: the preview waits for it.
    const after = await rounds();
    await waitFor(async () => (await rounds()) >= after + 2 || { pending: `${await rounds()} rounds` }, {
      what: 'the purge to look again',
    });
    assert.deepEqual(await labelled(client, ns, 'p'), ['configmaps/p-held']);
    assert.equal((await client.get(PREVIEWS, ns, 'p')).status.phase, 'Undeploying');
    await client.mergePatch(configMaps, ns, 'p-held', { metadata: { finalizers: null } });
    await gone(client, ns, 'p');
    assert.deepEqual(await labelled(client, ns, 'p'), []);
  });

  it('a running preview whose template is deleted keeps running, and still stops when asked', async (t) => {
    const { ns, client } = await setup(t);
    await client.create(PREVIEWS, preview(ns, 'p', { state: 'Running' }));
    await waitPreview(client, ns, 'p', phase('Running'), 'Running');
    await client.delete(PREVIEW_TEMPLATES, ns, 'web');
    await waitPreview(client, ns, 'p', readyReason('TemplateNotFound'), 'TemplateNotFound');
    assert.equal((await client.get(Resources.deployments, ns, 'p')).spec.replicas, 1, 'still serving');
    await client.mergePatch(PREVIEWS, ns, 'p', { spec: { state: 'Stopped' } });
    await waitFor(
      async () => {
        const d = await client.get(Resources.deployments, ns, 'p');
        return d.spec.replicas === 0 || { pending: `${d.spec.replicas} replicas` };
      },
      { what: 'the Deployment scaled to 0 without its template' },
    );
  });

  it('an unknown variable is a condition and one Event, never a crash; fixing the template recovers', async (t) => {
    const { ns, client } = await setup(
      t,
      {},
      { ingress: { domain: 'preview.test', annotations: { owner: '${team}' } } },
    );
    await client.create(PREVIEWS, preview(ns, 'p'));
    const p = await waitPreview(client, ns, 'p', readyReason('InvalidTemplate'), 'InvalidTemplate');
    assert.match(ready(p)?.message, /unknown variable \$\{team\}/);
    assert.equal(p.status.phase, 'Pending');
    await client.mergePatch(PREVIEW_REPOSITORIES, ns, 'shop', { spec: { variables: { team: 'payments' } } });
    await waitPreview(client, ns, 'p', phase('Stopped'), 'Stopped once the variable exists');
    const warnings = (await eventsFor(client, ns, 'p')).filter((e) => e.reason === 'InvalidTemplate');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.series?.count ?? 1, 1, 'the Warning is not repeated');
  });

  it('a manifest the API server rejects is ApplyRejected, not retried until it changes', async (t) => {
    const { ns, client, operator } = await setup(
      t,
      {},
      {
        resources: [
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '${preview}_X' }, data: { n: '1' } },
        ],
      },
    );
    await client.create(PREVIEWS, preview(ns, 'p'));
    const p = await waitPreview(client, ns, 'p', readyReason('ApplyRejected'), 'ApplyRejected');
    assert.ok(p.status.rejectedHash);
    const rv = p.metadata.resourceVersion;
    // Another pass (a repository change) must not re-send the rejected manifests.
    const passes = () =>
      metricValue(operator, 'controller_runtime_reconcile_total{controller="preview",result="success"}');
    const before = await passes();
    await client.mergePatch(PREVIEW_REPOSITORIES, ns, 'shop', { metadata: { labels: { touched: 'yes' } } });
    await waitFor(async () => (await passes()) > before || { pending: `${before} passes` }, {
      what: 'another pass',
    });
    const events = await eventsFor(client, ns, 'p');
    assert.equal(events.filter((e) => e.reason === 'ApplyRejected').length, 1);
    assert.equal((await client.get(PREVIEWS, ns, 'p')).metadata.resourceVersion, rv);
    await client.mergePatch(PREVIEW_TEMPLATES, ns, 'web', {
      spec: {
        resources: [
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '${preview}-x' }, data: { n: '1' } },
        ],
      },
    });
    await waitPreview(client, ns, 'p', phase('Stopped'), 'Stopped after the fix');
  });

  it('a cluster-scoped kind among the resources is ApplyRejected, and the undeploy leaves it alone', async (t) => {
    const { ns, client } = await setup(
      t,
      {},
      {
        cleanup: undefined,
        resources: [
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRole',
            metadata: { name: '${preview}-reader' },
            rules: [],
          },
        ],
      },
    );
    await client.create(PREVIEWS, preview(ns, 'p'));
    const p = await waitPreview(client, ns, 'p', readyReason('ApplyRejected'), 'ApplyRejected');
    assert.match(ready(p)?.message, /ClusterRole p-reader is cluster-scoped/);
    const clusterRoles = {
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      plural: 'clusterroles',
      namespaced: false,
    };
    assert.equal(await getOrUndefined(client, clusterRoles, undefined, 'p-reader'), undefined);
    // Another namespace's object with the same label is not the purge's business.
    await client.create(clusterRoles, {
      metadata: { name: `bystander-${ns}`, labels: { 'bosun.dev/preview': 'p' } },
      rules: [],
    });
    t.after(() => client.delete(clusterRoles, undefined, `bystander-${ns}`));
    await client.delete(PREVIEWS, ns, 'p');
    await gone(client, ns, 'p');
    assert.ok(await getOrUndefined(client, clusterRoles, undefined, `bystander-${ns}`));
  });

  it('rejects bad manifests at kubectl apply with a message that says what to fix', async (t) => {
    await installCrds();
    const ns = await testNamespace(t, 'pv');
    const cases: [KubeObject, RegExp][] = [
      [preview(ns, 'a', { commit: 'HEAD' }), /spec\.commit/],
      [preview(ns, 'v1.2-hotfix'), /names its Service: .*no dots/],
      [preview(ns, '1fix'), /starting with a letter/],
      [
        { ...preview(ns, 'b'), spec: { ...preview(ns, 'b').spec, pullRequest: 3 } },
        /pullRequest and targetBranch together/,
      ],
      [repository(ns, 'r', { repository: 'no-owner' }), /spec\.repository/],
      [repository(ns, 'r2', { previewPer: 'Branch' }), /previewPer/],
      [
        repository(ns, 'r3', { forkTemplate: 'untrusted' }),
        /forkTemplate is used only with forkPolicy: Preview/,
      ],
      [
        repository(ns, 'r4', { forkPolicy: 'Ignore', forkTemplate: 'untrusted' }),
        /forkTemplate is used only with forkPolicy: Preview/,
      ],
      [repository(ns, 'r5', { forkPolicy: 'Always' }), /forkPolicy/],
      [
        template(ns, 't', { app: { template: { spec: { containers: [{ name: 'x' }] } } } }),
        /spec\.app\.port/,
      ],
      [template(ns, 't2', { ingress: { domain: 'Not A Domain' } }), /spec\.ingress\.domain/],
    ];
    for (const [object, want] of cases)
      assert.match(await kubectlApply(object), want, JSON.stringify(object.spec));
    assert.equal(
      await kubectlApply(repository(ns, 'forks', { forkPolicy: 'Preview', forkTemplate: 'untrusted' })),
      '',
    );
    assert.equal(await kubectlApply(preview(ns, 'moved')), '');
    assert.match(
      await kubectlApply(preview(ns, 'moved', { repository: 'other' })),
      /spec\.repository cannot change/,
    );
  });
});
