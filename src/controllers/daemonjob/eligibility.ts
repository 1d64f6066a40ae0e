// Which nodes a DaemonSet with the same pod template would run on: node selector, required node
// affinity, and NoSchedule/NoExecute taints against tolerations (with the tolerations the
// DaemonSet controller adds to its pods, which DaemonJob pods get too).
import type { KubeObject } from '../../runtime/kube-client.ts';

interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}
interface Term {
  matchExpressions?: Requirement[];
  matchFields?: Requirement[];
}
export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: string;
}
interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** The tolerations the DaemonSet controller adds to every daemon pod. */
export const DAEMON_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** Added for pods on the host network, which do not need the node's pod network. */
const HOST_NETWORK_TOLERATION: Toleration = {
  key: 'node.kubernetes.io/network-unavailable',
  operator: 'Exists',
  effect: 'NoSchedule',
};

// biome-ignore lint/suspicious/noExplicitAny: a core/v1 PodSpec
export function daemonTolerations(podSpec: Record<string, any>): Toleration[] {
  return podSpec.hostNetwork ? [...DAEMON_TOLERATIONS, HOST_NETWORK_TOLERATION] : DAEMON_TOLERATIONS;
}

function requirementMatches(r: Requirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0]);
  }
}

function termMatches(term: Term, node: KubeObject): boolean {
  const labels = node.metadata.labels ?? {};
  const fields: Record<string, string | undefined> = { 'metadata.name': node.metadata.name };
  const exprs = term.matchExpressions ?? [];
  const fieldReqs = term.matchFields ?? [];
  if (!exprs.length && !fieldReqs.length) return false; // an empty term matches nothing
  return (
    exprs.every((r) => requirementMatches(r, labels[r.key])) &&
    fieldReqs.every((r) => requirementMatches(r, fields[r.key]))
  );
}

export function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (!t.key) return t.operator === 'Exists'; // an empty key with Exists tolerates everything
    if (t.key !== taint.key) return false;
    return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
  });
}

/**
 * Taints the node lifecycle controller puts on nodes that are not Ready. A DaemonSet skips such a
 * node; a DaemonJob keeps it eligible and waits for it (status.notReady), so that a node that is
 * down is reported rather than silently left out of the run.
 */
const NOT_READY_TAINTS = new Set(['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']);

// biome-ignore lint/suspicious/noExplicitAny: a core/v1 PodSpec
export function isEligible(node: KubeObject, podSpec: Record<string, any>): boolean {
  if (node.metadata.deletionTimestamp) return false;
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries((podSpec.nodeSelector ?? {}) as Record<string, string>))
    if (labels[k] !== v) return false;
  const terms: Term[] | undefined =
    podSpec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && !terms.some((t) => termMatches(t, node))) return false;
  const tolerations = [...((podSpec.tolerations ?? []) as Toleration[]), ...daemonTolerations(podSpec)];
  const taints: Taint[] = node.spec?.taints ?? [];
  return taints
    .filter((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !NOT_READY_TAINTS.has(t.key))
    .every((t) => tolerates(tolerations, t));
}

const readyCondition = (node: KubeObject): { status: string; lastTransitionTime?: string } | undefined =>
  (node.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');

export const isReady = (node: KubeObject) => readyCondition(node)?.status === 'True';

/** When a node that is not Ready stopped being Ready (or appeared, if it never reported); undefined when Ready. */
export function notReadySince(node: KubeObject): number | undefined {
  const ready = readyCondition(node);
  if (ready?.status === 'True') return undefined;
  const since = Date.parse(ready?.lastTransitionTime ?? node.metadata.creationTimestamp ?? '');
  return Number.isNaN(since) ? undefined : since;
}

/** maxParallel as a node count: an integer, or a percentage of `desired` rounded up; at least 1. */
export function parallelism(maxParallel: number | string | undefined, desired: number): number {
  if (maxParallel === undefined) return Math.max(desired, 1);
  if (typeof maxParallel === 'number') return Math.max(1, maxParallel);
  const percent = Number(maxParallel.replace('%', ''));
  return Math.max(1, Math.ceil((desired * percent) / 100));
}
