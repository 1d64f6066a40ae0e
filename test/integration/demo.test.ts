// `bosun demo`, the README's main command, run as a user runs it (on the test cluster, which it
// finds already up): it must end well and narrate each use case's outcome, the previews from GitHub
// included; a change that breaks a step of it fails here, not in front of a new user.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { type TestContext, test } from 'node:test';
import { listSimulatedNodes } from '../../src/dev/nodes.ts';
import { type KubeClient, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { TEST_NODES, testClient } from '../support/cluster.ts';
import { getOrUndefined, startOperator } from '../support/operator.ts';

const NODES = { group: '', version: 'v1', plural: 'nodes', namespaced: false };
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const NS = 'bosun-demo';

test('bosun demo runs every use case to its end', async (t) => {
  const client = await testClient();
  const nodesBefore = new Set((await listSimulatedNodes(client)).map((n) => n.metadata.name));
  try {
    const { code, out } = await runDemo();
    assert.equal(code, 0, out);
    for (const outcome of [
      /hook Jobs, one per revision: migrate-shop-1-\w+, migrate-shop-2-\w+/,
      /A node joins \(kwok-node-\d+\); it runs there too/,
      /objects labelled bosun\.dev\/preview=shop-main-a1b2c3d: \d+ before .*, 0 after its cleanup Job/,
      /pull_request "opened", signed \(X-Hub-Signature-256\): 202 storefront-pr12 created/,
      /same preview, same URL http:\/\/storefront-pr12\.preview\.example/,
      /objects labelled bosun\.dev\/preview=storefront-pr12: \d+ before, 0 after/,
    ])
      assert.match(out, outcome);
  } finally {
    await leaveClusterAsFound(t, client, nodesBefore);
  }
});

async function runDemo(): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [MAIN, 'demo', `--nodes=${TEST_NODES}`, '--port=0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    out += c;
  });
  // The demo waits on each step with deadlines of its own; this one only bounds the whole.
  const deadline = setTimeout(() => child.kill('SIGKILL'), 8 * 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(deadline);
  return { code, out };
}

/**
 * The demo leaves its previews deployed (their finalizers wait for an operator's cleanup Jobs) and
 * the node it added: an operator undeploys them as the namespace goes, and the node is removed.
 */
async function leaveClusterAsFound(t: TestContext, client: KubeClient, nodesBefore: Set<unknown>) {
  await startOperator(t, { namespaces: [NS] });
  await client.delete(Resources.namespaces, undefined, NS);
  await waitFor(async () => !(await getOrUndefined(client, Resources.namespaces, undefined, NS)), {
    what: `namespace ${NS} gone`,
    timeoutMs: 180_000,
  });
  for (const n of await listSimulatedNodes(client))
    if (!nodesBefore.has(n.metadata.name)) await client.delete(NODES, undefined, n.metadata.name as string);
}
