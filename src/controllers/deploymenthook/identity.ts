// What makes one hook run: the identity its Job name is derived from, and the version of the
// template a Job is built from (a rejected one is not sent again).
import { boundedName, shortHash } from '../../api/names.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { RERUN_ANNOTATION } from './labels.ts';
import type { WorkloadKind } from './workloads.ts';

export interface RunIdentity {
  hook: string;
  hookUid: string;
  /** Deployment when absent. */
  kind?: WorkloadKind;
  deployment: string;
  deploymentUid: string;
  revision: string;
  rerun: string;
  /**
   * The Job of the run before this one. Only for StatefulSets: their revisions are content hashes
   * that come back on a rollback, which must run again, not find the first run's Job.
   */
  after?: string;
}

/**
 * `<hook>-<workload>-<revision>-<hash>`. The hash of both UIDs, the kind and the rerun value makes
 * a re-created hook or workload, another kind of workload of the same name, or a new rerun value a
 * new Job, and keeps any rerun value (a timestamp, say) out of the name. A Deployment's hash is
 * the one it had before other kinds existed, so Jobs created then are still found.
 */
export function hookJobName(id: RunIdentity): string {
  const kind = id.kind ?? 'Deployment';
  const key =
    kind === 'Deployment'
      ? `${id.hookUid}/${id.deploymentUid}/${id.rerun}`
      : `${id.hookUid}/${kind}/${id.deploymentUid}/${id.rerun}/${kind === 'StatefulSet' ? (id.after ?? '') : ''}`;
  return boundedName([id.hook, id.deployment, id.revision, shortHash(key, 6)]);
}

/** Identifies a template as sent: a rejection is remembered for this version only. */
export function templateVersion(hook: KubeObject, podTemplate?: KubeObject): string {
  const rerun = hook.metadata.annotations?.[RERUN_ANNOTATION];
  return [
    `generation ${hook.metadata.generation ?? 0}`,
    ...(podTemplate
      ? [`PodTemplate ${podTemplate.metadata.uid ?? ''} ${podTemplate.metadata.resourceVersion ?? ''}`]
      : []),
    ...(rerun ? [`rerun ${shortHash(rerun)}`] : []),
  ].join(', ');
}
