// The DaemonJob decision, as a pure function of a snapshot: which per-node Jobs to start or delete,
// and the new status. Results are keyed by node within a run (one pod template hash).
import { createHash } from 'node:crypto';
import type { DaemonJobSpec, DaemonJobStatus } from '../../api/daemonjob.ts';
import { boundedName } from '../../api/names.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { type Condition, setCondition } from '../../runtime/status.ts';
import { jobOutcome } from '../job-outcome.ts';
import { isEligible, isReady, parallelism } from './eligibility.ts';
import { NODE_ANNOTATION, TEMPLATE_HASH_LABEL } from './labels.ts';

export interface DaemonJobObject extends KubeObject {
  spec: DaemonJobSpec;
  status?: DaemonJobStatus;
}

export interface Snapshot {
  daemonJob: DaemonJobObject;
  nodes: KubeObject[];
  /** Jobs owned by this DaemonJob, of any template. */
  jobs: KubeObject[];
  now: Date;
}

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

export interface Plan {
  status: DaemonJobStatus;
  start: { node: string; name: string }[];
  /** Jobs to delete: their node is gone. */
  remove: string[];
  events: PlannedEvent[];
}

const MAX_LISTED = 50;
const iso = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

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

export function planDaemonJob(snap: Snapshot): Plan {
  const { daemonJob: dj, now } = snap;
  const name = dj.metadata.name as string;
  const hash = templateHash(dj.spec.template);
  const prior = dj.status ?? {};
  const sameRun = prior.templateHash === hash;
  const startTime = sameRun && prior.startTime ? prior.startTime : iso(now);
  const results: Record<string, 'Succeeded' | 'Failed'> = sameRun ? { ...(prior.nodeResults ?? {}) } : {};
  const failedNodes = sameRun ? [...(prior.failedNodes ?? [])] : [];
  const plan: Plan = { status: {}, start: [], remove: [], events: [] };
  if (!sameRun)
    plan.events.push({
      type: 'Normal',
      reason: 'RunStarted',
      note: `Pod template ${hash} runs on every eligible node`,
    });

  const nodesByName = new Map(snap.nodes.map((n) => [n.metadata.name as string, n]));
  const podSpec = (dj.spec.template.spec ?? {}) as Record<string, unknown>;
  const runStartMs = Date.parse(startTime);
  const eligible = snap.nodes
    .filter((n) => isEligible(n, podSpec))
    .filter(
      (n) =>
        (dj.spec.newNodes ?? 'Run') === 'Run' ||
        Date.parse(n.metadata.creationTimestamp ?? startTime) <= runStartMs,
    )
    .map((n) => n.metadata.name as string)
    .sort();

  // Record what the Jobs of this run say; Jobs whose node went away are deleted and reported.
  const running = new Set<string>();
  let activeAll = 0;
  for (const job of snap.jobs) {
    const node = jobNode(job);
    const outcome = jobOutcome(job);
    const current = job.metadata.labels?.[TEMPLATE_HASH_LABEL] === hash;
    if (outcome.phase === 'Running' && !job.metadata.deletionTimestamp) {
      if (!nodesByName.has(node)) {
        plan.remove.push(job.metadata.name as string);
        if (current && !failedNodes.some((f) => f.node === node)) {
          failedNodes.push({
            node,
            reason: 'NodeDeleted',
            message: `node ${node} was deleted while its Job ran`,
          });
          plan.events.push({
            type: 'Warning',
            reason: 'NodeDeleted',
            note: `Node ${node} was deleted while Job ${job.metadata.name} ran; it no longer counts`,
          });
        }
        continue;
      }
      activeAll++; // old-template Jobs still running count against maxParallel too
      if (current) running.add(node);
      continue;
    }
    if (!current || results[node] || outcome.phase === 'Running') continue;
    results[node] = outcome.phase;
    if (outcome.phase === 'Failed') {
      if (failedNodes.length < MAX_LISTED)
        failedNodes.push({
          node,
          reason: outcome.reason ?? 'Failed',
          ...(outcome.message ? { message: outcome.message.slice(0, 512) } : {}),
        });
      plan.events.push({
        type: 'Warning',
        reason: 'NodeFailed',
        note: `Job ${job.metadata.name} on node ${node} failed: ${outcome.reason}${outcome.message ? ` (${outcome.message})` : ''}`,
      });
    }
  }

  const eligibleSet = new Set(eligible);
  const done = eligible.filter((n) => results[n]);
  const succeeded = done.filter((n) => results[n] === 'Succeeded').length;
  const failed = done.length - succeeded;
  const waiting = eligible.filter((n) => !results[n] && !running.has(n));
  const notReady = waiting.filter((n) => !isReady(nodesByName.get(n) as KubeObject));
  const failFast = (dj.spec.failurePolicy ?? 'Continue') === 'FailFast' && failed > 0;
  let slots = dj.spec.suspend || failFast ? 0 : parallelism(dj.spec.maxParallel, eligible.length) - activeAll;
  for (const node of waiting) {
    if (slots <= 0) break;
    if (notReady.includes(node)) continue;
    plan.start.push({ node, name: nodeJobName(name, node, hash) });
    running.add(node);
    slots--;
  }
  const active = eligible.filter((n) => running.has(n)).length;
  const pending = eligible.length - done.length - active;

  let phase: NonNullable<DaemonJobStatus['phase']>;
  if (active === 0 && (pending === 0 || failFast)) phase = failed > 0 ? 'Failed' : 'Complete';
  else if (dj.spec.suspend) phase = 'Suspended';
  else phase = 'Running';
  const finished = phase === 'Complete' || phase === 'Failed';
  if (finished && prior.phase !== phase) {
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

  const generation = dj.metadata.generation;
  const failedList = failedNodes.filter((f) => eligibleSet.has(f.node) || f.reason === 'NodeDeleted');
  let conditions = setCondition(
    prior.conditions as Condition[] | undefined,
    phase === 'Complete'
      ? {
          type: 'Complete',
          status: 'True',
          reason: 'AllNodesSucceeded',
          message: `succeeded on ${succeeded} node(s)`,
          observedGeneration: generation,
        }
      : {
          type: 'Complete',
          status: 'False',
          reason: phase === 'Failed' ? 'NodesFailed' : phase,
          message: `${done.length} of ${eligible.length} nodes done`,
          observedGeneration: generation,
        },
    now,
  );
  conditions = setCondition(
    conditions,
    failed > 0
      ? {
          type: 'Failed',
          status: finished ? 'True' : 'False',
          reason: failFast ? 'FailFast' : 'NodesFailed',
          message: `failed on ${failedList
            .filter((f) => results[f.node] === 'Failed')
            .map((f) => `${f.node} (${f.reason})`)
            .join(', ')}`,
          observedGeneration: generation,
        }
      : {
          type: 'Failed',
          status: 'False',
          reason: 'NoFailures',
          message: 'no node failed',
          observedGeneration: generation,
        },
    now,
  );
  const nodeResults = Object.fromEntries(Object.entries(results).sort(([a], [b]) => a.localeCompare(b)));
  plan.status = {
    observedGeneration: generation,
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
    conditions,
  };
  return plan;
}
