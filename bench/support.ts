// Shared pieces of the benchmarks: a dedicated cluster, process memory, percentiles, tables.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type ClusterState, clusterDir, clusterName } from '../src/dev/cluster.ts';
import { type ClusterRun, clusterForRun } from '../src/dev/lifetime.ts';
import { KubeClient, type KubeObject, type ResourceRef } from '../src/runtime/kube-client.ts';
import { inParallel } from '../src/runtime/parallel.ts';
import { formatStartingState, measureStartingState, startingStateProblems } from './starting-state.ts';

export interface BenchCluster {
  state: ClusterState;
  client: KubeClient;
  /** The checked starting state, to print above the tables. */
  startingState: string;
  run: ClusterRun;
}

const log = (line: string) => process.stderr.write(`# cluster: ${line}\n`);

/**
 * A cluster of the bench's own ($BOSUN_DEV_DIR, else bench-<name>) with exactly `nodes` nodes and
 * no workload: started for this run and stopped when it ends (unless BOSUN_KEEP_CLUSTER=1), or one
 * already running that is verified clean.
 */
export async function benchCluster(name: string, nodes: number): Promise<BenchCluster> {
  const dir = process.env.BOSUN_DEV_DIR ? clusterDir() : clusterDir(`bench-${name}`);
  const run = await clusterForRun({ nodes, log, dir, exitOnSignal: true });
  const client = KubeClient.fromKubeconfig(run.state.kubeconfig);
  const state = await measureStartingState(client, run.ownership === 'was-running' ? 'reused' : 'fresh');
  const problems = startingStateProblems(state, nodes);
  if (problems.length) {
    await run.finish();
    throw new Error(
      `the running cluster ${clusterName(dir)} is not a clean start for this benchmark (${problems.join('; ')}); ` +
        `stop it with \`bosun dev down ${clusterName(dir)}\` and run again`,
    );
  }
  const startingState = formatStartingState(state);
  process.stderr.write(`${startingState.replace(/^/gm, '# ')}\n`);
  return { state: run.state, client, startingState, run };
}

/** Ends a benchmark: stops its cluster (if it started it) and exits. */
export async function endBench(cluster: BenchCluster, code = 0): Promise<never> {
  await cluster.run.finish();
  process.exit(code);
}

/** Resident set size of a process, in MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export function table(title: string, header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [
    `\n${title}\n`,
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.slice(1).map(line),
  ].join('\n');
}

export async function createMany(
  client: KubeClient,
  ref: ResourceRef,
  objects: KubeObject[],
  concurrency = 32,
): Promise<void> {
  await inParallel(objects, concurrency, async (o) => {
    await client.createIfAbsent(ref, o);
  });
}

export async function ensureNamespace(client: KubeClient, name: string) {
  await client.createIfAbsent(
    { group: '', version: 'v1', plural: 'namespaces', namespaced: false },
    { metadata: { name } },
  );
}

/** The V8 flags the image's entrypoint runs the operator with (Dockerfile). */
export const OPERATOR_NODE_FLAGS = ['--optimize-for-size'];

/** Runs `bosun run` as a child process, like a user would (with the image's Node flags). */
export function startOperatorProcess(
  kubeconfig: string,
  args: string[],
  nodeFlags: string[] = [],
): ChildProcess {
  const main = new URL('../src/cli/main.ts', import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    [
      ...OPERATOR_NODE_FLAGS,
      ...nodeFlags,
      main,
      'run',
      `--kubeconfig=${kubeconfig}`,
      '--log-level=warn',
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // A bench that fails or is interrupted must not leave its operator running.
  process.on('exit', () => child.kill('SIGKILL'));
  return child;
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export async function scrape(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

export function metricSum(text: string, name: string, labelFilter = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      if (labelFilter && !line.includes(labelFilter)) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}
