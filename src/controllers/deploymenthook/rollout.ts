// What `kubectl rollout status` means by "finished", as pure functions of a workload, one per kind,
// and which revision of the workload that is.
import type { KubeObject } from '../../runtime/kube-client.ts';
import { kindOf } from './workloads.ts';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** Set by the API server on a DaemonSet: +1 at every change of its pod template (a rollback too). */
export const DAEMONSET_TEMPLATE_GENERATION = 'deprecated.daemonset.template.generation';

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

export function rolloutState(workload: KubeObject): RolloutState {
  switch (kindOf(workload)) {
    case 'StatefulSet':
      return statefulSetRollout(workload);
    case 'DaemonSet':
      return daemonSetRollout(workload);
    default:
      return deploymentRollout(workload);
  }
}

const waiting = (revision: string, message: string): RolloutState => ({
  phase: 'Progressing',
  revision,
  message,
});

export function deploymentRollout(deployment: KubeObject): RolloutState {
  const revision = deployment.metadata.annotations?.[REVISION_ANNOTATION] ?? '';
  const spec = deployment.spec ?? {};
  const status = deployment.status ?? {};
  const generation = deployment.metadata.generation ?? 0;
  const progressing = (status.conditions as Condition[] | undefined)?.find((c) => c.type === 'Progressing');

  if ((status.observedGeneration ?? 0) < generation)
    return waiting(revision, 'waiting for the deployment spec update to be observed');
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
  if (updated < desired) return waiting(revision, `${updated} of ${desired} new replicas have been updated`);
  if (replicas > updated)
    return waiting(revision, `${replicas - updated} old replicas are pending termination`);
  if (available < updated)
    return waiting(revision, `${available} of ${updated} updated replicas are available`);
  if (!revision) return waiting(revision, 'the deployment has no revision yet');
  return { phase: 'Complete', revision };
}

/**
 * A StatefulSet's revision is `status.updateRevision` (the ControllerRevision its pods carry in
 * `controller-revision-hash`). Finished: kubectl's checks (spec observed, every replica ready, the
 * replicas above the partition updated), and, stricter than kubectl for a partition above 0 or
 * OnDelete, every replica at the update revision: a hook runs after the revision is everywhere.
 */
export function statefulSetRollout(sts: KubeObject): RolloutState {
  const spec = sts.spec ?? {};
  const status = sts.status ?? {};
  const revision: string = status.updateRevision ?? '';
  const desired: number = spec.replicas ?? 1;
  const observed = status.observedGeneration ?? 0;
  if (observed === 0 || observed < (sts.metadata.generation ?? 0))
    return waiting(revision, 'waiting for the statefulset spec update to be observed');
  if (!revision) return waiting(revision, 'the statefulset has no update revision yet');
  const ready = status.readyReplicas ?? 0;
  const updated = status.updatedReplicas ?? 0;
  const replicas = status.replicas ?? 0;
  if (ready < desired) return waiting(revision, `${ready} of ${desired} pods are ready`);
  if (updated < desired) {
    const strategy = spec.updateStrategy ?? {};
    const partition: number = strategy.rollingUpdate?.partition ?? 0;
    if (strategy.type === 'OnDelete')
      return waiting(
        revision,
        `${updated} of ${desired} pods run revision ${revision}; with updateStrategy OnDelete, delete the others to update them`,
      );
    if (partition > 0 && updated >= desired - partition)
      return waiting(
        revision,
        `partitioned rollout: ${updated} of ${desired} pods run revision ${revision}; the pods below ordinal ${partition} update when the partition is lowered`,
      );
    return waiting(revision, `${updated} of ${desired} pods have been updated to revision ${revision}`);
  }
  if (replicas > desired)
    return waiting(revision, `${replicas - desired} pods above spec.replicas are pending termination`);
  return { phase: 'Complete', revision };
}

/**
 * A DaemonSet's revision is its template generation (the API server's counter of template changes,
 * the `pod-template-generation` label of its pods; `kubectl rollout undo` makes a new one), read
 * from the object itself, never from a ControllerRevision a cache may not have seen yet.
 * Finished: kubectl's checks (spec observed, every scheduled pod updated and available); with
 * OnDelete, that holds once the old pods have been deleted.
 */
export function daemonSetRollout(ds: KubeObject): RolloutState {
  const status = ds.status ?? {};
  const revision = ds.metadata.annotations?.[DAEMONSET_TEMPLATE_GENERATION] ?? '';
  if ((status.observedGeneration ?? 0) < (ds.metadata.generation ?? 0))
    return waiting(revision, 'waiting for the daemon set spec update to be observed');
  const desired = status.desiredNumberScheduled ?? 0;
  const updated = status.updatedNumberScheduled ?? 0;
  const available = status.numberAvailable ?? 0;
  if (updated < desired) {
    const onDelete = ds.spec?.updateStrategy?.type === 'OnDelete';
    return waiting(
      revision,
      `${updated} of ${desired} pods have been updated${onDelete ? ' (updateStrategy OnDelete: delete the old pods to update them)' : ''}`,
    );
  }
  if (available < desired) return waiting(revision, `${available} of ${desired} updated pods are available`);
  if (!revision) return waiting(revision, 'the daemon set has no template generation yet');
  return { phase: 'Complete', revision };
}
