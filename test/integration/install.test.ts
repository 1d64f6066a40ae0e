// The install manifests on the real API server: the Helm chart and the plain manifests are
// accepted, and the operator runs through a scenario with exactly the chart's RBAC.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { DAEMONJOBS } from '../../src/controllers/daemonjob/controller.ts';
import { HOOKS } from '../../src/controllers/deploymenthook/controller.ts';
import { SIMULATED_LOG_TEXT } from '../../src/dev/kwok-logs.ts';
import { ApiError, type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { silentLogger } from '../../src/runtime/log.ts';
import { ensureServingCert } from '../../src/runtime/serving-cert.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { WEBHOOK_CONFIGURATIONS, webhookConfiguration } from '../../src/server/admission/webhook-config.ts';
import { serviceAccountClient, testClient, testCluster, testNamespace } from '../support/cluster.ts';
import { daemonJob, pool, waitPhase } from '../support/daemonjob.ts';
import { deployment, hook, waitHook } from '../support/deployments.ts';
import { fromFork, pullRequestEvent } from '../support/github-examples.ts';
import { createWebhookSecret, freePort, postWebhook } from '../support/github-webhooks.ts';
import { getOrUndefined, installCrds, startOperator } from '../support/operator.ts';
import {
  labelled,
  PREVIEW_REPOSITORIES,
  PREVIEW_TEMPLATES,
  PREVIEWS,
  phase,
  repository,
  template,
  waitPreview,
} from '../support/previews.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

async function tools() {
  const { kubeconfig, binDir } = await testCluster();
  const run = (bin: string, args: string[], input?: string) =>
    execFileSync(join(binDir, bin), args, {
      encoding: 'utf8',
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, KUBECONFIG: kubeconfig, HOME: tmpdir() },
    });
  return {
    kubeconfig,
    kubectl: (args: string[], input?: string) => run('kubectl', args, input),
    helm: (args: string[]) => run('helm', args),
  };
}

async function refused(what: string, call: () => Promise<unknown>) {
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(
    err instanceof ApiError && err.code === 403,
    `${what} is refused (got ${err instanceof Error ? err.message : 'success'})`,
  );
}

/** A hook on a Deployment in `ns`, run to success by an operator acting with `kubeconfig`. */
async function runHookAs(t: TestContext, ns: string, args: string[]) {
  const admin = await testClient();
  await startOperator(t, { namespaces: [ns], args });
  await admin.apply(
    HOOKS,
    hook(ns, 'migrate', {
      selector: { matchLabels: { app: 'web' } },
      template: { spec: { spec: { containers: [{ name: 'm', image: 'm' }] } } },
      ttlSecondsAfterFinished: 0,
    }),
  );
  await admin.apply(Resources.deployments, deployment(ns, 'web'));
  const h = await waitHook(admin, ns, 'migrate', 'succeeded', (x) => x.status?.succeeded === 1, 90_000);
  assert.equal(h.status.deployments[0].lastRun.phase, 'Succeeded');
}

const job = (namespace: string): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'x', namespace },
  spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'x', image: 'x' }] } } },
});

describe('install', () => {
  it('renders a Helm chart that the API server accepts', async () => {
    const { kubectl, helm } = await tools();
    const rendered = helm([
      'template',
      'bosun',
      join(ROOT, 'charts/bosun'),
      '--namespace',
      'bosun-helm',
      '--include-crds',
      '--set',
      'watchNamespaces={default,kube-public}',
    ]);
    assert.match(rendered, /--namespace=default,kube-public/);
    // With a namespace restriction, the ClusterRole only reads (and, for labelNodes and cordon,
    // patches) nodes, reads a namespace (is it being deleted?), lists and evicts the pods of a
    // node a DaemonJob drains, and keeps the BeforeRollout webhook configuration; the rest is a
    // Role per namespace.
    const docs = parseAllDocuments(rendered).map((d) => d.toJSON() as KubeObject | null);
    const clusterRole = docs.find((d) => d?.kind === 'ClusterRole');
    assert.deepEqual(clusterRole?.rules, [
      { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch', 'patch'] },
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations'],
        verbs: ['get', 'create', 'patch'],
      },
    ]);
    const roles = docs.filter((d) => d?.kind === 'Role' && d.metadata.name === 'bosun');
    assert.deepEqual(roles.map((r) => r?.metadata.namespace).sort(), ['default', 'kube-public']);
    assert.ok(
      roles.every((r) => r?.rules.some((rule: { resources: string[] }) => rule.resources.includes('jobs'))),
    );
    kubectl(['create', 'namespace', 'bosun-helm', '--dry-run=server']);
    const out = kubectl(
      ['apply', '--dry-run=server', '-f', '-'],
      rendered.replaceAll('namespace: bosun-helm', 'namespace: default'),
    );
    for (const kind of [
      'serviceaccount',
      'clusterrole',
      'clusterrolebinding',
      'role',
      'rolebinding',
      'deployment',
      'service',
      'customresourcedefinition',
    ]) {
      assert.match(
        out,
        new RegExp(`^${kind}[^ ]* .*(created|configured|unchanged) \\(server dry run\\)$`, 'm'),
        `${kind} accepted`,
      );
    }
  });

  it('helm upgrade keeps the namespaces the operator set on the BeforeRollout webhook', async (t) => {
    const { helm } = await tools();
    const client = await testClient();
    const ns = await testNamespace(t, 'helm-gate');
    const release = `gate-${ns.slice(-5)}`;
    const upgrade = () =>
      helm([
        'upgrade',
        '--install',
        release,
        join(ROOT, 'charts/bosun'),
        '--namespace',
        ns,
        '--skip-crds',
        '--set',
        'admission.enabled=true',
      ]);
    t.after(() => helm(['uninstall', release, '--namespace', ns]));
    upgrade();
    const name = `${release}-bosun-before-rollout`;
    const selector = async () =>
      (await client.get(WEBHOOK_CONFIGURATIONS, undefined, name)).webhooks[0].namespaceSelector;
    assert.deepEqual(await selector(), {
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'DoesNotExist' }],
    });
    // What the operator applies once a BeforeRollout hook exists (in a namespace that does not, here).
    const desired = webhookConfiguration({
      name,
      clientConfig: { service: { namespace: ns, name: `${release}-bosun-webhook` } },
      namespaces: [`${ns}-apps`],
    });
    await client.apply(WEBHOOK_CONFIGURATIONS, desired);
    const covered = desired.webhooks[0].namespaceSelector;
    assert.deepEqual(await selector(), covered);
    upgrade();
    assert.deepEqual(await selector(), covered, 'the upgrade left the operator’s namespaces');
  });

  it('renders the HTTP side (http.enabled, serve.enabled) and the install-http overlay, which the API server accepts', async () => {
    const { kubectl, helm } = await tools();
    const render = (...sets: string[]) => {
      const text = helm([
        'template',
        'bosun',
        join(ROOT, 'charts/bosun'),
        '--namespace',
        'default',
        ...sets.flatMap((v) => ['--set', v]),
      ]);
      const objects = parseAllDocuments(text)
        .map((d) => d.toJSON() as KubeObject | null)
        .filter((d): d is KubeObject => !!d);
      return { text, objects };
    };
    const find = (objects: KubeObject[], kind: string, name: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name === name);
    const container = (d: KubeObject | undefined) => d?.spec.template.spec.containers[0];

    const off = render();
    assert.equal(find(off.objects, 'Service', 'bosun-http'), undefined, 'no HTTP Service by default');
    assert.ok(
      !container(find(off.objects, 'Deployment', 'bosun')).args.some((a: string) => a.startsWith('--http')),
    );

    const on = render(
      'http.enabled=true',
      'http.tokensSecret=bosun-api-tokens',
      'http.publicReads=true',
      'http.githubOAuthSecret=bosun-github-oauth',
      'github.apiUrl=https://ghe.example/api/v3',
      'github.webUrl=https://ghe.example',
    );
    const operator = container(find(on.objects, 'Deployment', 'bosun'));
    for (const flag of [
      '--http-address=:8090',
      '--tokens-secret=default/bosun-api-tokens',
      '--public-reads',
      '--github-oauth-secret=default/bosun-github-oauth',
      '--github-api-url=https://ghe.example/api/v3',
      '--github-web-url=https://ghe.example',
    ])
      assert.ok(operator.args.includes(flag), `the operator runs with ${flag}: ${operator.args.join(' ')}`);
    assert.ok(
      operator.ports.some(
        (p: { name: string; containerPort: number }) => p.name === 'http' && p.containerPort === 8090,
      ),
    );
    const service = find(on.objects, 'Service', 'bosun-http');
    assert.deepEqual(service?.spec.ports, [{ name: 'http', port: 80, targetPort: 'http' }]);
    assert.deepEqual(
      service?.spec.selector,
      find(on.objects, 'Deployment', 'bosun')?.spec.selector.matchLabels,
    );

    // serve.enabled moves the HTTP side to a `bosun serve` Deployment the Service selects.
    const serve = render('http.enabled=true', 'serve.enabled=true', 'serve.replicas=3');
    const serving = find(serve.objects, 'Deployment', 'bosun-serve');
    assert.equal(serving?.spec.replicas, 3);
    assert.deepEqual(container(serving).args.slice(0, 1), ['serve']);
    assert.ok(container(serving).args.includes('--http-address=:8090'));
    assert.ok(!container(find(serve.objects, 'Deployment', 'bosun')).args.includes('--http-address=:8090'));
    assert.deepEqual(
      find(serve.objects, 'Service', 'bosun-http')?.spec.selector,
      serving?.spec.selector.matchLabels,
    );
    const operatorSelector = find(serve.objects, 'Deployment', 'bosun')?.spec.selector.matchLabels;
    assert.ok(
      Object.entries(operatorSelector).some(([k, v]) => serving?.spec.template.metadata.labels[k] !== v),
      'the operator Deployment does not select the serve pods',
    );

    // With watched namespaces, a Role reads the HTTP side's Secrets in their namespace.
    const scoped = render(
      'http.enabled=true',
      'http.tokensSecret=bosun-api-tokens',
      'watchNamespaces={kube-public}',
    );
    const role = find(scoped.objects, 'Role', 'bosun-http-bosun-api-tokens');
    assert.deepEqual(role?.rules, [
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['bosun-api-tokens'], verbs: ['get'] },
    ]);

    for (const { text } of [on, serve, scoped]) {
      const out = kubectl(['apply', '--dry-run=server', '-f', '-'], text);
      assert.match(out, /^service\/bosun-http (created|configured|unchanged) \(server dry run\)$/m);
      assert.match(out, /^deployment\.apps\/bosun (created|configured|unchanged) \(server dry run\)$/m);
    }
    assert.match(
      kubectl(['apply', '--dry-run=server', '-f', '-'], serve.text),
      /^deployment\.apps\/bosun-serve created/m,
    );

    // The plain manifests' overlay: the same flag, port and Service.
    const plain = kubectl(['kustomize', join(ROOT, 'deploy/install-http')]);
    assert.match(plain, /- --http-address=:8090/);
    assert.match(plain, /name: bosun-http/);
    const accepted = kubectl(
      ['apply', '--dry-run=server', '-f', '-'],
      plain.replaceAll('namespace: bosun-system', 'namespace: default'),
    );
    assert.match(accepted, /^service\/bosun-http (created|configured|unchanged) \(server dry run\)$/m);
  });

  it('runs the operator with only the RBAC it installs; other verbs are refused', async (t) => {
    const { kubectl } = await tools();
    // The plain manifests (kubectl apply -k) install the same ServiceAccount and roles as the chart.
    kubectl(['apply', '-k', join(ROOT, 'deploy/install')]);
    const ns = await testNamespace(t, 'rbac');
    const sa = await serviceAccountClient('bosun-system', 'bosun');
    await runHookAs(t, ns, [
      `--kubeconfig=${sa.kubeconfig}`,
      '--leader-elect',
      '--leader-election-namespace=bosun-system',
    ]);

    await refused('deleting a Node', () => sa.client.delete(Resources.nodes, undefined, 'kwok-node-0'));
    await refused('creating a DaemonSet', () =>
      sa.client.create(Resources.daemonSets, {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'x', namespace: ns },
        spec: {
          selector: { matchLabels: { a: 'x' } },
          template: { metadata: { labels: { a: 'x' } }, spec: { containers: [{ name: 'x', image: 'x' }] } },
        },
      }),
    );
    // Pods it may create (a DaemonJob's); ReplicaSets it only reads and purges.
    await refused('creating a ReplicaSet', () =>
      sa.client.create(Resources.replicaSets, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'x', namespace: ns },
        spec: {
          selector: { matchLabels: { a: 'x' } },
          template: { metadata: { labels: { a: 'x' } }, spec: { containers: [{ name: 'x', image: 'x' }] } },
        },
      }),
    );
    await refused('changing a hook spec', () =>
      sa.client.mergePatch(HOOKS, ns, 'migrate', { spec: { suspend: true } }),
    );
    // Verbs the operator never sends are not granted: it reads from its caches, writes status with PUT.
    await refused('getting a hook', () => sa.client.get(HOOKS, ns, 'migrate'));
    await refused('patching a hook status', () =>
      sa.client.mergePatch(HOOKS, ns, 'migrate', { status: { observedGeneration: 1 } }, 'status'),
    );
    await refused('getting a Deployment', () => sa.client.get(Resources.deployments, ns, 'web'));
  });

  it('runs a preview from webhook to undeploy with only the RBAC it installs', async (t) => {
    const { kubectl } = await tools();
    kubectl(['apply', '-k', join(ROOT, 'deploy/install')]);
    await installCrds();
    const ns = await testNamespace(t, 'rbacpv');
    const admin = await testClient();
    // The default template has every part: build, init and cleanup Jobs, Service, Ingress, extra manifests.
    await admin.create(PREVIEW_TEMPLATES, template(ns, 'web'));
    await createWebhookSecret(admin, ns, 'hook', 'rbac-test-hmac');
    await admin.create(
      PREVIEW_REPOSITORIES,
      repository(ns, 'shop', { webhookSecretRef: { name: 'hook', key: 'secret' } }),
    );
    const sa = await serviceAccountClient('bosun-system', 'bosun');
    const port = await freePort();
    await startOperator(t, {
      namespaces: [ns],
      args: [`--kubeconfig=${sa.kubeconfig}`, `--http-address=127.0.0.1:${port}`, '--public-reads'],
    });
    const post = (payload: object) =>
      postWebhook(`http://127.0.0.1:${port}`, {
        event: 'pull_request',
        body: JSON.stringify(payload),
        secret: 'rbac-test-hmac',
      });
    const head = 'abcdef0123'.padEnd(40, '0');
    const created = await post(pullRequestEvent('acme/shop', 'opened', 3, head));
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const name = 'shop-pr3-abcdef0';
    await admin.mergePatch(PREVIEWS, ns, name, { spec: { state: 'Running' } });
    await waitPreview(admin, ns, name, phase('Running'), 'Running');
    await waitFor(
      async () => {
        const status = (await admin.get(PREVIEW_REPOSITORIES, ns, 'shop')).status;
        return (status?.deployed === 1 && status.running === 1) || { pending: JSON.stringify(status) };
      },
      { what: "the repository's counts" },
    );
    // The API streams a step's log through the API server (pods/log).
    const log = await fetch(
      `http://127.0.0.1:${port}/api/v1/namespaces/${ns}/previews/${name}/logs?step=build`,
    );
    assert.equal(log.status, 200, await log.clone().text());
    assert.ok((await log.text()).includes(SIMULATED_LOG_TEXT));
    // A fork's pull request is listed in the repository's status, and marked when closed.
    const forks = async () =>
      ((await admin.get(PREVIEW_REPOSITORIES, ns, 'shop')).status?.forkPullRequests ?? []).map(
        (f: { number: number; closed?: boolean }) => `${f.number}${f.closed ? ' closed' : ''}`,
      );
    const fork = (action: string) => fromFork(pullRequestEvent('acme/shop', action, 4, head), 'mallory/shop');
    assert.equal((await post(fork('opened'))).status, 200);
    assert.deepEqual(await forks(), ['4']);
    assert.equal((await post(fork('closed'))).status, 200);
    assert.deepEqual(await forks(), ['4 closed']);

    await admin.delete(PREVIEWS, ns, name);
    await waitFor(
      async () => !(await getOrUndefined(admin, PREVIEWS, ns, name)) || { pending: 'still there' },
      {
        what: `${name} undeployed`,
        timeoutMs: 90_000,
      },
    );
    assert.deepEqual(await labelled(admin, ns, name), [], 'nothing labelled is left');
  });

  it('with admission on and leader election off, the operator may issue and renew only its certificate Secret', async (t) => {
    const { kubectl, helm } = await tools();
    const release = await testNamespace(t, 'rel-tls');
    const rendered = helm([
      'template',
      'tls',
      join(ROOT, 'charts/bosun'),
      '--namespace',
      release,
      '--set',
      'admission.enabled=true',
      '--set',
      'leaderElection=false',
    ]);
    // The ServiceAccount and the Roles in the release namespace: the operator runs here as a process.
    const rbac = parseAllDocuments(rendered)
      .map((d) => d.toJSON() as KubeObject | null)
      .filter((d) => d && /^(ServiceAccount|Role|RoleBinding)$/.test(d.kind ?? ''));
    kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));
    const sa = await serviceAccountClient(release, 'tls-bosun');
    const ref = { namespace: release, name: 'tls-bosun-webhook-tls' };
    const hosts = ['tls-bosun-webhook.svc'];
    const log = silentLogger;
    const issued = await ensureServingCert(sa.client, log, ref, hosts);
    assert.ok(issued.managed && issued.certPem.includes('BEGIN CERTIFICATE'));
    // A new host: the serving certificate is renewed in place (get, then patch).
    const renewed = await ensureServingCert(sa.client, log, ref, [
      ...hosts,
      'tls-bosun-webhook.svc.cluster.local',
    ]);
    assert.notEqual(renewed.certPem, issued.certPem);
    await refused('reading another Secret', () =>
      sa.client.get({ group: '', version: 'v1', plural: 'secrets', namespaced: true }, release, 'other'),
    );
  });

  it('with watchNamespaces, grants writes in those namespaces only', async (t) => {
    const { kubectl, helm } = await tools();
    const release = await testNamespace(t, 'rel');
    const ns = await testNamespace(t, 'watched');
    const other = await testNamespace(t, 'other');
    const rendered = helm([
      'template',
      'scoped',
      join(ROOT, 'charts/bosun'),
      '--namespace',
      release,
      '--set',
      `watchNamespaces={${ns}}`,
    ]);
    // Only the ServiceAccount and the roles: the operator runs here as a process, not as a Pod.
    const rbac = parseAllDocuments(rendered)
      .map((d) => d.toJSON() as KubeObject | null)
      .filter(
        (d) => d && /^(ServiceAccount|ClusterRole|ClusterRoleBinding|Role|RoleBinding)$/.test(d.kind ?? ''),
      );
    kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));
    t.after(() =>
      kubectl(['delete', 'clusterrole,clusterrolebinding', 'scoped-bosun', '--ignore-not-found']),
    );
    const sa = await serviceAccountClient(release, 'scoped-bosun');
    await runHookAs(t, ns, [
      `--kubeconfig=${sa.kubeconfig}`,
      '--leader-elect',
      `--leader-election-namespace=${release}`,
    ]);

    await refused('creating a Job in a namespace it does not watch', () =>
      sa.client.create(Resources.jobs, job(other)),
    );
    await refused('listing Jobs in every namespace', () => sa.client.list(Resources.jobs));
    // A drain evicts (the budget permitting) but never deletes pods outside the watched namespaces.
    await refused('deleting a Pod in a namespace it does not watch', () =>
      sa.client.delete(Resources.pods, other, 'anything'),
    );
    await refused('listing Deployments in a namespace it does not watch', () =>
      sa.client.list(Resources.deployments, other),
    );
    assert.ok((await sa.client.list(Resources.nodes)).items.length > 0, 'nodes stay readable cluster-wide');

    // A DaemonJob's drain evicts a pod of a namespace it does not watch: a node's pods are anyone's.
    const admin = await testClient();
    const [node] = await pool(t, admin, ns, 1);
    await admin.create(Resources.replicaSets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'tenant', namespace: other },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'tenant' } },
        template: {
          metadata: { labels: { app: 'tenant' } },
          spec: { nodeSelector: { pool: ns }, containers: [{ name: 't', image: 't' }] },
        },
      },
    });
    const onNode = async () =>
      (await admin.list(Resources.pods, other, { fieldSelector: `spec.nodeName=${node}` })).items;
    const [tenant] = await waitFor(
      async () => ((await onNode()).length ? onNode() : { pending: 'the tenant pod on the node' }),
      { what: 'the tenant pod scheduled' },
    );
    await admin.apply(DAEMONJOBS, daemonJob(ns, 'drain', { drain: {} }));
    await waitPhase(admin, ns, 'drain', 'Complete');
    assert.ok(
      !(await onNode()).some((p) => p.metadata.uid === tenant?.metadata.uid),
      'the tenant pod was evicted before the per-node pod ran',
    );
  });
});
