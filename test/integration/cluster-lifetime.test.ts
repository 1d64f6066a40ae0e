// Who stops the test cluster: the integration-test command (package.json's test:integration, run
// here on a one-test fixture in a state directory of its own) stops the cluster it started — at the
// end and on SIGTERM — keeps it with BOSUN_KEEP_CLUSTER=1, and leaves a cluster that ran before as
// it was. `bosun dev status --all` and `bosun dev down --all` see it. Checked by process id.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { waitFor } from '../../src/runtime/wait.ts';
import { alive, waitAllGone } from '../support/processes.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const MAIN = join(ROOT, 'src/cli/main.ts');
const FIXTURE = 'test/fixtures/uses-test-cluster.ts';
// The real command, with the fixture in place of the integration tests.
const script = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts[
  'test:integration'
] as string;
const command = script
  .replace(/^node /, `"${process.execPath}" `)
  .replace(/'test\/integration[^']*'/, FIXTURE);

function sandbox() {
  const home = mkdtempSync(join(tmpdir(), 'bosun-lifetime-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_STATE_HOME: home,
    FIXTURE_PIDS: join(home, 'pids.json'),
  };
  delete env.BOSUN_DEV_DIR;
  delete env.BOSUN_KEEP_CLUSTER;
  delete env.FIXTURE_RELEASE;
  delete env.NODE_TEST_CONTEXT; // else the inner runner reports to ours as if it were a test file
  return { home, env, clusterDir: join(home, 'bosun', 'test-cluster') };
}

function runSuite(
  env: NodeJS.ProcessEnv,
  opts: { interrupted?: boolean } = {},
): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn('bash', ['-c', `exec ${command}`], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c) => {
    output += c;
  });
  child.stderr?.on('data', (c) => {
    output += c;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0 && !opts.interrupted) process.stderr.write(output.replace(/^/gm, '#   '));
      resolve(code);
    }),
  );
  return { child, exited };
}

const readPids = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as number[];
/** `bosun ...` in the sandbox; its output (status exits 1 when a cluster is missing or unhealthy). */
const bosun = (env: NodeJS.ProcessEnv, ...args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env }).stdout;

describe('test cluster lifetime', () => {
  it('stops the cluster it started when the run ends, leaving no process', async () => {
    const { home, env, clusterDir } = sandbox();
    assert.equal(await runSuite(env).exited, 0);
    const pids = readPids(env.FIXTURE_PIDS as string);
    assert.equal(pids.length, 5, 'etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok');
    await waitAllGone(pids, home);
    assert.equal(existsSync(clusterDir), false, 'its state is removed');
  });

  it('stops it on SIGTERM in the middle of the run', async (t) => {
    const { home, env } = sandbox();
    env.FIXTURE_RELEASE = join(home, 'release');
    const { child, exited } = runSuite(env, { interrupted: true });
    t.after(() => {
      writeFileSync(env.FIXTURE_RELEASE as string, '');
      child.kill('SIGKILL');
    });
    await waitFor(async () => existsSync(env.FIXTURE_PIDS as string), {
      what: 'the suite to start its cluster',
      timeoutMs: 300_000,
    });
    const pids = readPids(env.FIXTURE_PIDS as string);
    assert.ok(pids.every(alive));
    child.kill('SIGTERM');
    await exited;
    await waitAllGone(pids, home);
  });

  it('keeps it with BOSUN_KEEP_CLUSTER=1; a later run leaves it as it was; bosun dev down --all stops it', async (t) => {
    const { home, env } = sandbox();
    t.after(() => bosun(env, 'dev', 'down', '--all'));
    assert.equal(await runSuite({ ...env, BOSUN_KEEP_CLUSTER: '1' }).exited, 0);
    const pids = readPids(env.FIXTURE_PIDS as string);
    assert.ok(pids.every(alive), 'kept');

    assert.equal(await runSuite(env).exited, 0);
    assert.deepEqual(readPids(env.FIXTURE_PIDS as string), pids, 'the second run used the same cluster');
    assert.ok(pids.every(alive), 'and left it running');

    const status = bosun(env, 'dev', 'status', '--all');
    assert.match(status, /^cluster\s+test-cluster$/m);
    assert.match(status, /kube-apiserver\s+pid \d+\s+healthy/);
    assert.match(bosun(env, 'dev', 'status'), /other Bosun clusters: test-cluster/);
    bosun(env, 'dev', 'down', '--all');
    await waitAllGone(pids, home);
    assert.match(bosun(env, 'dev', 'status', '--all').trim(), /^no local cluster/);
  });
});
