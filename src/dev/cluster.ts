// `bosun dev`: a local Kubernetes control plane (upstream binaries built from Go modules, kwok as
// the kubelets) running in the background, with its state, logs and kubeconfig in one directory.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isNotFound, KubeClient, Resources } from '../runtime/kube-client.ts';
import {
  type ComponentName,
  componentSpecs,
  kubeconfigYaml,
  NODE_LEASE_SECONDS,
  type Ports,
  START_ORDER,
} from './components.ts';
import { kwokConfigYaml } from './kwok-stages.ts';
import { addNodes, isNodeReady, listSimulatedNodes } from './nodes.ts';
import { createPki, type Pki, pkiPaths } from './pki.ts';

const BUILD_SCRIPT = resolve(import.meta.dirname, '../../tools/build-control-plane.sh');

/** Where named clusters live: ~/.local/state/bosun (or $XDG_STATE_HOME/bosun). */
export function clustersRoot(): string {
  return resolve(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'bosun');
}

/**
 * The state directory of a cluster: by name (`test-cluster` is <root>/test-cluster) or path;
 * without one, $BOSUN_DEV_DIR, else <root>/dev.
 */
export function clusterDir(name?: string): string {
  if (name) return name.includes('/') ? resolve(name) : join(clustersRoot(), name);
  return resolve(process.env.BOSUN_DEV_DIR ?? join(clustersRoot(), 'dev'));
}

/** How to name a cluster on the command line: its folder name when under the root, else its path. */
export function clusterName(dir: string): string {
  return dirname(dir) === clustersRoot() ? basename(dir) : dir;
}

/** Every cluster with state: the folders under the root, plus $BOSUN_DEV_DIR's if it is elsewhere. */
export function listClusters(): string[] {
  const root = clustersRoot();
  let names: string[] = [];
  try {
    names = readdirSync(root);
  } catch {
    // no cluster was ever started
  }
  const dirs = names.map((n) => join(root, n)).filter((d) => existsSync(statePath(d)));
  const current = clusterDir();
  if (existsSync(statePath(current)) && !dirs.includes(current)) dirs.push(current);
  return dirs.sort();
}

interface ComponentState {
  pid: number;
  args: string[];
  health?: string;
}

export interface ClusterState {
  dir: string;
  binDir: string;
  kubeconfig: string;
  server: string;
  ports: Ports;
  components: Record<ComponentName, ComponentState>;
}

export type Log = (line: string) => void;

const statePath = (dir: string) => join(dir, 'state.json');
const logPath = (dir: string, name: string) => join(dir, 'logs', `${name}.log`);

export function readState(dir = clusterDir()): ClusterState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(dir), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

/** Builds the binaries (cached by version) with progress on stderr; returns their directory. */
export function buildBinaries(log: Log): string {
  const binDir = execFileSync('bash', [BUILD_SCRIPT, '--print-bin-dir'], { encoding: 'utf8' }).trim();
  const ready = [
    'etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'kubectl',
    'kwok',
    'helm',
  ].every((b) => existsSync(join(binDir, b)));
  if (!ready) log('building the control plane from Go modules (first time only)');
  // A cold build streams its progress; a check of cached binaries stays quiet unless it fails.
  const result = spawnSync('bash', [BUILD_SCRIPT], {
    stdio: ['ignore', ready ? 'pipe' : 2, ready ? 'pipe' : 2],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(
      `building the control plane failed (exit ${result.status ?? result.signal})${output ? `:\n${output}` : '; see the output above'}`,
    );
  }
  return binDir;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A pid is ours only if it still runs one of our binaries (pids get reused after a reboot). */
function isOurProcess(pid: number, binDir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(binDir);
  } catch {
    return isAlive(pid);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

function probe(url: string, pki: Pki): Promise<boolean> {
  return new Promise((done) => {
    const opts = {
      timeout: 2000,
      cert: readFileSync(pki.cert),
      key: readFileSync(pki.key),
      rejectUnauthorized: false,
    };
    const req = url.startsWith('https:') ? https.get(url, opts) : http.get(url, { timeout: 2000 });
    req.on('response', (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on('error', () => done(false));
    req.on('timeout', () => req.destroy());
  });
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function startProcess(state: ClusterState, name: ComponentName): ChildProcess {
  const c = state.components[name];
  const log = openSync(logPath(state.dir, name), 'a');
  // HOME points at the state dir: kwok merges ~/.kwok/kwok.yaml into its config when it exists.
  const child = spawn(join(state.binDir, name), c.args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, HOME: state.dir },
  });
  closeSync(log);
  child.unref();
  c.pid = child.pid ?? -1;
  return child;
}

async function waitHealthy(
  state: ClusterState,
  name: ComponentName,
  pki: Pki,
  timeoutMs = 120_000,
): Promise<void> {
  const c = state.components[name];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(c.pid)) {
      throw new Error(
        `${name} exited during start-up. Last lines of ${logPath(state.dir, name)}:\n${tail(logPath(state.dir, name))}`,
      );
    }
    if (!c.health || (await probe(c.health, pki))) return;
    await sleep(200);
  }
  throw new Error(
    `${name} was not healthy within ${timeoutMs / 1000}s. Last lines of its log:\n${tail(logPath(state.dir, name))}`,
  );
}

/** True when the cluster in `dir` has all its processes up and its API server answers. */
export async function isClusterRunning(dir = clusterDir()): Promise<boolean> {
  const state = readState(dir);
  return state !== undefined && (await isRunning(state));
}

async function isRunning(state: ClusterState): Promise<boolean> {
  const pki = pkiPaths(join(state.dir, 'pki'));
  for (const name of START_ORDER) {
    const c = state.components[name];
    if (!c || !isAlive(c.pid)) return false;
  }
  return probe(state.components['kube-apiserver'].health as string, pki);
}

function stopProcesses(state: ClusterState, signal: NodeJS.Signals = 'SIGTERM'): number[] {
  const stopped: number[] = [];
  for (const name of [...START_ORDER].reverse()) {
    const pid = state.components[name]?.pid;
    if (pid && pid > 0 && isOurProcess(pid, state.binDir)) {
      try {
        process.kill(pid, signal);
        stopped.push(pid);
      } catch {
        // already gone
      }
    }
  }
  return stopped;
}

async function waitGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** Serialises `dev up`/`dev down` across processes (a test run and a shell, say). */
async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, '..', `${dir.split('/').pop()}.lock`);
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(readFileSync(lock, 'utf8') || 0);
      if (!holder || !isAlive(holder)) rmSync(lock, { force: true });
      else await sleep(250);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

export interface UpOptions {
  nodes?: number;
  log?: Log;
  /** State directory (default: clusterDir()). */
  dir?: string;
  /** Finds a free port for a component (tests hand out a taken one). */
  freePort?: () => Promise<number>;
}

/** Starts the cluster, or returns the running one (then only the node count is topped up). */
export async function up(opts: UpOptions = {}): Promise<ClusterState> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const nodes = opts.nodes ?? 3;
  const dir = opts.dir ?? clusterDir();
  return withLock(dir, async () => {
    const existing = readState(dir);
    if (existing && (await isRunning(existing))) {
      await ensureNodes(existing, nodes, log);
      return existing;
    }
    if (existing) {
      log('found state from a cluster that is no longer running; cleaning it up');
      await waitGone(stopProcesses(existing, 'SIGKILL'), 10_000);
    }
    rmSync(dir, { recursive: true, force: true });
    const binDir = buildBinaries(log);
    mkdirSync(join(dir, 'logs'), { recursive: true });
    mkdirSync(join(dir, 'pki'), { recursive: true });
    const pki = createPki(join(dir, 'pki'));
    // A port found free may be taken before its component binds it (an outgoing connection gets
    // the same ephemeral port): then the start-up begins again on other ports.
    for (let attempt = 1; ; attempt++) {
      try {
        const state = await startComponents(dir, binDir, pki, nodes, log, opts.freePort ?? freePort);
        log(`cluster ready: ${state.server} (state in ${dir})`);
        return state;
      } catch (e) {
        if (attempt >= PORT_ATTEMPTS || !/address already in use/.test(String(e))) throw e;
        log(
          `a port was taken during start-up (${(e as Error).message.split('\n').at(-1)}); starting again on other ports`,
        );
      }
    }
  });
}

const PORT_ATTEMPTS = 3;

async function startComponents(
  dir: string,
  binDir: string,
  pki: Pki,
  nodes: number,
  log: Log,
  port: () => Promise<number>,
): Promise<ClusterState> {
  rmSync(join(dir, 'etcd'), { recursive: true, force: true }); // an attempt before may have made it
  const ports: Ports = {
    etcd: await port(),
    etcdPeer: await port(),
    apiserver: await port(),
    controllerManager: await port(),
    scheduler: await port(),
    kwok: await port(),
  };
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  writeFileSync(kubeconfig, kubeconfigYaml(server, pki));
  writeFileSync(join(dir, 'kwok.yaml'), kwokConfigYaml(NODE_LEASE_SECONDS));
  const specs = componentSpecs(dir, ports, pki, kubeconfig);
  const components = Object.fromEntries(
    specs.map((s) => [s.name, { pid: -1, args: s.args, health: s.health }]),
  ) as Record<ComponentName, ComponentState>;
  const state: ClusterState = { dir, binDir, kubeconfig, server, ports, components };
  try {
    for (const name of START_ORDER) {
      log(`starting ${name}`);
      startProcess(state, name);
      writeFileSync(statePath(dir), JSON.stringify(state, null, 2));
      await waitHealthy(state, name, pki);
    }
    await ensureNodes(state, nodes, log);
    await waitForDefaultServiceAccount(state);
  } catch (e) {
    await waitGone(stopProcesses(state, 'SIGKILL'), 10_000);
    throw e;
  }
  return state;
}

async function ensureNodes(state: ClusterState, want: number, log: Log): Promise<void> {
  const client = KubeClient.fromKubeconfig(state.kubeconfig);
  const have = (await listSimulatedNodes(client)).length;
  if (have < want) {
    log(`creating ${want - have} simulated node(s)`);
    await addNodes(client, want - have);
  }
  await waitNodesReady(client, log);
}

export async function waitNodesReady(client: KubeClient, log?: Log, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = 0;
  for (;;) {
    const nodes = await listSimulatedNodes(client);
    const ready = nodes.filter(isNodeReady).length;
    if (ready === nodes.length) return;
    if (Date.now() > deadline)
      throw new Error(
        `only ${ready} of ${nodes.length} nodes became Ready; is kwok running? (bosun dev status)`,
      );
    if (log && Date.now() - lastReport > 5000) {
      log(`${ready}/${nodes.length} nodes Ready`);
      lastReport = Date.now();
    }
    await sleep(250);
  }
}

async function waitForDefaultServiceAccount(state: ClusterState, timeoutMs = 120_000): Promise<void> {
  const client = KubeClient.fromKubeconfig(state.kubeconfig);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.get(Resources.serviceAccounts, 'default', 'default');
      return;
    } catch (e) {
      if (!isNotFound(e) || Date.now() > deadline) throw e;
      await sleep(250);
    }
  }
}

/** Stops every process the cluster started and removes its state. */
export async function down(dir = clusterDir()): Promise<void> {
  await withLock(dir, async () => {
    const state = readState(dir);
    if (state) {
      // kube-apiserver drains its watches for a while on SIGTERM; nothing here needs that.
      if (!(await waitGone(stopProcesses(state), 5_000)))
        await waitGone(stopProcesses(state, 'SIGKILL'), 5_000);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  rmSync(`${dir}.lock`, { force: true });
}

/**
 * `down` for a process that is exiting and cannot wait: SIGKILL (nothing survives that needs a
 * clean stop: the state goes too), then the state is removed.
 */
export function killClusterNow(dir = clusterDir()): void {
  const state = readState(dir);
  if (state) stopProcesses(state, 'SIGKILL');
  // A process may still write a file while its SIGKILL lands: retry the removal.
  rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  rmSync(`${dir}.lock`, { force: true });
}

export interface ComponentStatus {
  name: ComponentName;
  pid: number;
  running: boolean;
  healthy: boolean;
}

export async function status(
  dir = clusterDir(),
): Promise<{ state?: ClusterState; components: ComponentStatus[] }> {
  const state = readState(dir);
  if (!state) return { components: [] };
  const pki = pkiPaths(join(state.dir, 'pki'));
  const components = await Promise.all(
    START_ORDER.map(async (name) => {
      const c = state.components[name];
      const running = isAlive(c.pid);
      return { name, pid: c.pid, running, healthy: running && (!c.health || (await probe(c.health, pki))) };
    }),
  );
  return { state, components };
}

export function envLines(state: ClusterState): string {
  return `export KUBECONFIG=${state.kubeconfig}\nexport PATH=${state.binDir}:$PATH\n`;
}

/** Kills one component (SIGKILL) and, unless told not to, starts it again with the same flags. */
export async function restartComponent(name: ComponentName, opts: { start?: boolean } = {}): Promise<void> {
  const state = readState();
  if (!state) throw new Error('no local cluster is running; run `bosun dev up`');
  const c = state.components[name];
  if (isOurProcess(c.pid, state.binDir)) process.kill(c.pid, 'SIGKILL');
  await waitGone([c.pid], 10_000);
  if (opts.start === false) return;
  startProcess(state, name);
  writeFileSync(statePath(state.dir), JSON.stringify(state, null, 2));
  await waitHealthy(state, name, pkiPaths(join(state.dir, 'pki')));
}
