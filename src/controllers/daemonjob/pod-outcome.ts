// A per-node pod's outcome: Running (also Pending), Succeeded or Failed with the reason, and when
// it finished. A pod being deleted before it finished counts as Failed, so that the try is counted.
import type { KubeObject } from '../../runtime/kube-client.ts';

export interface PodOutcome {
  phase: 'Running' | 'Succeeded' | 'Failed';
  reason?: string;
  message?: string;
  /** Epoch milliseconds; for a finished pod only. */
  finishedAt?: number;
}

interface ContainerStatus {
  restartCount?: number;
  state?: { terminated?: { reason?: string; message?: string; exitCode?: number; finishedAt?: string } };
}

const statuses = (pod: KubeObject): ContainerStatus[] => pod.status?.containerStatuses ?? [];
const time = (iso: string | undefined) => (iso ? Date.parse(iso) : Number.NaN);

export function podOutcome(pod: KubeObject): PodOutcome {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') {
    const ended = statuses(pod)
      .map((c) => time(c.state?.terminated?.finishedAt))
      .filter((t) => !Number.isNaN(t));
    const finishedAt = ended.length ? Math.max(...ended) : time(pod.metadata.creationTimestamp);
    if (phase === 'Succeeded') return { phase, finishedAt };
    const failed = statuses(pod).find((c) => c.state?.terminated && c.state.terminated.exitCode !== 0);
    const t = failed?.state?.terminated;
    const reason = pod.status?.reason ?? t?.reason ?? 'Failed';
    const message =
      pod.status?.message ??
      (t ? `exit code ${t.exitCode ?? '?'}${t.message ? `: ${t.message}` : ''}` : undefined);
    return { phase, reason, ...(message ? { message } : {}), finishedAt };
  }
  if (pod.metadata.deletionTimestamp)
    return {
      phase: 'Failed',
      reason: 'PodDeleted',
      message: 'the pod was deleted before it finished',
      finishedAt: time(pod.metadata.deletionTimestamp),
    };
  return { phase: 'Running' };
}

/** Container restarts of a pod with restartPolicy OnFailure: each counts as a failed try. */
export const restarts = (pod: KubeObject) => statuses(pod).reduce((n, c) => n + (c.restartCount ?? 0), 0);

/** The wait before the next try after `failures` failed ones, as for Jobs: 10 s doubling, at most 6 min. */
export const retryDelayMs = (failures: number) => Math.min(10_000 * 2 ** Math.max(0, failures - 1), 360_000);
