// One AdmissionReview of a pod CREATE: gate it (a JSON patch) or let it be. Hooks and Deployments
// come from the operator's caches; the ReplicaSet is read from the API server, and only for pods
// of a Deployment that a BeforeRollout hook selects.
import { gatePatch, gatePod, isBeforeRollout, podOwner } from '../../controllers/deploymenthook/gate.ts';
import type { HookObject } from '../../controllers/deploymenthook/plan.ts';
import { selects } from '../../controllers/deploymenthook/workloads.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';

export interface AdmissionRequest {
  uid: string;
  namespace?: string;
  operation?: string;
  object?: KubeObject;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  patch?: string;
  status?: { code: number; message: string };
}

export interface Lookups {
  /** False until the caches are filled: an empty cache would let pods through unjudged. */
  synced(): boolean;
  hooks(namespace: string): HookObject[];
  deployment(namespace: string, name: string): Promise<KubeObject | undefined>;
  replicaSet(namespace: string, name: string): Promise<KubeObject | undefined>;
}

export type Outcome = { response: AdmissionResponse; result: 'gated' | 'allowed'; note: string };

export async function reviewPod(request: AdmissionRequest, lookups: Lookups): Promise<Outcome> {
  const allow = (note: string): Outcome => ({
    response: { uid: request.uid, allowed: true },
    result: 'allowed',
    note,
  });
  const pod = request.object;
  const namespace = request.namespace ?? pod?.metadata.namespace;
  if (!pod || !namespace || request.operation !== 'CREATE') return allow('not a pod creation');
  const owner = podOwner(pod);
  if (!owner) return allow('not a ReplicaSet pod');
  if (!lookups.synced()) throw new Error('the operator is starting (its caches are not filled yet)');
  const hooks = lookups.hooks(namespace).filter(isBeforeRollout);
  if (!hooks.length) return allow('no BeforeRollout hook in the namespace');
  const deployment = await lookups.deployment(namespace, owner.deployment);
  if (!deployment || !hooks.some((h) => selects(h.spec, deployment)))
    return allow('no BeforeRollout hook selects the Deployment');
  const replicaSet = await lookups.replicaSet(namespace, owner.replicaSet);
  if (!replicaSet) return allow(`ReplicaSet ${owner.replicaSet} not found`);
  const decision = gatePod({ replicaSet, deployment, hooks });
  if (!decision.gate) return allow(decision.why);
  const patch = Buffer.from(JSON.stringify(gatePatch(pod, decision))).toString('base64');
  return {
    response: { uid: request.uid, allowed: true, patchType: 'JSONPatch', patch },
    result: 'gated',
    note: `revision ${decision.revision} waits for ${decision.hooks.join(', ')}`,
  };
}
