// Integration-test harness: one local cluster per test run, a namespace per test, deleted
// afterwards. `npm run test:integration` starts the cluster in its global setup
// (test/support/global-setup.ts) and stops it at the end; a test file run alone starts it itself
// and stops it when its process ends. Either way a cluster that ran before is left running, and
// BOSUN_KEEP_CLUSTER=1 keeps the one started.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';
import type { ClusterState } from '../../src/dev/cluster.ts';
import { type ClusterRun, clusterForRun } from '../../src/dev/lifetime.ts';
import { KubeClient, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { TEST_NODES } from './global-setup.ts';

export { TEST_NODES };
export const logCluster = (line: string) => process.stderr.write(`# cluster: ${line}\n`);

let run: Promise<ClusterRun> | undefined;

export function testCluster(): Promise<ClusterState> {
  run ??= clusterForRun({ nodes: TEST_NODES, log: logCluster, exitOnSignal: true, quietIfReused: true });
  return run.then((r) => r.state);
}

// After this file's tests: stop the cluster if this process started it.
after(async () => {
  await (await run?.catch(() => undefined))?.finish();
});

export async function testClient(): Promise<KubeClient> {
  return KubeClient.fromKubeconfig((await testCluster()).kubeconfig);
}

/** Creates a namespace for this test and deletes it when the test ends. */
export async function testNamespace(t: TestContext, prefix = 't'): Promise<string> {
  const client = await testClient();
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await client.create(Resources.namespaces, { metadata: { name, labels: { 'bosun.dev/test': 'true' } } });
  t.after(() => client.delete(Resources.namespaces, undefined, name));
  return name;
}

/** A ServiceAccount and a one-hour token for it from the TokenRequest API. */
export async function serviceAccountToken(namespace: string, name: string): Promise<string> {
  const admin = await testClient();
  await admin.createIfAbsent(Resources.serviceAccounts, { metadata: { name, namespace } });
  const review = await admin.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 3600 },
      },
    },
  );
  return review.status.token;
}

/** A client and kubeconfig acting as a ServiceAccount, through a token from the TokenRequest API. */
export async function serviceAccountClient(namespace: string, name: string) {
  const token = await serviceAccountToken(namespace, name);
  const { kubeconfig } = await testCluster();
  const config = readFileSync(kubeconfig, 'utf8').replace(/user: \{.*\}/, `user: {token: "${token}"}`);
  const saKubeconfig = join(mkdtempSync(join(tmpdir(), 'bosun-rbac-')), 'kubeconfig.yaml');
  writeFileSync(saKubeconfig, config);
  const client = KubeClient.fromKubeconfig(saKubeconfig);
  const who = await client.request<{ status: { userInfo: { username: string } } }>(
    'POST',
    '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
  );
  assert.equal(who.status.userInfo.username, `system:serviceaccount:${namespace}:${name}`);
  return { client, kubeconfig: saKubeconfig };
}

/**
 * Makes the API server refuse, in `namespace`, the requests of `rule` that `expression` (CEL over
 * `object` and `oldObject`) rejects, with the message "held by the test": a ValidatingAdmissionPolicy
 * and its binding. Resolves once `probe` (a dry run of a refused request) is refused, with a function
 * that lifts the hold (also called when the test ends).
 */
export async function admissionHold(
  t: TestContext,
  client: KubeClient,
  namespace: string,
  hold: {
    rule: { apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] };
    expression: string;
    probe: () => Promise<unknown>;
  },
): Promise<() => Promise<void>> {
  const group = { group: 'admissionregistration.k8s.io', version: 'v1', namespaced: false };
  const policy = { ...group, plural: 'validatingadmissionpolicies' };
  const binding = { ...group, plural: 'validatingadmissionpolicybindings' };
  const name = `hold-${namespace}`;
  const release = async () => {
    for (const ref of [binding, policy]) await client.delete(ref, undefined, name);
  };
  t.after(release);
  await client.create(policy, {
    metadata: { name },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: { resourceRules: [hold.rule] },
      validations: [{ expression: hold.expression, message: 'held by the test' }],
    },
  });
  await client.create(binding, {
    metadata: { name },
    spec: {
      policyName: name,
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } },
    },
  });
  await waitFor(
    async () => {
      try {
        await hold.probe();
        return { pending: 'the admission policy is not in force yet' };
      } catch (e) {
        return /held by the test/.test(String(e)) || { pending: String(e) };
      }
    },
    { what: 'the admission policy in force' },
  );
  return release;
}
