// `bosun dev` as a user runs it, in a state directory of its own: up, env, status, a killed run
// detected and cleaned, down leaving no process behind, and a port taken during start-up.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { down, up } from '../../src/dev/cluster.ts';

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

  it('starts again on other ports when a port it picked is taken before its component binds it', async (t) => {
    const own = join(mkdtempSync(join(tmpdir(), 'bosun-dev-')), 'cluster');
    t.after(() => down(own));
    // Held by someone else between the pick and the bind: the first port handed out is taken.
    const taken = net.createServer((socket) => socket.destroy());
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    t.after(() => new Promise<void>((done) => taken.close(() => done())));
    const takenPort = (taken.address() as net.AddressInfo).port;
    const free = async () => {
      const s = net.createServer();
      await new Promise<void>((done) => s.listen(0, '127.0.0.1', done));
      const { port } = s.address() as net.AddressInfo;
      await new Promise<void>((done) => s.close(() => done()));
      return port;
    };
    let picks = 0;
    const lines: string[] = [];
    const state = await up({
      dir: own,
      nodes: 1,
      log: (l) => lines.push(l),
      freePort: async () => (picks++ === 0 ? takenPort : free()),
    });
    assert.ok(
      lines.some((l) => /a port was taken during start-up .*address already in use.*starting again/.test(l)),
      lines.join('\n'),
    );
    assert.ok(!Object.values(state.ports).includes(takenPort), 'the second attempt picked other ports');
    assert.equal(picks, 12, 'two attempts of six ports');
    const kubectl = join(state.binDir, 'kubectl');
    const nodes = execFileSync(kubectl, ['--kubeconfig', state.kubeconfig, 'get', 'nodes', '--no-headers'], {
      encoding: 'utf8',
    });
    assert.match(nodes, / Ready /);
  });
});
