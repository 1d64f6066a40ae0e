// The API calls of cordon and drain: node patches that carry the resourceVersion the plan read (a
// node changed meanwhile is a 409: 'stale', and the reconcile runs again soon), evictions through
// the Eviction API (a PodDisruptionBudget's refusal is a 429, retried later), and the pods on the
// nodes being drained.
import {
  ApiError,
  type KubeClient,
  type KubeObject,
  Resources,
  resourcePath,
} from '../../runtime/kube-client.ts';
import { inParallel } from '../../runtime/parallel.ts';
import { CORDONED_BY_ANNOTATION, LEFT_CORDONED_ANNOTATION } from './labels.ts';

/**
 * 'gone' (404): nothing to do. 'stale' (409): the node changed since the snapshot; the caller
 * reconciles again, as the watch event that made the cache newer may not (nodeShape filters it).
 */
export type PatchResult = 'done' | 'gone' | 'stale';

async function patchNode(
  client: KubeClient,
  node: KubeObject,
  patch: { spec?: object; annotations: object },
): Promise<PatchResult> {
  try {
    await client.mergePatch(Resources.nodes, undefined, node.metadata.name as string, {
      metadata: { resourceVersion: node.metadata.resourceVersion, annotations: patch.annotations },
      ...(patch.spec ? { spec: patch.spec } : {}),
    });
    return 'done';
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) return 'gone';
    if (e instanceof ApiError && e.code === 409) return 'stale';
    throw e;
  }
}

export const cordonNode = (client: KubeClient, node: KubeObject, owner: string) =>
  patchNode(client, node, {
    spec: { unschedulable: true },
    annotations: { [CORDONED_BY_ANNOTATION]: owner, [LEFT_CORDONED_ANNOTATION]: null },
  });

/** Uncordons a node this DaemonJob cordoned and drops its marks. */
export const uncordonNode = (client: KubeClient, node: KubeObject) =>
  patchNode(client, node, {
    spec: { unschedulable: null },
    annotations: { [CORDONED_BY_ANNOTATION]: null, [LEFT_CORDONED_ANNOTATION]: null },
  });

export const markLeftCordoned = (client: KubeClient, node: KubeObject, reason: string) =>
  patchNode(client, node, { annotations: { [LEFT_CORDONED_ANNOTATION]: reason } });

export type EvictionResult = { result: 'evicted' | 'gone' } | { result: 'blocked'; message: string };

/** POST pods/<name>/eviction: the API server checks PodDisruptionBudgets and answers 429 when one forbids it. */
export async function evictPod(client: KubeClient, namespace: string, name: string): Promise<EvictionResult> {
  try {
    await client.request('POST', resourcePath(Resources.pods, namespace, name, 'eviction'), {
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
    });
    return { result: 'evicted' };
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) return { result: 'gone' };
    // 429: a PodDisruptionBudget allows no disruption now; 500: a pod under several budgets. Both
    // wait for a later reconcile, as kubectl drain retries.
    if (e instanceof ApiError && (e.code === 429 || e.code === 500))
      return { result: 'blocked', message: e.message };
    throw e;
  }
}

/** The pods on each node, by a field-selected list (the operator caches only its own pods). */
export async function podsOnNodes(
  client: KubeClient,
  nodes: string[],
): Promise<Record<string, KubeObject[]>> {
  const pods: Record<string, KubeObject[]> = {};
  await inParallel(nodes, 16, async (node) => {
    const list = await client.list(Resources.pods, undefined, { fieldSelector: `spec.nodeName=${node}` });
    pods[node] = list.items;
  });
  return pods;
}
