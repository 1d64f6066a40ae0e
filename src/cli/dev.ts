// `bosun dev ...`: manage the local control plane.
import { parseArgs } from 'node:util';
import { down, envLines, readState, status, up, waitNodesReady } from '../dev/cluster.ts';
import { addNodes, deleteNodes, listSimulatedNodes } from '../dev/nodes.ts';
import { KubeClient } from '../runtime/kube-client.ts';

const USAGE = `usage:
  bosun dev up [--nodes N]          build (once) and start the local cluster with N nodes (default 3)
  bosun dev env                     print export lines for KUBECONFIG and PATH (eval "$(bosun dev env)")
  bosun dev status                  show which components run
  bosun dev nodes add [--count N]   add N simulated nodes (default 1)
  bosun dev nodes delete NAME...    delete simulated nodes
  bosun dev down                    stop everything and remove the state`;

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
      const { state, components } = await status();
      if (!state) {
        process.stdout.write('no local cluster (bosun dev up starts one)\n');
        return 1;
      }
      process.stdout.write(
        `server     ${state.server}\nkubeconfig ${state.kubeconfig}\nstate      ${state.dir}\n`,
      );
      for (const c of components) {
        process.stdout.write(
          `${c.name.padEnd(24)} pid ${String(c.pid).padEnd(8)} ${c.healthy ? 'healthy' : c.running ? 'running, not healthy' : 'NOT RUNNING'}\n`,
        );
      }
      if (components.every((c) => c.healthy)) {
        const nodes = await listSimulatedNodes(KubeClient.fromKubeconfig(state.kubeconfig));
        process.stdout.write(`nodes      ${nodes.length}\n`);
      }
      return components.every((c) => c.healthy) ? 0 : 1;
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
    case 'down':
      await down();
      log('stopped and removed');
      return 0;
    default:
      process.stderr.write(`${USAGE}\n`);
      return sub === undefined || sub === 'help' || sub === '--help' ? 0 : 2;
  }
}
