// Checks by process id that a run left nothing behind.
import { readdirSync, readFileSync } from 'node:fs';
import { waitFor } from '../../src/runtime/wait.ts';

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Processes whose command line names `path` (every cluster component names its state dir). */
export function processesNaming(path: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(path);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Waits until none of `pids` runs and no process names `path`. */
export async function waitAllGone(pids: number[], path: string): Promise<void> {
  await waitFor(
    async () => {
      const left = new Set([...pids.filter(alive), ...processesNaming(path)]);
      return left.size === 0 || { pending: `still running: ${[...left].join(', ')}` };
    },
    { what: 'every cluster process to be gone', timeoutMs: 30_000 },
  );
}
