// The DaemonJob controller: snapshot (the DaemonJob, the nodes, its Jobs) → planDaemonJob → delete
// and start per-node Jobs, write the status, record Events, release the Jobs the plan lets go.
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
import { ApiError, type KubeObject, Resources } from '../../runtime/kube-client.ts';
import type { Informer, Manager } from '../../runtime/manager.ts';
import { ownedBy, releaseFinalizer } from '../../runtime/ownership.ts';
import { inParallel } from '../../runtime/parallel.ts';
import { updateStatusIfChanged } from '../../runtime/status.ts';
import { objectKey, trimNodeStatus } from '../../runtime/watch-cache.ts';
import { isReady } from './eligibility.ts';
import { nodeJob } from './job-manifest.ts';
import { DAEMONJOB_LABEL, NODE_RESULT_FINALIZER } from './labels.ts';
import { type DaemonJobObject, planDaemonJob, templateHash } from './plan.ts';

export const DAEMONJOBS = resourceOf(DaemonJobKind);

interface Deps {
  mgr: Manager;
  daemonJobs: Informer<DaemonJobObject>;
  nodes: Informer;
  jobs: Informer;
  started: Counter;
}

/** What of a node matters for eligibility; heartbeats change none of it. */
const nodeShape = (n: KubeObject) => [
  n.metadata.labels,
  n.spec?.taints,
  isReady(n),
  !!n.metadata.deletionTimestamp,
];

export function setupDaemonJobController(mgr: Manager, opts: { workers: number }): Controller {
  const deps: Deps = {
    mgr,
    daemonJobs: mgr.informer<DaemonJobObject>(DAEMONJOBS),
    nodes: mgr.informer(Resources.nodes, { transform: trimNodeStatus }),
    jobs: mgr.informer(Resources.jobs, { labelSelector: DAEMONJOB_LABEL }),
    started: new Counter({
      name: 'bosun_daemonjob_node_jobs_total',
      help: 'Per-node Jobs started, and their results',
      labelNames: ['result'],
      registers: [mgr.metrics.registry],
    }),
  };
  const controller = new Controller({
    name: 'daemonjob',
    workers: opts.workers,
    metrics: mgr.metrics,
    log: mgr.log,
    reconcile: (ctx, key) => reconcile(deps, ctx, key),
  });
  controller
    .watch(deps.daemonJobs, toSelf)
    .watch(deps.jobs, toOwner('DaemonJob'))
    .watch(deps.nodes, (e) =>
      e.type === 'updated' && isDeepStrictEqual(nodeShape(e.object), nodeShape(e.old))
        ? []
        : deps.daemonJobs.list().map(objectKey),
    );
  mgr.add(controller);
  return controller;
}

async function reconcile(deps: Deps, ctx: ReconcileContext, key: string): Promise<ReconcileResult> {
  const [namespace, name] = key.split('/') as [string, string];
  const client = deps.mgr.client;
  const dj = deps.daemonJobs.get(namespace, name);
  // Of this DaemonJob and of any earlier one of the same name, deleted before we saw it go.
  const jobs = ownedBy(deps.jobs.listNamespace(namespace), 'DaemonJob', name);
  if (!dj || dj.metadata.deletionTimestamp) {
    await releaseFinalizer(client, Resources.jobs, NODE_RESULT_FINALIZER, jobs, () => true);
    return undefined;
  }
  const snapshot = { daemonJob: dj, nodes: deps.nodes.list(), jobs, now: new Date() };
  let plan = planDaemonJob(snapshot);
  for (const job of plan.remove) await client.delete(Resources.jobs, namespace, job, 'Background');
  const hash = templateHash(dj.spec.template);
  let rejected: string | undefined;
  await inParallel(plan.start, 16, async ({ node, name: jobName }) => {
    if (rejected) return;
    try {
      const { created } = await client.createIfAbsent(Resources.jobs, nodeJob(dj, node, jobName, hash));
      if (created) deps.started.inc({ result: 'started' });
    } catch (e) {
      if (!(e instanceof ApiError && (e.code === 422 || e.code === 400))) throw e;
      rejected = `Kubernetes rejected the per-node Job: ${e.message}`;
    }
  });
  if (rejected) {
    // Retrying cannot help: the status remembers it for this generation, until the spec changes.
    ctx.log.warn({ err: rejected }, 'per-node Job rejected; waiting for a spec change');
    plan = planDaemonJob({ ...snapshot, rejected });
  }
  await updateStatusIfChanged(client, DAEMONJOBS, dj, plan.status);
  await Promise.all(plan.events.map((e) => deps.mgr.events.record(dj, e.type, e.reason, e.note)));
  const releasable = new Set(plan.release);
  await releaseFinalizer(client, Resources.jobs, NODE_RESULT_FINALIZER, jobs, (j) =>
    releasable.has(j.metadata.name as string),
  );
  return plan.requeueAfterMs === undefined ? undefined : { requeueAfterMs: plan.requeueAfterMs };
}
