// Who stops a local cluster: the run that started it (a test suite, a benchmark), when it ends —
// normally, on failure or on SIGINT/SIGTERM — unless BOSUN_KEEP_CLUSTER asks to keep it. A
// cluster that was already running when the run began is left as it was.
import { constants } from 'node:os';
import {
  type ClusterState,
  clusterDir,
  clusterName,
  down,
  isClusterRunning,
  killClusterNow,
  type Log,
  up,
} from './cluster.ts';

export const KEEP_CLUSTER_ENV = 'BOSUN_KEEP_CLUSTER';

/** BOSUN_KEEP_CLUSTER=1 (or true/yes) keeps the cluster a run started. */
export function keepClusterRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env[KEEP_CLUSTER_ENV] ?? '').trim().toLowerCase();
  return value !== '' && !['0', 'false', 'no'].includes(value);
}

export type ClusterOwnership = 'started' | 'kept' | 'was-running';

export interface ClusterRun {
  state: ClusterState;
  ownership: ClusterOwnership;
  /** Stops the cluster if this run owns it, else says why it stays; safe to call more than once. */
  finish(): Promise<void>;
}

export interface ClusterRunOptions {
  nodes: number;
  log: Log;
  dir?: string;
  /** Stop the cluster and exit on SIGINT/SIGTERM (for scripts; a test runner has its own handling). */
  exitOnSignal?: boolean;
  /** Say nothing at the end about a cluster that ran before (a test file inside a bigger run). */
  quietIfReused?: boolean;
}

export async function clusterForRun(opts: ClusterRunOptions): Promise<ClusterRun> {
  const dir = opts.dir ?? clusterDir();
  const ownership: ClusterOwnership = (await isClusterRunning(dir))
    ? 'was-running'
    : keepClusterRequested()
      ? 'kept'
      : 'started';
  const owned = ownership === 'started';
  // Last resort for a run that ends without finish(): process.exit(), an uncaught error.
  const killAtExit = () => killClusterNow(dir);
  const onSignal = (signal: NodeJS.Signals) => {
    opts.log(`${signal}: stopping the cluster this run started`);
    void finish().finally(() => process.exit(128 + (constants.signals[signal] ?? 0)));
  };
  let finishing: Promise<void> | undefined;
  const finish = () => {
    finishing ??= (async () => {
      if (ownership === 'was-running' && opts.quietIfReused) return;
      if (!owned) {
        opts.log(
          ownership === 'kept'
            ? `left the cluster running (${KEEP_CLUSTER_ENV} is set); stop it with: bosun dev down ${clusterName(dir)}`
            : `left the cluster running as it was before this run (${dir})`,
        );
        return;
      }
      await down(dir);
      process.off('exit', killAtExit);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      opts.log(`stopped the cluster this run started (${dir})`);
    })();
    return finishing;
  };
  if (owned) {
    process.on('exit', killAtExit);
    if (opts.exitOnSignal) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
  }
  try {
    const state = await up({ nodes: opts.nodes, log: opts.log, dir });
    return { state, ownership, finish };
  } catch (e) {
    await finish();
    throw e;
  }
}
