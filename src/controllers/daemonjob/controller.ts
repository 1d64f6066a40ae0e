// The DaemonJob controller: snapshot (the DaemonJob, the nodes, its Jobs) → planDaemonJob → start
// or delete per-node Jobs, write the status, record Events, release finished Jobs.
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
import { objectKey } from '../../runtime/watch-cache.ts';
import { jobOutcome } from '../job-outcome.ts';
import { isReady } from './eligibility.ts';
import { nodeJob } from './job-manifest.ts';
import { DAEMONJOB_LABEL, NODE_RESULT_FINALIZER } from './labels.ts';
import { type DaemonJobObject, jobNode, planDaemonJob, templateHash } from './plan.ts';

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
    nodes: mgr.informer(Resources.nodes),
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
  const dj = deps.daemonJobs.get(namespace, name);
  const jobs = ownedBy(deps.jobs.listNamespace(namespace), 'DaemonJob', name, dj);
  if (!dj || dj.metadata.deletionTimestamp) {
    await releaseFinalizer(deps.mgr.client, Resources.jobs, NODE_RESULT_FINALIZER, jobs, () => true);
    return undefined;
  }
  const plan = planDaemonJob({ daemonJob: dj, nodes: deps.nodes.list(), jobs, now: new Date() });
  const client = deps.mgr.client;
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
      rejected = e.message;
    }
  });
  if (rejected) {
    // Retrying cannot help: report it and wait for a template change.
    await deps.mgr.events.record(
      dj,
      'Warning',
      'InvalidTemplate',
      `Kubernetes rejected the per-node Job: ${rejected}`,
    );
    ctx.log.warn({ err: rejected }, 'per-node Job rejected; waiting for a template change');
    return undefined;
  }
  await updateStatusIfChanged(client, DAEMONJOBS, dj, plan.status);
  await Promise.all(plan.events.map((e) => deps.mgr.events.record(dj, e.type, e.reason, e.note)));
  // A finished Job may go once its result is in the status; Jobs of older templates once finished.
  const recorded = plan.status.nodeResults ?? {};
  await releaseFinalizer(deps.mgr.client, Resources.jobs, NODE_RESULT_FINALIZER, jobs, (j) => {
    const finished = jobOutcome(j).phase !== 'Running' || !!j.metadata.deletionTimestamp;
    return (
      finished &&
      (j.metadata.labels?.['bosun.dev/template-hash'] !== hash ||
        !!recorded[jobNode(j)] ||
        !!j.metadata.deletionTimestamp)
    );
  });
  return undefined;
}
