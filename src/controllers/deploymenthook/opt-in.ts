// Bounded watching (`--hook-opt-in-label`): the caches hold only workloads that carry the label, so
// a hook cannot see one that lacks it. Once per hook spec, a single cheap LIST asks the API server
// whether the selector picks such a workload, so that the hook can say why it ignores it.
import type { LabelSelector } from '../../api/common.ts';
import type { KubeClient } from '../../runtime/kube-client.ts';
import type { HookObject } from './plan.ts';
import { hookKinds, hookSelector, WORKLOAD_RESOURCES } from './workloads.ts';

/** The hook's selector, plus "without the opt-in label", in the API's label selector syntax. */
export function unlabelledSelector(selector: LabelSelector, optInLabel: string): string {
  const terms = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = `(${(e.values ?? []).join(',')})`;
    if (e.operator === 'In') terms.push(`${e.key} in ${values}`);
    else if (e.operator === 'NotIn') terms.push(`${e.key} notin ${values}`);
    else if (e.operator === 'Exists') terms.push(e.key);
    else terms.push(`!${e.key}`);
  }
  return [...terms, `!${optInLabel}`].join(',');
}

/** `Kind/name` of one selected workload per kind that the opt-in label keeps out of the caches. */
export async function unlabelledWorkloads(
  client: KubeClient,
  hook: HookObject,
  optInLabel: string,
): Promise<string[]> {
  const labelSelector = unlabelledSelector(hookSelector(hook.spec), optInLabel);
  const found: string[] = [];
  for (const kind of hookKinds(hook.spec)) {
    const list = await client.list(WORKLOAD_RESOURCES[kind], hook.metadata.namespace, {
      labelSelector,
      limit: 1,
    });
    const name = list.items[0]?.metadata.name;
    if (name) found.push(`${kind}/${name}`);
  }
  return found;
}
