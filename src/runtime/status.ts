// Status helpers: Kubernetes-convention conditions, and status writes that happen only when
// something changed (never a timestamp that moves on every reconcile).
import type { KubeClient, KubeObject, ResourceRef } from './kube-client.ts';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/**
 * Returns the conditions with `next` set. The transition time moves only when the status flips;
 * an unchanged condition is returned as the same object, so equality checks see no change.
 */
export function setCondition(
  conditions: Condition[] | undefined,
  next: ConditionInput,
  now: Date,
): Condition[] {
  const list = conditions ?? [];
  const current = list.find((c) => c.type === next.type);
  if (
    current &&
    current.status === next.status &&
    current.reason === next.reason &&
    current.message === next.message &&
    current.observedGeneration === next.observedGeneration
  ) {
    return list;
  }
  const lastTransitionTime =
    current && current.status === next.status
      ? current.lastTransitionTime
      : now.toISOString().replace(/\.\d+Z$/, 'Z');
  const updated: Condition = { ...next, lastTransitionTime };
  return current ? list.map((c) => (c === current ? updated : c)) : [...list, updated];
}

/** Writes `status` through the status subresource when it differs from the object's; returns whether it wrote. */
export async function updateStatusIfChanged<T extends KubeObject>(
  client: KubeClient,
  ref: ResourceRef,
  obj: T,
  status: unknown,
): Promise<boolean> {
  return (await writeStatusIfChanged(client, ref, obj, status)) !== undefined;
}

/** updateStatusIfChanged, answering the object as written (its new resourceVersion), or undefined. */
export async function writeStatusIfChanged<T extends KubeObject>(
  client: KubeClient,
  ref: ResourceRef,
  obj: T,
  status: unknown,
): Promise<T | undefined> {
  if (sameJson(obj.status ?? {}, status)) return undefined;
  // Carries the resourceVersion we decided on: a concurrent change makes this a 409 and a requeue.
  return client.replaceStatus(ref, { ...obj, status });
}

/** Equal as JSON: a field set to undefined is the same as a missing one. No copies are made. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k in x) if (x[k] !== undefined && !sameJson(x[k], y[k])) return false;
  for (const k in y) if (y[k] !== undefined && x[k] === undefined) return false;
  return true;
}
