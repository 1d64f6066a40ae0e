// Global setup of `npm run test:integration` (node --test-global-setup): starts the test cluster
// once for every test file and stops it when the run ends (also on failure and Ctrl-C, which the
// test runner turns into a teardown), unless it ran before or BOSUN_KEEP_CLUSTER=1.
import { clustersRoot } from '../../src/dev/cluster.ts';
import { type ClusterRun, clusterForRun } from '../../src/dev/lifetime.ts';

// Tests kill and restart components, so they get a cluster of their own, apart from `bosun dev up`'s.
// Set before the test files start, so that they find the same cluster (they inherit the env).
process.env.BOSUN_DEV_DIR ??= `${clustersRoot()}/test-cluster`;
export const TEST_NODES = 3;
const log = (line: string) => process.stderr.write(`# cluster: ${line}\n`);

let run: Promise<ClusterRun> | undefined;

export async function globalSetup(): Promise<void> {
  run = clusterForRun({ nodes: TEST_NODES, log });
  await run;
}

export async function globalTeardown(): Promise<void> {
  await (await run?.catch(() => undefined))?.finish();
}
