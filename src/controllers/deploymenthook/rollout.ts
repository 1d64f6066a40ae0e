// What `kubectl rollout status` means by "finished", as a pure function of a Deployment.
import type { KubeObject } from '../../runtime/kube-client.ts';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

export type RolloutState =
  | { phase: 'Complete'; revision: string }
  | { phase: 'Progressing'; revision: string; message: string }
  | { phase: 'Failed'; revision: string; message: string };

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export function rolloutState(deployment: KubeObject): RolloutState {
  const revision = deployment.metadata.annotations?.[REVISION_ANNOTATION] ?? '';
  const spec = deployment.spec ?? {};
  const status = deployment.status ?? {};
  const generation = deployment.metadata.generation ?? 0;
  const progressing = (status.conditions as Condition[] | undefined)?.find((c) => c.type === 'Progressing');
  const progressing_ = (message: string): RolloutState => ({ phase: 'Progressing', revision, message });

  if ((status.observedGeneration ?? 0) < generation)
    return progressing_('waiting for the deployment spec update to be observed');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      phase: 'Failed',
      revision,
      message: `rollout exceeded its progress deadline: ${progressing.message ?? ''}`.trim(),
    };
  }
  const desired = spec.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const replicas = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < desired) return progressing_(`${updated} of ${desired} new replicas have been updated`);
  if (replicas > updated) return progressing_(`${replicas - updated} old replicas are pending termination`);
  if (available < updated) return progressing_(`${available} of ${updated} updated replicas are available`);
  if (!revision) return progressing_('the deployment has no revision yet');
  return { phase: 'Complete', revision };
}
