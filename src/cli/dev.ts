// `bosun dev ...`: manage the local control plane.
import { parseArgs } from 'node:util';
import {
  clusterDir,
  clusterName,
  down,
  envLines,
  listClusters,
  readState,
  status,
  up,
  waitNodesReady,
} from '../dev/cluster.ts';
import { addNodes, deleteNodes, listSimulatedNodes } from '../dev/nodes.ts';
import { KubeClient } from '../runtime/kube-client.ts';

const USAGE = `usage:
  bosun dev up [--nodes N]          build (once) and start the local cluster with N nodes (default 3)
  bosun dev env                     print export lines for KUBECONFIG and PATH (eval "$(bosun dev env)")
  bosun dev status [NAME...|--all]  show which components run (--all: every Bosun cluster)
  bosun dev nodes add [--count N]   add N simulated nodes (default 1)
  bosun dev nodes delete NAME...    delete simulated nodes
  bosun dev down [NAME...|--all]    stop everything and remove the state (--all: every Bosun cluster)

NAME is a cluster under ${clusterDir('NAME').replace(/NAME$/, '')} (test-cluster, bench-runtime, ...) or a
path; without one, the cluster in $BOSUN_DEV_DIR (default: dev).`;

const log = (line: string) => process.stderr.write(`bosun dev: ${line}\n`);

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${flag} must be a non-negative integer, got "${value}"`);
  return n;
}

function runningState() {
  const state = readState();
  if (!state) throw new Error('no local cluster is running; start one with `bosun dev up`');
  return state;
}

/** The clusters named on the command line (--all, names or paths), else `fallback`. */
function namedClusters(args: string[], fallback: string[]): string[] {
  const { values, positionals } = parseArgs({
    args,
    options: { all: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (values.all) return listClusters();
  if (positionals.length) return positionals.map((name) => clusterDir(name));
  return fallback;
}

/** Prints one cluster's components and nodes; true when all are healthy. */
async function printStatus(dir: string): Promise<boolean> {
  const { state, components } = await status(dir);
  if (!state) {
    process.stdout.write(`cluster    ${clusterName(dir)}: not running (no state in ${dir})\n`);
    return false;
  }
  process.stdout.write(
    `cluster    ${clusterName(dir)}\nserver     ${state.server}\nkubeconfig ${state.kubeconfig}\nstate      ${state.dir}\n`,
  );
  for (const c of components) {
    process.stdout.write(
      `${c.name.padEnd(24)} pid ${String(c.pid).padEnd(8)} ${c.healthy ? 'healthy' : c.running ? 'running, not healthy' : 'NOT RUNNING'}\n`,
    );
  }
  const healthy = components.every((c) => c.healthy);
  if (healthy) {
    const nodes = await listSimulatedNodes(KubeClient.fromKubeconfig(state.kubeconfig));
    process.stdout.write(`nodes      ${nodes.length}\n`);
  }
  return healthy;
}

export async function devCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'up': {
      const { values } = parseArgs({ args: rest, options: { nodes: { type: 'string' } } });
      const started = Date.now();
      const state = await up({ nodes: positiveInt(values.nodes, '--nodes', 3), log });
      log(`ready in ${((Date.now() - started) / 1000).toFixed(1)}s; run: eval "$(bosun dev env)"`);
      process.stdout.write(`${state.kubeconfig}\n`);
      return 0;
    }
    case 'env':
      process.stdout.write(envLines(runningState()));
      return 0;
    case 'status': {
      const dirs = namedClusters(rest, readState(clusterDir()) ? [clusterDir()] : []);
      if (dirs.length === 0) process.stdout.write('no local cluster (bosun dev up starts one)\n');
      let healthy = dirs.length > 0;
      for (const [i, dir] of dirs.entries()) {
        if (i > 0) process.stdout.write('\n');
        healthy = (await printStatus(dir)) && healthy;
      }
      if (!rest.includes('--all')) {
        const others = listClusters().filter((d) => !dirs.includes(d));
        if (others.length)
          process.stdout.write(
            `\nother Bosun clusters: ${others.map(clusterName).join(', ')} (bosun dev status --all)\n`,
          );
      }
      return healthy ? 0 : 1;
    }
    case 'nodes': {
      const client = KubeClient.fromKubeconfig(runningState().kubeconfig);
      const [action, ...args] = rest;
      if (action === 'add') {
        const { values } = parseArgs({ args, options: { count: { type: 'string' } } });
        const created = await addNodes(client, positiveInt(values.count, '--count', 1));
        await waitNodesReady(client, log);
        process.stdout.write(`${created.join('\n')}\n`);
        return 0;
      }
      if (action === 'delete' && args.length > 0) {
        await deleteNodes(client, args);
        return 0;
      }
      throw new Error(`unknown: bosun dev nodes ${rest.join(' ')}\n${USAGE}`);
    }
    case 'down': {
      for (const dir of namedClusters(rest, [clusterDir()])) {
        await down(dir);
        log(`stopped and removed ${clusterName(dir)}`);
      }
      return 0;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return sub === undefined || sub === 'help' || sub === '--help' ? 0 : 2;
  }
}
