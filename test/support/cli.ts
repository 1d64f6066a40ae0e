// `bosun ...` as a person runs it: a child process with the test cluster's kubeconfig.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { testCluster } from './cluster.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bosun <args>` against the test cluster. */
export async function runBosun(args: string[]): Promise<Run> {
  const { kubeconfig } = await testCluster();
  const child = spawn(process.execPath, [MAIN, ...args, '--kubeconfig', kubeconfig], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

export const ok = (r: Run, what: string) =>
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}${r.stderr}`);
