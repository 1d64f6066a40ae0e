// Cordon and drain around a DaemonJob's per-node pod, as pure decisions. A node is taken (cordoned,
// then drained through the Eviction API), its pod starts once nothing evictable is left on it, and it
// is uncordoned after the pod succeeded. Bosun marks the nodes it cordoned with an annotation, so that
// a restarted operator continues from what the API server shows and never uncordons a node a person
// cordoned. A node that fails stays cordoned, is listed and keeps its maxParallel slot.
import type { DaemonJobSpec, DaemonJobStatus } from '../../api/daemonjob.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { CORDONED_BY_ANNOTATION, LEFT_CORDONED_ANNOTATION, MIRROR_POD_ANNOTATION } from './labels.ts';

type DrainSpec = NonNullable<DaemonJobSpec['drain']>;

export interface Eviction {
  node: string;
  namespace: string;
  name: string;
}

export interface DrainEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

/** The value of the cordoned-by annotation for a DaemonJob: a namespace has no dot, so it is unique. */
export const cordonOwner = (namespace: string, name: string) => `${namespace}.${name}`;
export const cordonedBy = (node: KubeObject) => node.metadata.annotations?.[CORDONED_BY_ANNOTATION];
export const leftCordoned = (node: KubeObject) => node.metadata.annotations?.[LEFT_CORDONED_ANNOTATION];
export const isUnschedulable = (node: KubeObject) => node.spec?.unschedulable === true;
/** Whether the spec cordons nodes: drain implies it. */
export const cordons = (spec: DaemonJobSpec) => spec.cordon ?? spec.drain !== undefined;

const controllerOf = (pod: KubeObject) => pod.metadata.ownerReferences?.find((r) => r.controller);
const hasEmptyDir = (pod: KubeObject) =>
  ((pod.spec?.volumes ?? []) as { emptyDir?: unknown }[]).some((v) => v.emptyDir !== undefined);

export interface DrainStep {
  /** Pods to evict now. */
  evict: { namespace: string; name: string }[];
  /** Pods evicted earlier that are still terminating. */
  terminating: number;
  /** Pods that hold the drain whatever happens, with why: the spec must change or a person act. */
  refused: string[];
}

/**
 * What draining a node needs now, from the pods on it, as kubectl drain decides: mirror pods and
 * finished pods stay; so do pods of DaemonJobs, pinned to their node (this one's per-node pod among
 * them). DaemonSet pods stay with ignoreDaemonSets and hold the drain otherwise; so do pods with an
 * emptyDir without deleteEmptyDirData, and pods without a controller (nothing would recreate them).
 */
export function drainStep(pods: KubeObject[], drain: DrainSpec): DrainStep {
  const step: DrainStep = { evict: [], terminating: 0, refused: [] };
  for (const pod of pods) {
    const podName = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const owner = controllerOf(pod);
    if (pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) continue;
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    if (owner?.kind === 'DaemonJob') continue;
    if (pod.metadata.deletionTimestamp) {
      step.terminating++;
      continue;
    }
    if (owner?.kind === 'DaemonSet') {
      if (!drain.ignoreDaemonSets)
        step.refused.push(`${podName} (a DaemonSet's: set drain.ignoreDaemonSets)`);
      continue;
    }
    if (!owner) step.refused.push(`${podName} (no controller would recreate it: delete it yourself)`);
    else if (hasEmptyDir(pod) && !drain.deleteEmptyDirData)
      step.refused.push(`${podName} (emptyDir data: set drain.deleteEmptyDirData)`);
    else step.evict.push({ namespace: pod.metadata.namespace as string, name: pod.metadata.name as string });
  }
  return step;
}

export interface CordonInput {
  spec: DaemonJobSpec;
  /** cordonOwner of the DaemonJob. */
  owner: string;
  nodesByName: Map<string, KubeObject>;
  /** The run's eligible nodes. */
  eligible: string[];
  /** Nodes with a final result in this run. */
  final: (node: string) => 'Succeeded' | 'Failed' | undefined;
  /** Why a node failed in this run. */
  failureOf: (node: string) => string | undefined;
  /** Nodes whose pod of this run runs or waits for a retry. */
  running: Set<string>;
  /** status.draining of this run. */
  priorDraining: Record<string, string>;
  /** The pods on each node being drained, when the controller listed them. */
  nodePods?: Record<string, KubeObject[]>;
  now: Date;
}

export interface CordonPlan {
  /** Nodes being cordoned or drained whose pod has not started, with when that began. */
  draining: Map<string, string>;
  /** Drained nodes whose pod may start now. */
  ready: string[];
  cordon: string[];
  evict: Eviction[];
  uncordon: string[];
  /** Failed nodes to mark as left cordoned, with why. */
  markLeft: { node: string; reason: string }[];
  /** Nodes this DaemonJob cordoned that failed and stay cordoned. */
  left: string[];
  /** Nodes whose drain took longer than drain.timeoutSeconds. */
  timedOut: { node: string; message: string }[];
  events: DrainEvent[];
  wakeMs?: number;
}

/** Requeue while a drain waits for pods to go: nothing else wakes the DaemonJob for other owners' pods. */
export const DRAIN_POLL_MS = 2_000;
const REFUSED_POLL_MS = 10_000;

/**
 * The nodes this DaemonJob holds, from the snapshot: those it cordoned (annotation) that have no
 * result, and those status.draining lists (a node someone else cordoned carries no annotation).
 * Drains that time out come back as timedOut for the planner to fail; call settleCordons after.
 */
export function planDrains(input: CordonInput): CordonPlan {
  const { spec, owner, nodesByName, final, running, now } = input;
  const plan: CordonPlan = {
    draining: new Map(),
    ready: [],
    cordon: [],
    evict: [],
    uncordon: [],
    markLeft: [],
    left: [],
    timedOut: [],
    events: [],
  };
  if (!cordons(spec)) return plan;
  const nowMs = now.getTime();
  const timeoutMs = spec.drain?.timeoutSeconds === undefined ? undefined : spec.drain.timeoutSeconds * 1000;
  for (const node of input.eligible) {
    const n = nodesByName.get(node) as KubeObject;
    const holder = cordonedBy(n);
    const ours = holder === owner;
    if (final(node) || running.has(node) || !(ours || input.priorDraining[node])) continue;
    if (holder !== undefined && !ours) continue; // another DaemonJob won the race for it
    // Left cordoned after a failure in an earlier run: it waits for a person (settleCordons).
    if (ours && leftCordoned(n) !== undefined) continue;
    // Neither ours nor cordoned (our cordon was lost, or a person uncordoned it): takeNode cordons it.
    if (!ours && !isUnschedulable(n)) continue;
    const since = input.priorDraining[node] ?? now.toISOString().replace(/\.\d+Z$/, 'Z');
    plan.draining.set(node, since);
    // Ours but uncordoned meanwhile (by a person): cordon again.
    if (ours && !isUnschedulable(n)) plan.cordon.push(node);
    if (!spec.drain) {
      plan.ready.push(node);
      continue;
    }
    const pods = input.nodePods?.[node];
    const step = pods ? drainStep(pods, spec.drain) : undefined;
    if (step && !step.evict.length && !step.terminating && !step.refused.length && isUnschedulable(n)) {
      plan.ready.push(node);
      continue;
    }
    const leftMs = timeoutMs === undefined ? undefined : Date.parse(since) + timeoutMs - nowMs;
    if (leftMs !== undefined && leftMs <= 0) {
      const held = step ? step.evict.length + step.terminating + step.refused.length : 0;
      plan.timedOut.push({
        node,
        message: `the drain took longer than drain.timeoutSeconds ${(timeoutMs as number) / 1000}${held ? ` with ${held} pod(s) left on the node` : ''}${step?.refused.length ? `: ${step.refused.join(', ').slice(0, 300)}` : ''}`,
      });
      plan.draining.delete(node);
      continue;
    }
    if (step) for (const p of step.evict) plan.evict.push({ node, ...p });
    if (step?.refused.length)
      plan.events.push({
        type: 'Warning',
        reason: 'DrainRefused',
        note: `Node ${node} cannot be drained: ${step.refused.join(', ')}`,
      });
    // Only refused pods left: a spec change wakes the DaemonJob, a person deleting them does not.
    const poll = step && !step.evict.length && !step.terminating ? REFUSED_POLL_MS : DRAIN_POLL_MS;
    plan.wakeMs = Math.min(plan.wakeMs ?? poll, poll, Math.max(leftMs ?? poll, 1));
  }
  return plan;
}

/**
 * Once results are final: uncordon the nodes this DaemonJob cordoned that succeeded or that it no
 * longer holds; keep those that failed cordoned, marked and listed, unless a person uncordoned them.
 */
export function settleCordons(input: CordonInput, plan: CordonPlan): void {
  const { owner, nodesByName, final, running } = input;
  const eligible = new Set(input.eligible);
  const cordoning = cordons(input.spec);
  for (const [node, n] of [...nodesByName].sort(([a], [b]) => a.localeCompare(b))) {
    if (cordonedBy(n) !== owner) continue;
    const result = eligible.has(node) ? final(node) : undefined;
    // Failed in an earlier run (or no longer eligible): planDrains does not take it again.
    const failedBefore = leftCordoned(n) !== undefined && result === undefined;
    if (result === 'Failed' || failedBefore) {
      if (!isUnschedulable(n)) {
        plan.uncordon.push(node); // uncordoned by a person: drop the marks, free the slot
        continue;
      }
      plan.left.push(node);
      if (!leftCordoned(n)) {
        plan.markLeft.push({ node, reason: input.failureOf(node) ?? 'Failed' });
        plan.events.push({
          type: 'Warning',
          reason: 'NodeLeftCordoned',
          note: `Node ${node} failed and stays cordoned; uncordon it (kubectl uncordon ${node}) once it is looked after`,
        });
      }
      continue;
    }
    const held = cordoning && eligible.has(node) && (plan.draining.has(node) || running.has(node));
    if (result === 'Succeeded' || !held) {
      plan.uncordon.push(node);
      plan.events.push({ type: 'Normal', reason: 'NodeUncordoned', note: `Node ${node} is uncordoned` });
    }
  }
}

/**
 * The run stopped starting nodes (suspend, FailFast, a rejected template): nodes taken but not
 * started are let go, and those this DaemonJob cordoned are uncordoned, rather than left out.
 */
export function releaseDrains(plan: CordonPlan, owner: string, nodesByName: Map<string, KubeObject>): void {
  for (const node of plan.draining.keys()) {
    const n = nodesByName.get(node);
    if (n && cordonedBy(n) === owner && !plan.uncordon.includes(node)) plan.uncordon.push(node);
  }
  plan.draining.clear();
  plan.ready = [];
  plan.cordon = [];
  plan.evict = [];
}

/**
 * No run holds nodes (a schedule waits for its first time): uncordon every node this DaemonJob
 * cordoned, except those left cordoned after a failure.
 */
export function letGoOfNodes(input: Pick<CordonInput, 'spec' | 'owner' | 'nodesByName' | 'now'>): CordonPlan {
  const none: CordonInput = {
    ...input,
    eligible: [],
    final: () => undefined,
    failureOf: () => undefined,
    running: new Set(),
    priorDraining: {},
  };
  const plan = planDrains(none);
  settleCordons(none, plan);
  return plan;
}

/**
 * Nodes whose pods the controller lists for planDrains: those status.draining holds, and those the
 * DaemonJob cordoned that may still be drained (a restart after a lost status write): no result,
 * no pod of it, not left cordoned. A node missed here is listed once the status records its drain.
 */
export function drainTargets(
  spec: DaemonJobSpec,
  owner: string,
  nodes: KubeObject[],
  status: DaemonJobStatus = {},
  podNodes: ReadonlySet<string> = new Set(),
): string[] {
  if (!spec.drain) return [];
  const draining = status.draining ?? {};
  const result = (node: string) => status.nodeResults?.[node];
  return nodes
    .filter((n) => {
      const name = n.metadata.name as string;
      if (name in draining) return true;
      const done = result(name) === 'Succeeded' || result(name) === 'Failed';
      return cordonedBy(n) === owner && !leftCordoned(n) && !done && !podNodes.has(name);
    })
    .map((n) => n.metadata.name as string);
}

/** Takes a node for its drain: cordons it unless it is already. False when another DaemonJob holds it. */
export function takeNode(plan: CordonPlan, spec: DaemonJobSpec, node: KubeObject, now: string): boolean {
  const name = node.metadata.name as string;
  const holder = cordonedBy(node);
  if (holder !== undefined) return false; // another DaemonJob's (ours would be draining already)
  plan.draining.set(name, now);
  if (!isUnschedulable(node)) {
    plan.cordon.push(name);
    plan.events.push({
      type: 'Normal',
      reason: 'NodeCordoned',
      note: `Node ${name} is cordoned${spec.drain ? ' and drained' : ''} before its pod starts`,
    });
  }
  if (spec.drain) plan.wakeMs = Math.min(plan.wakeMs ?? DRAIN_POLL_MS, DRAIN_POLL_MS);
  else plan.ready.push(name);
  return true;
}
