// The DaemonJob controller: snapshot (the DaemonJob, the nodes, its pods) → planDaemonJob → create
// per-node pods, write the status, record Events, then delete and release the pods the plan lets go.
// Bosun creates the pods itself, as the DaemonSet controller does: a Job per node would put every
// node through kube-controller-manager's Job controller (a few workers, several writes per Job).
import { isDeepStrictEqual } from 'node:util';
import { Counter } from 'prom-client';
import { resourceOf } from '../../api/crd.ts';
import { DaemonJobKind } from '../../api/daemonjob.ts';
import {
  Controller,
  type ReconcileContext,
  type ReconcileResult,
  toOwner,
  toSelf,
} from '../../runtime/controller.ts';
import {
  ApiError,
  isConflict,
  type KubeObject,
  type ResourceRef,
  Resources,
} from '../../runtime/kube-client.ts';
import type { Informer, Manager } from '../../runtime/manager.ts';
import { OwnWrites } from '../../runtime/own-writes.ts';
import { forgetDeletedReleases, ownedBy, releaseFinalizer } from '../../runtime/ownership.ts';
import { inParallel } from '../../runtime/parallel.ts';
import { updateStatusIfChanged } from '../../runtime/status.ts';
import { UnseenWrites } from '../../runtime/unseen-writes.ts';
import { objectKey, trimNodeStatus } from '../../runtime/watch-cache.ts';
import { cordonedBy, cordonOwner, drainTargets, leftCordoned } from './drain.ts';
import { isReady } from './eligibility.ts';
import { DAEMONJOB_LABEL, NODE_ANNOTATION, NODE_RESULT_FINALIZER, TEMPLATE_HASH_LABEL } from './labels.ts';
import {
  cordonNode,
  evictPod,
  markLeftCordoned,
  type PatchResult,
  podsOnNodes,
  uncordonNode,
} from './node-cordon.ts';
import { type DaemonJobObject, nodeResultLabel, type PodToStart } from './plan.ts';
import { nodePod } from './pod-manifest.ts';
import { templateRejection } from './pod-rejection.ts';
import { planWithSchedule } from './scheduled-plan.ts';

export const DAEMONJOBS = resourceOf(DaemonJobKind);

interface Deps {
  mgr: Manager;
  daemonJobs: Informer<DaemonJobObject>;
  nodes: Informer;
  pods: Informer;
  /**
   * Per-node Jobs left by an earlier Bosun, which made a Job per node: a running one is its node's
   * try, a finished one's result is recorded, then their finalizer is released.
   */
  legacyJobs: Informer;
  started: Counter;
  evictions: Counter;
  /** Scheduled times by what became of them: started, skipped (Forbid), missed (deadline). */
  scheduled: Counter;
  /** Pods this process created, by namespace/name, until the cache shows them. */
  created: UnseenWrites;
  /** Pods and legacy Jobs whose result finalizer this process released, by uid. */
  released: UnseenWrites;
  statusWrites: OwnWrites;
}

const SCHEDULE_RESULTS: Record<string, string> = {
  RunStarted: 'started',
  RunSkipped: 'skipped',
  RunMissed: 'missed',
};

/** What of a node matters for eligibility and cordons; heartbeats change none of it. */
const nodeShape = (n: KubeObject) => [
  n.metadata.labels,
  n.spec?.taints,
  n.spec?.unschedulable,
  cordonedBy(n),
  leftCordoned(n),
  isReady(n),
  !!n.metadata.deletionTimestamp,
];

export function setupDaemonJobController(mgr: Manager, opts: { workers: number }): Controller {
  const deps: Deps = {
    mgr,
    daemonJobs: mgr.informer<DaemonJobObject>(DAEMONJOBS),
    nodes: mgr.informer(Resources.nodes, { transform: trimNodeStatus }),
    pods: mgr.informer(Resources.pods, { labelSelector: DAEMONJOB_LABEL }),
    legacyJobs: mgr.informer(Resources.jobs, { labelSelector: DAEMONJOB_LABEL }),
    started: new Counter({
      name: 'bosun_daemonjob_pods_total',
      help: 'Per-node pods created (result="started"), retries included',
      labelNames: ['result'],
      registers: [mgr.metrics.registry],
    }),
    evictions: new Counter({
      name: 'bosun_daemonjob_evictions_total',
      help: 'Evictions of pods from nodes a DaemonJob drains, by result (evicted, gone, blocked: a PodDisruptionBudget refused, retried later)',
      labelNames: ['result'],
      registers: [mgr.metrics.registry],
    }),
    scheduled: new Counter({
      name: 'bosun_daemonjob_scheduled_runs_total',
      help: 'Scheduled times of DaemonJobs: result="started", "skipped" (concurrencyPolicy Forbid) or "missed" (startingDeadlineSeconds)',
      labelNames: ['result'],
      registers: [mgr.metrics.registry],
    }),
    created: new UnseenWrites(),
    released: new UnseenWrites(),
    statusWrites: new OwnWrites(),
  };
  deps.pods.onEvent((e) => deps.created.settled(objectKey(e.object)));
  forgetDeletedReleases(deps.pods, deps.released);
  forgetDeletedReleases(deps.legacyJobs, deps.released);
  const controller = new Controller({
    name: 'daemonjob',
    workers: opts.workers,
    metrics: mgr.metrics,
    log: mgr.log,
    reconcile: (ctx, key) => reconcile(deps, ctx, key),
  });
  controller
    .watch(deps.daemonJobs, toSelf)
    .watch(deps.pods, toOwner('DaemonJob'))
    .watch(deps.legacyJobs, toOwner('DaemonJob'))
    .watch(deps.nodes, (e) =>
      e.type === 'updated' && isDeepStrictEqual(nodeShape(e.object), nodeShape(e.old))
        ? []
        : [...deps.daemonJobs.list().map(objectKey), ...cordonerKey(e.object)],
    );
  mgr.add(controller);
  return controller;
}

// The DaemonJob that cordoned a node, though it may be gone: one deleted while no operator ran is
// reconciled from its node's mark at startup, so the nodes it held are let go all the same.
function cordonerKey(node: KubeObject): string[] {
  const owner = cordonedBy(node);
  const dot = owner?.indexOf('.') ?? -1;
  return owner && dot > 0 ? [`${owner.slice(0, dot)}/${owner.slice(dot + 1)}`] : [];
}

async function reconcile(deps: Deps, ctx: ReconcileContext, key: string): Promise<ReconcileResult> {
  const [namespace, name] = key.split('/') as [string, string];
  const client = deps.mgr.client;
  const dj = deps.daemonJobs.get(namespace, name);
  // Of this DaemonJob and of any earlier one of the same name, deleted before we saw it go.
  const pods = ownedBy(deps.pods.listNamespace(namespace), 'DaemonJob', name);
  const legacyJobs = ownedBy(deps.legacyJobs.listNamespace(namespace), 'DaemonJob', name);
  if (!dj || dj.metadata.deletionTimestamp) {
    const stale = await letNodesGo(deps, ctx, cordonOwner(namespace, name));
    await release(deps, Resources.jobs, legacyJobs, () => true);
    await release(deps, Resources.pods, pods, () => true);
    return stale ? { requeueAfterMs: STALE_NODE_RETRY_MS } : undefined;
  }
  const staleMs = deps.statusWrites.waitMs(dj, Date.now());
  if (staleMs > 0) return { requeueAfterMs: staleMs };
  const nodes = deps.nodes.list();
  const owner = cordonOwner(namespace, name);
  // Nodes with a pod of the current run: their drain is over.
  const runPods = pods.filter((p) => p.metadata.labels?.[TEMPLATE_HASH_LABEL] === dj.status?.templateHash);
  const podNodes = new Set(runPods.map((p) => p.metadata.annotations?.[NODE_ANNOTATION] as string));
  const drainNodes = drainTargets(dj.spec, owner, nodes, dj.status, podNodes);
  const nodePods = drainNodes.length ? await podsOnNodes(client, drainNodes) : undefined;
  const snapshot = { daemonJob: dj, nodes, pods, legacyJobs, nodePods, now: new Date() };
  let plan = planWithSchedule(snapshot);
  // The current run's hash: the template's, and with a schedule its scheduled time's too.
  const hash = plan.status.templateHash as string;
  const nodeNamed = (node: string) => deps.nodes.get(undefined, node);
  // Cordons before the pods they protect are created; the status records the drain afterwards.
  // A cordon that met a newer node stops the pass: no eviction or pod on a node still schedulable.
  let staleNodes = false;
  const patched = (result: PatchResult) => {
    if (result === 'stale') staleNodes = true;
  };
  await inParallel(plan.cordon, 16, async (node) => {
    const n = nodeNamed(node);
    if (n) patched(await cordonNode(client, n, owner));
  });
  if (staleNodes) return { requeueAfterMs: STALE_NODE_RETRY_MS };
  let blocked = false;
  await inParallel(plan.evict, 16, async (e) => {
    const outcome = await evictPod(client, e.namespace, e.name);
    deps.evictions.inc({ result: outcome.result });
    if (outcome.result !== 'blocked') return;
    blocked = true;
    await deps.mgr.events.record(
      dj,
      'Normal',
      'EvictionBlocked',
      `Eviction of ${e.namespace}/${e.name} from node ${e.node} refused for now: ${outcome.message}`,
    );
  });
  let rejected: string | undefined;
  const { toCreate, awaitMs } = notCreatedYet(deps, namespace, plan.start);
  await inParallel(toCreate, 16, async (start) => {
    if (rejected) return;
    const key = `${namespace}/${start.name}`;
    deps.created.wrote(key, Date.now()); // before the create: its watch event may come before the reply
    try {
      // A name per node, run and try: after a crash, the same create is AlreadyExists.
      const { created } = await client.createIfAbsent(Resources.pods, nodePod(dj, start, hash));
      if (created) deps.started.inc({ result: 'started' });
    } catch (e) {
      deps.created.settled(key);
      const why = templateRejection(e);
      if (why === undefined) throw e;
      rejected = `Kubernetes rejected the per-node pod: ${why}`;
    }
  });
  if (rejected) {
    // Retrying cannot help: the status remembers it for this generation, until the spec changes.
    ctx.log.warn({ err: rejected }, 'per-node pod rejected; waiting for a spec change');
    plan = planWithSchedule({ ...snapshot, rejected });
  }
  if (await updateStatusIfChanged(client, DAEMONJOBS, dj, plan.status))
    deps.statusWrites.wrote(dj, Date.now());
  await Promise.all(plan.events.map((e) => deps.mgr.events.record(dj, e.type, e.reason, e.note)));
  if (dj.spec.schedule)
    for (const e of plan.events) {
      const result = SCHEDULE_RESULTS[e.reason];
      if (result) deps.scheduled.inc({ result });
    }
  if (plan.labelNodes.length) {
    const labels = { [nodeResultLabel(namespace, name)]: hash };
    await inParallel(plan.labelNodes, 16, async (node) => {
      await client.mergePatch(Resources.nodes, undefined, node, { metadata: { labels } }).catch((e) => {
        if (!(e instanceof ApiError && e.code === 404)) throw e; // the node went meanwhile
      });
    });
  }
  // After the status write: a node is uncordoned or marked only once its result is recorded.
  await inParallel(plan.markLeft, 16, async ({ node, reason }) => {
    const n = nodeNamed(node);
    if (n) patched(await markLeftCordoned(client, n, reason));
  });
  await inParallel(plan.uncordon, 16, async (node) => {
    const n = nodeNamed(node);
    if (n) patched(await uncordonNode(client, n));
  });
  // After the status write, like the releases: the plan deletes only pods whose result the status holds.
  // By uid: the pod the plan saw, not a newer one of the same name (a recreated DaemonJob's).
  const uids = new Map(pods.map((p) => [p.metadata.name, p.metadata.uid as string]));
  await inParallel(plan.remove, 16, async (pod) => {
    try {
      await client.delete(Resources.pods, namespace, pod, 'Background', { uid: uids.get(pod) });
    } catch (e) {
      if (!isConflict(e)) throw e; // a newer pod of that name: the next reconcile plans for it
    }
  });
  const releasableJobs = new Set(plan.releaseJobs);
  await release(deps, Resources.jobs, legacyJobs, (j) => releasableJobs.has(j.metadata.name as string));
  const releasable = new Set(plan.release);
  await release(deps, Resources.pods, pods, (p) => releasable.has(p.metadata.name as string));
  // A PodDisruptionBudget refused an eviction: try again after a while, as kubectl drain does.
  // Should a pod awaited from an earlier pass never show up, its node is planned again then.
  const planned = blocked ? Math.max(plan.requeueAfterMs ?? 0, EVICTION_RETRY_MS) : plan.requeueAfterMs;
  const requeueAfterMs = Math.min(
    planned ?? Infinity,
    awaitMs ?? Infinity,
    staleNodes ? STALE_NODE_RETRY_MS : Infinity,
  );
  return requeueAfterMs === Infinity ? undefined : { requeueAfterMs };
}

const EVICTION_RETRY_MS = 5_000;
/** A node patch met a newer node: by then the cache shows it, and the plan decides again. */
const STALE_NODE_RETRY_MS = 1_000;

/**
 * The DaemonJob is gone: uncordon the nodes it cordoned, except those left cordoned after a
 * failure, which keep their annotations (kubectl uncordon, once looked after) and are logged.
 * True when an uncordon met a newer node: the caller tries again.
 */
async function letNodesGo(deps: Deps, ctx: ReconcileContext, owner: string): Promise<boolean> {
  const ours = deps.nodes.list().filter((n) => cordonedBy(n) === owner);
  const kept = ours.filter((n) => leftCordoned(n) !== undefined && n.spec?.unschedulable);
  if (kept.length)
    ctx.log.warn(
      { nodes: kept.map((n) => n.metadata.name) },
      'DaemonJob deleted; its failed nodes stay cordoned',
    );
  let stale = false;
  await inParallel(
    ours.filter((n) => !kept.includes(n)),
    16,
    async (n) => {
      if ((await uncordonNode(deps.mgr.client, n)) === 'stale') stale = true;
    },
  );
  return stale;
}

/**
 * The planned pods minus those an earlier pass created and the cache does not show yet, and those
 * the cache shows by now (their watch event came after this pass's snapshot): creating them again
 * would only be answered AlreadyExists. `awaitMs`: when the first of those stops being awaited.
 */
function notCreatedYet(deps: Deps, namespace: string, start: PodToStart[]) {
  const now = Date.now();
  let awaitMs: number | undefined;
  const toCreate = start.filter((p) => {
    if (deps.pods.get(namespace, p.name)) return false;
    const left = deps.created.waitMs(`${namespace}/${p.name}`, now);
    if (left > 0) awaitMs = Math.min(awaitMs ?? left, left);
    return left === 0;
  });
  return { toCreate, awaitMs };
}

/** Releases the result finalizer of each object `releasable` accepts, 16 at a time. */
async function release(
  deps: Deps,
  ref: ResourceRef,
  objects: KubeObject[],
  releasable: (o: KubeObject) => boolean,
): Promise<void> {
  const held = objects.filter((o) => o.metadata.finalizers?.includes(NODE_RESULT_FINALIZER) && releasable(o));
  await inParallel(held, 16, async (o) => {
    await releaseFinalizer(deps.mgr.client, ref, NODE_RESULT_FINALIZER, [o], () => true, deps.released);
  });
}
