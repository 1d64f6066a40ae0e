// Runs `bosun run` as a real child process against the test cluster, the way users run it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { isNotFound, type KubeClient, type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testClient, testCluster } from './cluster.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const CRDS = new URL('../../deploy/crds/bosun.dev.yaml', import.meta.url);

let crdsInstalled: Promise<void> | undefined;

/** Applies the committed CRDs once per test process and waits until they are served. */
export function installCrds(): Promise<void> {
  crdsInstalled ??= (async () => {
    const client = await testClient();
    const crds = parseAllDocuments(readFileSync(CRDS, 'utf8'))
      .map((d) => d.toJSON() as KubeObject)
      .filter(Boolean);
    for (const crd of crds) await client.apply(Resources.crds, crd);
    for (const crd of crds) {
      await waitFor(
        async () => {
          const got = await client.get(Resources.crds, undefined, crd.metadata.name as string);
          return got.status?.conditions?.some(
            (c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True',
          );
        },
        { what: `CRD ${crd.metadata.name} established` },
      );
    }
  })();
  return crdsInstalled;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface Operator {
  process: ChildProcess;
  healthPort: number;
  metricsPort: number;
  /** Parsed JSON log lines. */
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  metrics(): Promise<string>;
}

export interface OperatorOptions {
  namespaces: string[];
  args?: string[];
  env?: Record<string, string>;
  /** Wait for /readyz (default true). With leader election, ready does not mean leading. */
  waitReady?: boolean;
}

export async function startOperator(t: TestContext, opts: OperatorOptions): Promise<Operator> {
  await installCrds();
  const { kubeconfig } = await testCluster();
  const healthPort = await freePort();
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'run',
      `--kubeconfig=${kubeconfig}`,
      `--namespace=${opts.namespaces.join(',')}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      '--log-level=debug',
      ...(opts.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } },
  );
  const logs: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const op: Operator = {
    process: child,
    healthPort,
    metricsPort,
    logs,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async metrics() {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      return res.text();
    },
  };
  t.after(() => op.kill('SIGKILL'));
  if (opts.waitReady !== false) {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`operator exited with ${child.exitCode}: ${stderr}`);
        const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
        return res?.status === 200 || { pending: res ? await res.text() : 'not listening' };
      },
      { what: 'the operator to be ready', timeoutMs: 60_000 },
    );
  }
  return op;
}

/** Events about an object, newest last (events.k8s.io/v1). */
export async function eventsFor(client: KubeClient, namespace: string, name: string): Promise<KubeObject[]> {
  const list = await client.list(Resources.events, namespace, { fieldSelector: `regarding.name=${name}` });
  return list.items.sort((a, b) => String(a.eventTime).localeCompare(String(b.eventTime)));
}

export async function getOrUndefined(
  client: KubeClient,
  ...args: Parameters<KubeClient['get']>
): Promise<KubeObject | undefined> {
  try {
    return await client.get(...args);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** One series of the operator's /metrics (`name{labels}` as exposed), or 0 before it exists. */
export async function metricValue(op: Operator, series: string): Promise<number> {
  const line = (await op.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** `kubectl apply -f -` of one object as a user would; returns kubectl's error output ('' if accepted). */
export async function kubectlApply(object: KubeObject): Promise<string> {
  const { kubeconfig, binDir } = await testCluster();
  try {
    execFileSync(join(binDir, 'kubectl'), ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], {
      input: JSON.stringify(object),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return '';
  } catch (e) {
    return String((e as { stderr: Buffer }).stderr);
  }
}
