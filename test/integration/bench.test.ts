// Benchmarks start from a known state and leave nothing behind: bench:runtime at a tiny size, run
// twice in a row in a state directory of its own, prints the same starting state both times and
// stops the cluster it started each time (checked by process id).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { processesNaming, waitAllGone } from '../support/processes.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

function runBench(env: NodeJS.ProcessEnv, home: string): Promise<{ stdout: string; pids: number[] }> {
  const child = spawn(process.execPath, [join(ROOT, 'bench/runtime.ts')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  // The cluster's processes, seen while the bench runs.
  const pids = new Set<number>();
  const watch = setInterval(() => {
    for (const pid of processesNaming(home)) pids.add(pid);
  }, 200);
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => {
      clearInterval(watch);
      if (code === 0) resolve({ stdout, pids: [...pids] });
      else reject(new Error(`bench exited ${code}:\n${stderr}`));
    }),
  );
}

const startingState = (stdout: string) => /^Starting state[^\n]*\n[^\n]*/m.exec(stdout)?.[0];

describe('benchmarks', () => {
  it('start from the same state twice in a row and stop their cluster', async () => {
    const home = mkdtempSync(join(tmpdir(), 'bosun-bench-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      XDG_STATE_HOME: home,
      BENCH_SIZES: '10',
      BENCH_RATE: '10',
      BENCH_SECONDS: '1',
    };
    delete env.BOSUN_DEV_DIR;
    delete env.BOSUN_KEEP_CLUSTER;
    const states: string[] = [];
    for (const round of [1, 2]) {
      const { stdout, pids } = await runBench(env, home);
      const state = startingState(stdout);
      assert.ok(state, `round ${round} prints its starting state:\n${stdout}`);
      assert.ok(stdout.indexOf(state) < stdout.indexOf('Watch cache'), 'above the tables');
      states.push(state);
      assert.ok(pids.length >= 5, `round ${round} ran its own cluster (${pids.length} processes seen)`);
      await waitAllGone(pids, home);
    }
    assert.equal(states[1], states[0]);
    assert.match(
      states[0] as string,
      /^Starting state \(fresh cluster\): 3 nodes \(3 Ready\), 0 namespaces besides the system ones\nobjects in the cluster: 0 Deployments, 0 ReplicaSets, 0 DaemonSets, 0 Jobs, 0 Pods, 0 PodTemplates, 0 DeploymentHooks, 0 DaemonJobs$/,
    );
  });
});
