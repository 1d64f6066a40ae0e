// The controller's side of BeforeRollout hooks: after a hook's status is written, let go of the
// gated pods whose hooks all passed, and say why a rollout is held.
import { isNotFound, type KubeClient, type KubeObject, Resources } from '../../runtime/kube-client.ts';
import type { Informer } from '../../runtime/manager.ts';
import type { DeploymentLookup } from './deployment-lookup.ts';
import {
  GATE,
  gateAction,
  gatedRevisions,
  gateHooksOf,
  mayHaveEscaped,
  podOwner,
  revisionOf,
  ungatePatch,
} from './gate.ts';
import type { HookObject, Plan } from './plan.ts';
import { rolloutState } from './rollout.ts';
import { kindOf } from './workloads.ts';

/** Gated pods waiting for this hook (by name: a deleted hook's pods are let go). */
export function podsGatedBy(pods: Informer, namespace: string, hook: string): KubeObject[] {
  return pods.listNamespace(namespace).filter((p) => gateHooksOf(p).includes(hook));
}

/** Hooks to notify when a gated pod changes: those it waits for. */
export const hooksOfGatedPod = (pod: KubeObject) =>
  gateHooksOf(pod).map((h) => `${pod.metadata.namespace}/${h}`);

/**
 * Carries out `gateAction` for each pod, reading each one's Deployment through the cache. `hooks` are the namespace's hooks, with the one just
 * reconciled at its new status (the cache may not show it yet).
 */
export async function settleGates(
  client: KubeClient,
  pods: KubeObject[],
  deployment: DeploymentLookup,
  hooks: HookObject[],
): Promise<{ ungated: number }> {
  let ungated = 0;
  const read = new Map<string, KubeObject | undefined>(); // one read per Deployment
  for (const pod of pods) {
    const ns = pod.metadata.namespace as string;
    const owner = podOwner(pod);
    // Not in the cache is not gone: only the API server's answer lets the pods go unhooked.
    const key = owner ? `${ns}/${owner.deployment}` : '';
    if (owner && !read.has(key)) read.set(key, await deployment(ns, owner.deployment));
    const action = gateAction(pod, read.get(key), hooks);
    if (action === 'ungate') {
      try {
        await client.request('PATCH', `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}`, {
          body: ungatePatch,
          contentType: 'application/strategic-merge-patch+json',
        });
        ungated++;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }
  return { ungated };
}

/** A BeforeRollout run that failed holds its revision's pods: say so on the Deployment. */
export function gateEvents(hook: HookObject, plan: Plan): Plan['events'] {
  if (hook.spec.when !== 'BeforeRollout') return [];
  return plan.events
    .filter((e) => e.reason === 'HookFailed' && e.on !== 'hook')
    .map((e) => ({
      on: e.on,
      type: 'Warning' as const,
      reason: 'RolloutBlocked',
      note: `New pods stay unscheduled (scheduling gate ${GATE}) until DeploymentHook ${hook.metadata.name} succeeds: fix it and change its bosun.dev/rerun annotation, or run kubectl rollout undo`,
    }));
}

/**
 * The current ReplicaSet of each Deployment whose rolled-out revision may have escaped the gate
 * (`mayHaveEscaped`), for the plan to ask `gatePod` whether its hook is due late. Rare, so read
 * from the API server, once per Deployment revision (`seen` remembers the answers).
 */
export async function escapedReplicaSets(
  client: KubeClient,
  hook: HookObject,
  deployments: KubeObject[],
  gatedPods: KubeObject[],
  seen: Map<string, KubeObject | undefined>,
): Promise<Record<string, KubeObject>> {
  const found: Record<string, KubeObject> = {};
  for (const d of deployments) {
    const name = d.metadata.name as string;
    const revision = revisionOf(d);
    const gated = gatedRevisions(gatedPods, name, hook.metadata.name as string);
    if (kindOf(d) !== 'Deployment' || rolloutState(d).phase !== 'Complete') continue;
    if (!mayHaveEscaped(hook, d, revision, gated)) continue;
    const key = `${d.metadata.uid}/${revision}`;
    if (!seen.has(key)) {
      if (seen.size > 10_000) seen.clear(); // bounded: it only saves reads
      const matchLabels = d.spec?.selector?.matchLabels ?? {};
      const labelSelector = Object.entries(matchLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const { items } = await client.list(Resources.replicaSets, d.metadata.namespace, { labelSelector });
      const rs = items.find(
        (r) =>
          r.metadata.ownerReferences?.some((o) => o.controller && o.uid === d.metadata.uid) &&
          revisionOf(r) === revision,
      );
      seen.set(key, rs);
    }
    const rs = seen.get(key);
    if (rs) found[name] = rs;
  }
  return found;
}
