// The DaemonJob decision, as a pure function of a snapshot: which per-node pods to start, delete or
// release, the new status, the Events, and when to look again. Results are keyed by node within a
// run (one pod template hash, or with a schedule the hash of a template and a scheduled time); a
// node's failed pods are retried up to backoffLimit.
import { createHash } from 'node:crypto';
import type { DaemonJobSpec, DaemonJobStatus } from '../../api/daemonjob.ts';
import { boundedName, labelValue } from '../../api/names.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { jobOutcome } from '../job-outcome.ts';
import {
  cordonOwner,
  cordons,
  type Eviction,
  isUnschedulable,
  planDrains,
  releaseDrains,
  settleCordons,
  takeNode,
} from './drain.ts';
import { isEligible, isReady, notReadySince, parallelism } from './eligibility.ts';
import {
  ATTEMPT_LABEL,
  NODE_ANNOTATION,
  NODE_RESULT_FINALIZER,
  NODE_RESULT_LABEL_PREFIX,
  TEMPLATE_HASH_LABEL,
} from './labels.ts';
import { type PodOutcome, podOutcome, restarts, retryDelayMs } from './pod-outcome.ts';
import { runConditions } from './run-conditions.ts';

export interface DaemonJobObject extends KubeObject {
  spec: DaemonJobSpec;
  status?: DaemonJobStatus;
}

export interface Snapshot {
  daemonJob: DaemonJobObject;
  nodes: KubeObject[];
  /** Pods that name this DaemonJob as owner, of this object or of an earlier one of the same name. */
  pods: KubeObject[];
  /** Per-node Jobs that name this DaemonJob as owner, left by a Bosun that made a Job per node. */
  legacyJobs?: KubeObject[];
  now: Date;
  /** With spec.drain: the pods on each node being drained (drainTargets), listed by the controller. */
  nodePods?: Record<string, KubeObject[]>;
  /** Kubernetes rejected a per-node pod just now, with this message. */
  rejected?: string;
}

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

export interface PodToStart {
  node: string;
  name: string;
  /** 0 for the first try on the node. */
  attempt: number;
  /** What is left of spec.activeDeadlineSeconds for the node. */
  activeDeadlineSeconds?: number;
}

export interface Plan {
  status: DaemonJobStatus;
  start: PodToStart[];
  /**
   * Pods to delete: their node is gone or not Ready for too long, past a deadline or the TTL. Only
   * once the status read holds the result they stand for: deleting earlier, a lost status write
   * would make the next reconcile see a deleted try (PodDeleted) and retry the node.
   */
  remove: string[];
  /** Pods whose result finalizer may go. */
  release: string[];
  /** Legacy per-node Jobs whose result finalizer may go. */
  releaseJobs: string[];
  /** With spec.labelNodes: nodes that succeeded in this run and lack the result label. */
  labelNodes: string[];
  /** With spec.cordon or spec.drain: nodes to cordon (and mark as cordoned by this DaemonJob). */
  cordon: string[];
  /** Pods to evict from the nodes being drained. */
  evict: Eviction[];
  /** Nodes this DaemonJob cordoned to uncordon (and unmark). */
  uncordon: string[];
  /** Failed nodes this DaemonJob cordoned, to mark as left cordoned. */
  markLeft: { node: string; reason: string }[];
  events: PlannedEvent[];
  /** Look again then, though nothing changes: a timeout, a deadline, a retry's backoff or a TTL comes. */
  requeueAfterMs?: number;
}

type NodeResult = NonNullable<DaemonJobStatus['nodeResults']>[string];
type FailedNode = NonNullable<DaemonJobStatus['failedNodes']>[number];

const MAX_LISTED = 50;
export const DEFAULT_NOT_READY_TIMEOUT_SECONDS = 300;
export const DEFAULT_BACKOFF_LIMIT = 6;
export const iso = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');
const isFinal = (r: NodeResult | undefined) => r === 'Succeeded' || r === 'Failed';

/** A stable hash of the pod template: a change starts a new run. */
export function templateHash(template: unknown): string {
  return createHash('sha256').update(canonical(template)).digest('hex').slice(0, 10);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A run: the hash its pods are labelled with, and the part of it in their names. */
export interface Run {
  hash: string;
  nameHash: string;
}
/** The run of a DaemonJob without a schedule: one per pod template. */
export const templateRun = (template: unknown): Run => {
  const hash = templateHash(template);
  return { hash, nameHash: hash.slice(0, 6) };
};

/** One name per DaemonJob, node, run and try: a create repeated after a crash is AlreadyExists. */
export const nodePodName = (daemonJob: string, node: string, nameHash: string, attempt: number) =>
  boundedName([daemonJob, node, nameHash, String(attempt)]);
/**
 * The label key spec.labelNodes puts on the nodes that succeeded: daemonjob.bosun.dev/<namespace>.<name>,
 * unique per DaemonJob as a namespace has no dot, shortened with a hash past the 63 characters of a key's name.
 */
export const nodeResultLabel = (namespace: string, daemonJob: string) =>
  `${NODE_RESULT_LABEL_PREFIX}${labelValue(`${namespace}.${daemonJob}`)}`;
export const podNode = (pod: KubeObject) => pod.metadata.annotations?.[NODE_ANNOTATION] ?? '';
const attemptOf = (pod: KubeObject) => Number(pod.metadata.labels?.[ATTEMPT_LABEL] ?? 0) || 0;
export const ownerUid = (pod: KubeObject) => pod.metadata.ownerReferences?.find((r) => r.controller)?.uid;

/** A rejection of this template and generation that the status already reports: do not retry it. */
function rememberedRejection(dj: DaemonJobObject, hash: string): string | undefined {
  const failed = dj.status?.conditions?.find((c) => c.type === 'Failed');
  return dj.status?.templateHash === hash &&
    failed?.status === 'True' &&
    failed.reason === 'InvalidTemplate' &&
    failed.observedGeneration === dj.metadata.generation
    ? failed.message
    : undefined;
}

/** The plan of one run: by default the current pod template's; a schedule passes its own. */
export function planDaemonJob(snap: Snapshot, run: Run = templateRun(snap.daemonJob.spec.template)): Plan {
  const { daemonJob: dj, now } = snap;
  const nowMs = now.getTime();
  const name = dj.metadata.name as string;
  const { hash } = run;
  const prior = dj.status ?? {};
  const sameRun = prior.templateHash === hash;
  const startTime = sameRun && prior.startTime ? prior.startTime : iso(now);
  const plan: Plan = {
    status: {},
    start: [],
    remove: [],
    release: [],
    releaseJobs: [],
    labelNodes: [],
    cordon: [],
    evict: [],
    uncordon: [],
    markLeft: [],
    events: [],
  };
  if (!sameRun)
    plan.events.push({
      type: 'Normal',
      reason: 'RunStarted',
      note: `Pod template ${hash} runs on every eligible node`,
    });

  const nodesByName = new Map(snap.nodes.map((n) => [n.metadata.name as string, n]));
  const timeoutMs = (dj.spec.notReadyTimeoutSeconds ?? DEFAULT_NOT_READY_TIMEOUT_SECONDS) * 1000;
  /** Milliseconds until a not-Ready node counts as failed; 0 once it does; undefined when Ready. */
  const notReadyLeft = (node: KubeObject) => {
    const since = notReadySince(node);
    return since === undefined ? undefined : Math.max(0, since + timeoutMs - nowMs);
  };

  // Results of this run, forgetting nodes that no longer exist (the status stays bounded by the fleet).
  const results: Record<string, NodeResult> = {};
  const recorded: Record<string, NodeResult> = {}; // what the snapshot's status already holds
  if (sameRun)
    for (const [node, result] of Object.entries(prior.nodeResults ?? {}))
      if (nodesByName.has(node)) recorded[node] = results[node] = result;
  const failures: FailedNode[] = sameRun
    ? (prior.failedNodes ?? []).filter((f) => f.reason === 'NodeDeleted' || results[f.node] === 'Failed')
    : [];
  const fail = (node: string, reason: string, message?: string) => {
    results[node] = 'Failed';
    failures.push({ node, reason, ...(message ? { message: message.slice(0, 512) } : {}) });
  };

  const podSpec = (dj.spec.template.spec ?? {}) as Record<string, unknown>;
  const eligibleNow = snap.nodes
    .filter((n) => isEligible(n, podSpec))
    .map((n) => n.metadata.name as string)
    .sort();
  // newNodes: Ignore runs the nodes eligible when the run started; they are recorded as Pending then.
  const ignoreNew = dj.spec.newNodes === 'Ignore';
  if (ignoreNew && !sameRun) for (const n of eligibleNow) results[n] = 'Pending';
  const eligible = ignoreNew ? eligibleNow.filter((n) => results[n]) : eligibleNow;

  const toStart = (node: string, attempt: number, deadlineLeftMs?: number): PodToStart => ({
    node,
    name: nodePodName(name, node, run.nameHash, attempt),
    attempt,
    ...(deadlineLeftMs === undefined
      ? {}
      : { activeDeadlineSeconds: Math.max(1, Math.ceil(deadlineLeftMs / 1000)) }),
  });
  const running = new Set<string>();
  let activeAll = 0; // nodes running on any template count against maxParallel
  const wake = (ms: number) => {
    plan.requeueAfterMs = Math.min(plan.requeueAfterMs ?? ms, Math.max(ms, 1));
  };
  const ttlMs =
    dj.spec.ttlSecondsAfterFinished === undefined ? undefined : dj.spec.ttlSecondsAfterFinished * 1000;
  /** A finished pod whose result no longer matters: its finalizer goes, and it goes after the TTL. */
  const letGo = (pod: KubeObject, outcome: PodOutcome) => {
    const podName = pod.metadata.name as string;
    if (pod.metadata.finalizers?.includes(NODE_RESULT_FINALIZER)) plan.release.push(podName);
    if (ttlMs === undefined || pod.metadata.deletionTimestamp) return;
    const left = (outcome.finishedAt ?? nowMs) + ttlMs - nowMs;
    if (left <= 0) plan.remove.push(podName);
    else wake(left);
  };
  // Pods go only once the status read holds what they tell, so that a failed status write loses nothing.
  const reportedGone = new Set(
    sameRun ? (prior.failedNodes ?? []).filter((f) => f.reason === 'NodeDeleted').map((f) => f.node) : [],
  );
  // Jobs of a Bosun that made a Job per node, upgraded mid-run: a running one is its node's try, a
  // finished one's result is recorded before its finalizer goes.
  for (const job of snap.legacyJobs ?? []) {
    const jobName = job.metadata.name as string;
    const node = podNode(job);
    const outcome = jobOutcome(job);
    const ours = ownerUid(job) === dj.metadata.uid && nodesByName.has(node);
    const ofThisRun = ours && job.metadata.labels?.[TEMPLATE_HASH_LABEL] === hash;
    if (ours && outcome.phase === 'Running') {
      activeAll++;
      if (ofThisRun && !isFinal(results[node])) running.add(node);
      continue;
    }
    if (ofThisRun && outcome.reason !== 'JobDeleted' && !isFinal(recorded[node])) {
      if (isFinal(results[node])) continue;
      if (outcome.phase === 'Succeeded') results[node] = 'Succeeded';
      else {
        const { reason = 'Failed', message = '' } = outcome;
        fail(node, reason, `Job ${jobName} failed with ${reason}${message ? `: ${message}` : ''}`);
        plan.events.push({ type: 'Warning', reason: 'NodeFailed', note: `Node ${node} failed: ${reason}` });
      }
      continue;
    }
    if (job.metadata.finalizers?.includes(NODE_RESULT_FINALIZER)) plan.releaseJobs.push(jobName);
  }
  const current = new Map<string, { pod: KubeObject; outcome: PodOutcome }[]>();
  for (const pod of snap.pods) {
    const podName = pod.metadata.name as string;
    // A pod of an earlier DaemonJob of this name: nothing to record; let the garbage collector have it.
    if (ownerUid(pod) !== dj.metadata.uid) {
      if (pod.metadata.finalizers?.includes(NODE_RESULT_FINALIZER)) plan.release.push(podName);
      continue;
    }
    const node = podNode(pod);
    const outcome = podOutcome(pod);
    const finished = outcome.phase !== 'Running';
    const ofThisRun = pod.metadata.labels?.[TEMPLATE_HASH_LABEL] === hash;
    if (!nodesByName.has(node)) {
      // Its node is gone: no result to record, only a report if it was running for this run.
      if (finished) letGo(pod, outcome);
      else if (!ofThisRun || reportedGone.has(node)) plan.remove.push(podName);
      else {
        if (!failures.some((f) => f.node === node && f.reason === 'NodeDeleted')) {
          failures.push({
            node,
            reason: 'NodeDeleted',
            message: `node ${node} was deleted while its pod ran`,
          });
          plan.events.push({
            type: 'Warning',
            reason: 'NodeDeleted',
            note: `Node ${node} was deleted while pod ${podName} ran; it no longer counts`,
          });
        }
      }
      continue;
    }
    if (!ofThisRun) {
      if (finished) letGo(pod, outcome);
      else activeAll++;
      continue;
    }
    const tries = current.get(node) ?? [];
    tries.push({ pod, outcome });
    current.set(node, tries);
  }

  const backoffLimit = dj.spec.backoffLimit ?? DEFAULT_BACKOFF_LIMIT;
  const onFailure = dj.spec.template.spec?.restartPolicy === 'OnFailure';
  const deadlineMs = dj.spec.activeDeadlineSeconds ? dj.spec.activeDeadlineSeconds * 1000 : undefined;
  const retries: PodToStart[] = [];
  for (const [node, tries] of current) {
    tries.sort((a, b) => attemptOf(a.pod) - attemptOf(b.pod));
    const latest = tries[tries.length - 1] as (typeof tries)[number];
    const latestName = latest.pod.metadata.name as string;
    const nodeObj = nodesByName.get(node) as KubeObject;
    const givenUp = notReadyLeft(nodeObj) === 0;
    // Finished tries go once the node's result is in the snapshot's status, so that a later reconcile
    // reading a DaemonJob from before this plan's status write cannot find them gone and start again.
    if (isFinal(recorded[node]))
      for (const t of tries) if (t.outcome.phase !== 'Running') letGo(t.pod, t.outcome);
    if (isFinal(results[node])) {
      // A pod still running for a node that has its result was given up on: delete it.
      if (
        isFinal(recorded[node]) &&
        latest.outcome.phase === 'Running' &&
        !latest.pod.metadata.deletionTimestamp
      )
        plan.remove.push(latestName);
      continue;
    }
    const firstCreated = Math.min(
      ...tries.map((t) => Date.parse(t.pod.metadata.creationTimestamp ?? '') || nowMs),
    );
    const deadlineLeft = deadlineMs === undefined ? undefined : firstCreated + deadlineMs - nowMs;
    const failedTries = tries.filter((t) => t.outcome.phase === 'Failed').length;
    const nodeFailed = (reason: string, message: string) => {
      fail(node, reason, message);
      plan.events.push({
        type: 'Warning',
        reason: 'NodeFailed',
        note: `Node ${node} failed: ${reason} (${message})`,
      });
    };
    if (latest.outcome.phase === 'Running') {
      if (givenUp) {
        fail(node, 'NodeNotReady', `node ${node} was not Ready for ${timeoutMs / 1000}s while its pod ran`);
        plan.events.push({
          type: 'Warning',
          reason: 'NodeNotReady',
          note: `Node ${node} has not been Ready for ${timeoutMs / 1000}s; pod ${latestName} is deleted and the node counts as failed`,
        });
      } else if (deadlineLeft !== undefined && deadlineLeft <= 0)
        nodeFailed(
          'DeadlineExceeded',
          `the node's pods ran longer than activeDeadlineSeconds ${(deadlineMs as number) / 1000}`,
        );
      else if (onFailure && restarts(latest.pod) > backoffLimit)
        nodeFailed(
          'BackoffLimitExceeded',
          `the pod restarted ${restarts(latest.pod)} times, more than backoffLimit ${backoffLimit}`,
        );
      // Given up on: the pod is deleted once the status read records the failure (above).
      if (!isFinal(results[node])) {
        activeAll++;
        running.add(node);
        if (deadlineLeft !== undefined) wake(deadlineLeft);
      }
      continue;
    }
    if (latest.outcome.phase === 'Succeeded') {
      results[node] = 'Succeeded';
      continue;
    }
    const { reason = 'Failed', message } = latest.outcome;
    const why = `${failedTries} pod(s) failed, the last (${latestName}) with ${reason}${message ? `: ${message}` : ''}`;
    if (reason === 'PodDeleted' && givenUp)
      fail(node, 'NodeNotReady', `node ${node} was not Ready for ${timeoutMs / 1000}s while its pod ran`);
    else if (reason === 'DeadlineExceeded' || (deadlineLeft !== undefined && deadlineLeft <= 0))
      nodeFailed('DeadlineExceeded', why);
    else if (failedTries > backoffLimit) nodeFailed('BackoffLimitExceeded', why);
    else {
      // Another try, after the same backoff as a Job's, on a node that is Ready; it keeps the node's slot.
      activeAll++;
      running.add(node);
      const retryIn = (latest.outcome.finishedAt ?? nowMs) + retryDelayMs(failedTries) - nowMs;
      if (retryIn > 0) wake(retryIn);
      else if (isReady(nodeObj)) retries.push(toStart(node, attemptOf(latest.pod) + 1, deadlineLeft));
    }
  }

  // Nodes not started yet that have not been Ready for too long count as failed while they stay
  // down (not recorded: they run when they come back).
  const waiting = eligible.filter((n) => !isFinal(results[n]) && !running.has(n));
  const downTooLong = waiting.filter((n) => notReadyLeft(nodesByName.get(n) as KubeObject) === 0);
  const priorFailures = new Set((prior.failedNodes ?? []).map((f) => `${f.node}/${f.reason}`));
  for (const node of downTooLong) {
    failures.push({
      node,
      reason: 'NodeNotReady',
      message: `node ${node} has not been Ready for ${timeoutMs / 1000}s`,
    });
    if (!(sameRun && priorFailures.has(`${node}/NodeNotReady`)))
      plan.events.push({
        type: 'Warning',
        reason: 'NodeNotReady',
        note: `Node ${node} has not been Ready for ${timeoutMs / 1000}s; it counts as failed until it is Ready`,
      });
  }

  // Cordon and drain: drains that timed out fail their node before the counts; failed nodes this
  // DaemonJob cordoned stay cordoned and keep a slot, like the nodes being drained.
  const owner = cordonOwner(dj.metadata.namespace as string, name);
  const cordonInput = {
    spec: dj.spec,
    owner,
    nodesByName,
    eligible,
    final: (n: string) => (isFinal(results[n]) ? (results[n] as 'Succeeded' | 'Failed') : undefined),
    failureOf: (n: string) => failures.find((f) => f.node === n)?.reason,
    running,
    priorDraining: sameRun ? (prior.draining ?? {}) : {},
    nodePods: snap.nodePods,
    now,
  };
  const drains = planDrains(cordonInput);
  for (const { node, message } of drains.timedOut) {
    fail(node, 'DrainTimeout', message);
    plan.events.push({
      type: 'Warning',
      reason: 'NodeFailed',
      note: `Node ${node} failed: DrainTimeout (${message})`,
    });
  }
  settleCordons(cordonInput, drains);

  const rejection = snap.rejected ?? rememberedRejection(dj, hash);
  if (snap.rejected && !rememberedRejection(dj, hash))
    plan.events.push({ type: 'Warning', reason: 'InvalidTemplate', note: snap.rejected });
  const succeeded = eligible.filter((n) => results[n] === 'Succeeded').length;
  const failed = eligible.filter((n) => results[n] === 'Failed').length + downTooLong.length;
  const failFast = (dj.spec.failurePolicy ?? 'Continue') === 'FailFast' && failed > 0;
  const halted = dj.spec.suspend || failFast || !!rejection;
  // A node still cordoned until this plan's uncordon is out too: the next node waits for it.
  const uncordoning = drains.uncordon.filter((n) => isUnschedulable(nodesByName.get(n) as KubeObject)).length;
  if (halted) releaseDrains(drains, owner, nodesByName);
  // Cordoning, the nodes out at once are bounded: one at a time unless maxParallel says otherwise.
  const maxParallel = dj.spec.maxParallel ?? (cordons(dj.spec) ? 1 : undefined);
  let slots = halted
    ? 0
    : parallelism(maxParallel, eligible.length) -
      activeAll -
      drains.draining.size -
      drains.left.length -
      uncordoning;
  plan.start.push(...(rejection ? [] : retries));
  for (const node of waiting) {
    if (slots <= 0) break;
    const nodeObj = nodesByName.get(node) as KubeObject;
    // A drain that timed out failed its node in this plan; a node being drained holds its slot.
    if (isFinal(results[node]) || drains.draining.has(node) || !isReady(nodeObj)) continue;
    if (cordons(dj.spec)) {
      // Its pod starts once the node is drained (at once with cordon alone).
      if (takeNode(drains, dj.spec, nodeObj, iso(now))) slots--;
      continue;
    }
    plan.start.push(toStart(node, 0, deadlineMs));
    running.add(node);
    slots--;
  }
  for (const node of drains.ready) {
    plan.start.push(toStart(node, 0, deadlineMs));
    running.add(node);
    drains.draining.delete(node);
  }
  plan.cordon = drains.cordon;
  plan.evict = drains.evict;
  plan.uncordon = drains.uncordon;
  plan.markLeft = drains.markLeft;
  plan.events.push(...drains.events);
  if (drains.wakeMs !== undefined) wake(drains.wakeMs);
  const active = eligible.filter((n) => running.has(n)).length;
  const pending = eligible.length - succeeded - failed - active;
  const notReady = eligible.filter((n) => !isFinal(results[n]) && !isReady(nodesByName.get(n) as KubeObject));
  for (const n of notReady) {
    const left = notReadyLeft(nodesByName.get(n) as KubeObject) ?? 0;
    if (left > 0) wake(left);
  }

  let phase: NonNullable<DaemonJobStatus['phase']>;
  if (rejection) phase = 'Failed';
  else if (active === 0 && (pending === 0 || failFast)) phase = failed > 0 ? 'Failed' : 'Complete';
  else if (dj.spec.suspend) phase = 'Suspended';
  else phase = 'Running';
  const finished = phase === 'Complete' || phase === 'Failed';
  if (finished && !rejection && prior.phase !== phase) {
    plan.events.push(
      phase === 'Complete'
        ? { type: 'Normal', reason: 'Completed', note: `Succeeded on all ${succeeded} eligible nodes` }
        : {
            type: 'Warning',
            reason: 'Failed',
            note: `Failed on ${failed} of ${eligible.length} nodes${failFast ? ' (FailFast: no new node started after the first failure)' : ''}`,
          },
    );
  }

  if (dj.spec.labelNodes) {
    const key = nodeResultLabel(dj.metadata.namespace as string, name);
    for (const node of eligible)
      if (results[node] === 'Succeeded' && nodesByName.get(node)?.metadata.labels?.[key] !== hash)
        plan.labelNodes.push(node);
  }

  const eligibleSet = new Set(eligible);
  // Failures of the run's nodes first: deleted nodes must not crowd them out of the 50 listed.
  const failedList = [
    ...failures.filter((f) => eligibleSet.has(f.node) && f.reason !== 'NodeDeleted'),
    ...failures.filter((f) => f.reason === 'NodeDeleted'),
  ];
  const nodeResults = Object.fromEntries(Object.entries(results).sort(([a], [b]) => a.localeCompare(b)));
  plan.status = {
    observedGeneration: dj.metadata.generation,
    phase,
    templateHash: hash,
    startTime,
    ...(finished
      ? {
          completionTime:
            sameRun && prior.completionTime && prior.phase === phase ? prior.completionTime : iso(now),
        }
      : {}),
    desired: eligible.length,
    active,
    succeeded,
    failed,
    pending,
    ...(notReady.length ? { notReady: notReady.slice(0, MAX_LISTED) } : {}),
    ...(Object.keys(nodeResults).length ? { nodeResults } : {}),
    ...(failedList.length ? { failedNodes: failedList.slice(0, MAX_LISTED) } : {}),
    ...(drains.draining.size ? { draining: Object.fromEntries([...drains.draining].sort()) } : {}),
    ...(drains.left.length ? { cordonedNodes: drains.left.slice(0, MAX_LISTED) } : {}),
    conditions: runConditions({
      prior: prior.conditions,
      generation: dj.metadata.generation,
      phase,
      rejection,
      failFast,
      counts: { succeeded, failed, done: succeeded + failed, eligible: eligible.length },
      failedList: failedList.filter((f) => results[f.node] === 'Failed' || f.reason === 'NodeNotReady'),
      now,
    }),
  };
  return plan;
}
