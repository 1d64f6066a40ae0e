// The workload kinds a hook can select, and how a hook's selector and `kinds` pick them.
import { type DeploymentHookSpec, WORKLOAD_KIND_NAMES } from '../../api/deploymenthook.ts';
import { matchesSelector } from '../../api/selector.ts';
import type { KubeObject, ResourceRef } from '../../runtime/kube-client.ts';

export const WORKLOAD_KINDS = WORKLOAD_KIND_NAMES;
export type WorkloadKind = (typeof WORKLOAD_KIND_NAMES)[number];

export const WORKLOAD_RESOURCES: Record<WorkloadKind, ResourceRef> = {
  Deployment: { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true },
  StatefulSet: { group: 'apps', version: 'v1', plural: 'statefulsets', namespaced: true },
  DaemonSet: { group: 'apps', version: 'v1', plural: 'daemonsets', namespaced: true },
};

/** The kinds a hook selects: `spec.kinds`, or Deployments only (as before the field existed). */
export const hookKinds = (spec: Pick<DeploymentHookSpec, 'kinds'>): readonly WorkloadKind[] =>
  spec.kinds?.length ? spec.kinds : ['Deployment'];

/** A cached object's kind (list items carry none): set by the controller when it reads a cache. */
export const kindOf = (workload: KubeObject): WorkloadKind => (workload.kind as WorkloadKind) ?? 'Deployment';

/** `kind name`, as messages name a workload. */
export const kindAndName = (kind: WorkloadKind, name: string) => `${kind} ${name}`;

/** Does the hook select this workload (its kind, and its own labels, not its pods')? */
export function selects(spec: Pick<DeploymentHookSpec, 'kinds' | 'selector'>, workload: KubeObject): boolean {
  return (
    hookKinds(spec).includes(kindOf(workload)) &&
    matchesSelector(hookSelector(spec), workload.metadata.labels)
  );
}

/** DocBot's `selector.labels` is `matchLabels` under another name. */
export function hookSelector(spec: Pick<DeploymentHookSpec, 'selector'>) {
  const { labels, ...selector } = spec.selector;
  return labels ? { ...selector, matchLabels: { ...selector.matchLabels, ...labels } } : selector;
}
