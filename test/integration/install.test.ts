// The install manifests on the real API server: the Helm chart and the plain manifests are
// accepted, and the operator runs through a scenario with exactly the chart's RBAC.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HOOKS } from '../../src/controllers/deploymenthook/controller.ts';
import { ApiError, KubeClient, Resources } from '../../src/runtime/kube-client.ts';
import { testClient, testCluster, testNamespace } from '../support/cluster.ts';
import { deployment, hook, waitHook } from '../support/deployments.ts';
import { startOperator } from '../support/operator.ts';

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
      'watchNamespaces={a,b}',
    ]);
    assert.match(rendered, /kind: ClusterRole\b/);
    assert.match(rendered, /--namespace=a,b/);
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

  it('runs the operator with only the RBAC it installs; other verbs are refused', async (t) => {
    const { kubectl } = await tools();
    // The plain manifests (kubectl apply -k) install the same ServiceAccount and roles as the chart.
    kubectl(['apply', '-k', join(ROOT, 'deploy/install')]);
    const admin = await testClient();
    const ns = await testNamespace(t, 'rbac');

    const token = await admin.request<{ status: { token: string } }>(
      'POST',
      '/api/v1/namespaces/bosun-system/serviceaccounts/bosun/token',
      {
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: 3600 },
        },
      },
    );
    const { kubeconfig } = await testCluster();
    const config = readFileSync(kubeconfig, 'utf8').replace(
      /user: \{.*\}/,
      `user: {token: "${token.status.token}"}`,
    );
    const dir = mkdtempSync(join(tmpdir(), 'bosun-rbac-'));
    const saKubeconfig = join(dir, 'kubeconfig.yaml');
    writeFileSync(saKubeconfig, config);
    const sa = KubeClient.fromKubeconfig(saKubeconfig);
    const who = await sa.request<{ status: { userInfo: { username: string } } }>(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
    );
    assert.equal(who.status.userInfo.username, 'system:serviceaccount:bosun-system:bosun');

    await startOperator(t, {
      namespaces: [ns],
      args: [`--kubeconfig=${saKubeconfig}`, '--leader-elect', '--leader-election-namespace=bosun-system'],
    });
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

    const refused = async (what: string, call: () => Promise<unknown>) => {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(
        err instanceof ApiError && err.code === 403,
        `${what} is refused (got ${err instanceof Error ? err.message : 'success'})`,
      );
    };
    await refused('deleting a Deployment', () =>
      sa.request('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/web`),
    );
    await refused('reading Secrets', () =>
      sa.list({ group: '', version: 'v1', plural: 'secrets', namespaced: true }, ns),
    );
    await refused('creating Pods', () =>
      sa.create(Resources.pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'x', namespace: ns },
        spec: { containers: [{ name: 'x', image: 'x' }] },
      }),
    );
    await refused('changing a hook spec', () =>
      sa.mergePatch(HOOKS, ns, 'migrate', { spec: { suspend: true } }),
    );
  });
});
