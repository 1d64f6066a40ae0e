// Shared pieces of the benchmarks: a dedicated cluster, process memory, percentiles, tables.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type ClusterState, up } from '../src/dev/cluster.ts';
import { KubeClient, type KubeObject, type ResourceRef } from '../src/runtime/kube-client.ts';
import { inParallel } from '../src/runtime/parallel.ts';

process.env.BOSUN_DEV_DIR ??= join(
  process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'),
  'bosun',
  'bench-cluster',
);

export async function benchCluster(nodes: number): Promise<{ state: ClusterState; client: KubeClient }> {
  const state = await up({ nodes, log: (l) => process.stderr.write(`# cluster: ${l}\n`) });
  return { state, client: KubeClient.fromKubeconfig(state.kubeconfig) };
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

/** Runs `bosun run` as a child process, like a user would. */
export function startOperatorProcess(kubeconfig: string, args: string[]): ChildProcess {
  const main = new URL('../src/cli/main.ts', import.meta.url).pathname;
  return spawn(process.execPath, [main, 'run', `--kubeconfig=${kubeconfig}`, '--log-level=warn', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
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
