// What makes one hook run: the identity its Job name is derived from, and the version of the
// template a Job is built from (a rejected one is not sent again).
import { boundedName, shortHash } from '../../api/names.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { RERUN_ANNOTATION } from './labels.ts';

export interface RunIdentity {
  hook: string;
  hookUid: string;
  deployment: string;
  deploymentUid: string;
  revision: string;
  rerun: string;
}

/**
 * `<hook>-<deployment>-<revision>-<hash>`. The hash of both UIDs and the rerun value makes a
 * re-created hook or Deployment, or a new rerun value, a new Job, and keeps any rerun value (a
 * timestamp, say) out of the name.
 */
export function hookJobName(id: RunIdentity): string {
  const hash = shortHash(`${id.hookUid}/${id.deploymentUid}/${id.rerun}`, 6);
  return boundedName([id.hook, id.deployment, id.revision, hash]);
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
