// Integration-test harness: one local cluster per test run (started if none runs, reused
// otherwise), a namespace per test, deleted afterwards.
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type ClusterState, up } from '../../src/dev/cluster.ts';
import { KubeClient, Resources } from '../../src/runtime/kube-client.ts';

// Tests kill and restart components, so they get a cluster of their own, apart from `bosun dev up`'s.
process.env.BOSUN_DEV_DIR ??= join(
  process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'),
  'bosun',
  'test-cluster',
);

export const TEST_NODES = 3;

let started: Promise<ClusterState> | undefined;

export function testCluster(): Promise<ClusterState> {
  started ??= up({ nodes: TEST_NODES, log: (line) => process.stderr.write(`# cluster: ${line}\n`) });
  return started;
}

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
