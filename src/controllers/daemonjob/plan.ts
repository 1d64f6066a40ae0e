// The DaemonJob decision, as a pure function of a snapshot: which per-node Jobs to start, delete or
// release, the new status, the Events, and when to look again. Results are keyed by node within a
// run (one pod template hash).
import { createHash } from 'node:crypto';
import type { DaemonJobSpec, DaemonJobStatus } from '../../api/daemonjob.ts';
import { boundedName } from '../../api/names.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { jobOutcome } from '../job-outcome.ts';
import { isEligible, isReady, notReadySince, parallelism } from './eligibility.ts';
import { NODE_ANNOTATION, NODE_RESULT_FINALIZER, TEMPLATE_HASH_LABEL } from './labels.ts';
import { runConditions } from './run-conditions.ts';

export interface DaemonJobObject extends KubeObject {
  spec: DaemonJobSpec;
  status?: DaemonJobStatus;
}

export interface Snapshot {
  daemonJob: DaemonJobObject;
  nodes: KubeObject[];
  /** Jobs that name this DaemonJob as owner, of this object or of an earlier one of the same name. */
  jobs: KubeObject[];
  now: Date;
  /** Kubernetes rejected a per-node Job just now, with this message. */
  rejected?: string;
}

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

export interface Plan {
  status: DaemonJobStatus;
  start: { node: string; name: string }[];
  /** Jobs to delete: their node is gone, or has not been Ready for too long. */
  remove: string[];
  /** Jobs whose result finalizer may go. */
  release: string[];
  events: PlannedEvent[];
  /** Look again then, though nothing changes: a node that is not Ready reaches its timeout. */
  requeueAfterMs?: number;
}

type NodeResult = NonNullable<DaemonJobStatus['nodeResults']>[string];
type FailedNode = NonNullable<DaemonJobStatus['failedNodes']>[number];

const MAX_LISTED = 50;
export const DEFAULT_NOT_READY_TIMEOUT_SECONDS = 300;
const iso = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');
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

export const nodeJobName = (daemonJob: string, node: string, hash: string) =>
  boundedName([daemonJob, node, hash.slice(0, 6)]);
export const jobNode = (job: KubeObject) => job.metadata.annotations?.[NODE_ANNOTATION] ?? '';
const ownerUid = (job: KubeObject) => job.metadata.ownerReferences?.find((r) => r.controller)?.uid;

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

export function planDaemonJob(snap: Snapshot): Plan {
  const { daemonJob: dj, now } = snap;
  const nowMs = now.getTime();
  const name = dj.metadata.name as string;
  const hash = templateHash(dj.spec.template);
  const prior = dj.status ?? {};
  const sameRun = prior.templateHash === hash;
  const startTime = sameRun && prior.startTime ? prior.startTime : iso(now);
  const plan: Plan = { status: {}, start: [], remove: [], release: [], events: [] };
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

  const running = new Set<string>();
  let activeAll = 0; // Jobs running on any template count against maxParallel
  for (const job of snap.jobs) {
    const jobName = job.metadata.name as string;
    const holdsFinalizer = job.metadata.finalizers?.includes(NODE_RESULT_FINALIZER) ?? false;
    const release = () => holdsFinalizer && plan.release.push(jobName);
    // A Job of an earlier DaemonJob of this name: nothing to record; let the garbage collector have it.
    if (ownerUid(job) !== dj.metadata.uid) {
      release();
      continue;
    }
    const node = jobNode(job);
    const nodeObj = nodesByName.get(node);
    const outcome = jobOutcome(job); // a Job being deleted counts as finished (Failed)
    const finished = outcome.phase !== 'Running';
    const current = job.metadata.labels?.[TEMPLATE_HASH_LABEL] === hash;
    if (!nodeObj) {
      // Its node is gone: no result to record, only a report if it was running for this run.
      if (finished) release();
      else {
        plan.remove.push(jobName);
        if (current && !failures.some((f) => f.node === node && f.reason === 'NodeDeleted')) {
          failures.push({
            node,
            reason: 'NodeDeleted',
            message: `node ${node} was deleted while its Job ran`,
          });
          plan.events.push({
            type: 'Warning',
            reason: 'NodeDeleted',
            note: `Node ${node} was deleted while Job ${jobName} ran; it no longer counts`,
          });
        }
      }
      continue;
    }
    if (!current) {
      if (finished) release();
      else activeAll++;
      continue;
    }
    const givenUp = notReadyLeft(nodeObj) === 0;
    if (!finished) {
      if (givenUp && !isFinal(results[node])) {
        fail(node, 'NodeNotReady', `node ${node} was not Ready for ${timeoutMs / 1000}s while its Job ran`);
        plan.events.push({
          type: 'Warning',
          reason: 'NodeNotReady',
          note: `Node ${node} has not been Ready for ${timeoutMs / 1000}s; Job ${jobName} is deleted and the node counts as failed`,
        });
      }
      // A Job still running for a node that has its result was given up on: delete it.
      if (isFinal(results[node])) plan.remove.push(jobName);
      else {
        activeAll++;
        running.add(node);
      }
      continue;
    }
    // Finished: release only what the snapshot's status holds, so that a later reconcile reading a
    // DaemonJob from before this plan's status write cannot find the Job gone and start it again.
    if (isFinal(recorded[node])) release();
    if (isFinal(results[node])) continue;
    if (outcome.phase === 'Succeeded') {
      results[node] = 'Succeeded';
      continue;
    }
    const reason = outcome.reason === 'JobDeleted' && givenUp ? 'NodeNotReady' : (outcome.reason ?? 'Failed');
    fail(node, reason, outcome.message);
    plan.events.push({
      type: 'Warning',
      reason: 'NodeFailed',
      note: `Job ${jobName} on node ${node} failed: ${reason}${outcome.message ? ` (${outcome.message})` : ''}`,
    });
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

  const rejection = snap.rejected ?? rememberedRejection(dj, hash);
  if (snap.rejected && !rememberedRejection(dj, hash))
    plan.events.push({ type: 'Warning', reason: 'InvalidTemplate', note: snap.rejected });
  const succeeded = eligible.filter((n) => results[n] === 'Succeeded').length;
  const failed = eligible.filter((n) => results[n] === 'Failed').length + downTooLong.length;
  const failFast = (dj.spec.failurePolicy ?? 'Continue') === 'FailFast' && failed > 0;
  let slots =
    dj.spec.suspend || failFast || rejection
      ? 0
      : parallelism(dj.spec.maxParallel, eligible.length) - activeAll;
  for (const node of waiting) {
    if (slots <= 0) break;
    if (!isReady(nodesByName.get(node) as KubeObject)) continue;
    plan.start.push({ node, name: nodeJobName(name, node, hash) });
    running.add(node);
    slots--;
  }
  const active = eligible.filter((n) => running.has(n)).length;
  const pending = eligible.length - succeeded - failed - active;
  const notReady = eligible.filter((n) => !isFinal(results[n]) && !isReady(nodesByName.get(n) as KubeObject));
  const waits = notReady
    .map((n) => notReadyLeft(nodesByName.get(n) as KubeObject) ?? 0)
    .filter((ms) => ms > 0);
  if (waits.length) plan.requeueAfterMs = Math.min(...waits);

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
