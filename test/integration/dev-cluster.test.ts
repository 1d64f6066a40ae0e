// `bosun dev` as a user runs it, in a state directory of its own: up, env, status, a killed run
// detected and cleaned, down leaving no process behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const dir = join(mkdtempSync(join(tmpdir(), 'bosun-dev-')), 'cluster');
const bosun = (...args: string[]) =>
  execFileSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, BOSUN_DEV_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
const pids = () =>
  Object.values(
    JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).components as Record<string, { pid: number }>,
  ).map((c) => c.pid);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('bosun dev', () => {
  it('starts, reports, recovers from a killed run, and stops without leaving a process', async (t) => {
    t.after(() => bosun('dev', 'down'));
    bosun('dev', 'up', '--nodes', '2');
    const env = bosun('dev', 'env');
    assert.match(env, new RegExp(`^export KUBECONFIG=${dir}/kubeconfig.yaml$`, 'm'));
    assert.match(env, /^export PATH=.*k8s-v1\.36\.3.*:\$PATH$/m);
    const kubectl = join(/export PATH=([^:]+):/.exec(env)?.[1] as string, 'kubectl');
    const nodes = execFileSync(
      kubectl,
      ['--kubeconfig', join(dir, 'kubeconfig.yaml'), 'get', 'nodes', '--no-headers'],
      { encoding: 'utf8' },
    );
    assert.equal(
      nodes
        .trim()
        .split('\n')
        .filter((l) => / Ready /.test(l)).length,
      2,
    );
    assert.match(bosun('dev', 'status'), /kube-apiserver\s+pid \d+\s+healthy[\s\S]*nodes\s+2/);

    // A run killed hard leaves state and dead processes: the next `up` notices and starts afresh.
    const first = pids();
    for (const pid of first) process.kill(pid, 'SIGKILL');
    bosun('dev', 'up', '--nodes', '1');
    assert.ok(
      pids().every((p) => !first.includes(p) && alive(p)),
      'a fresh set of processes',
    );

    const running = pids();
    bosun('dev', 'down');
    assert.ok(
      running.every((p) => !alive(p)),
      'no process left',
    );
    assert.throws(() => readFileSync(join(dir, 'state.json')), 'state removed');
  });
});
