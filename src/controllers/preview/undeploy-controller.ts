// Undeploys, one preview per key: the cleanup Job, then the purge of everything labelled with the
// preview, then the finalizer. A preview being deleted holds no capacity (the repository's pass
// counts it as gone from the moment it is deleted), so its undeploy needs no repository-wide
// decision: under its own key it never holds back the repository's pass, where a burst's
// admissions and initializations wait, and many undeploys run side by side.
import { Histogram } from 'prom-client';
import { Controller, type ReconcileContext, type ReconcileResult } from '../../runtime/controller.ts';
import { type KubeClient, type KubeObject, Resources } from '../../runtime/kube-client.ts';
import type { Informer, Manager } from '../../runtime/manager.ts';
import { OwnWrites } from '../../runtime/own-writes.ts';
import { objectKey } from '../../runtime/watch-cache.ts';
import { type ActDeps, actOnPreview } from './act.ts';
import { ownerPreview, previewDeployment } from './children.ts';
import { CLEANUP_FINALIZER } from './labels.ts';
import { type PreviewPlan, planPreview } from './lifecycle.ts';
import { isDeleting, type PreviewObject, type RepositoryObject, type TemplateObject } from './model.ts';
import { Purger } from './purge.ts';
import { isEmptyPlan } from './settled.ts';

export interface UndeployDeps extends Omit<ActDeps, 'expectations'> {
  templates: Informer<TemplateObject>;
  previews: Informer<PreviewObject>;
  repositories: Informer<RepositoryObject>;
  jobs: Informer;
  deployments: Informer;
  /** Uids of the previews the repository's pass is acting on. */
  acting: ReadonlySet<string>;
}

/** How often a purge looks again for what the garbage collector has still to delete. */
const PURGE_POLL_MS = 1000;
const ACTING_POLL_MS = 100;
const NO_GRANTS = { admit: false, initialize: false, run: false, stop: false, undeploy: false };

const undeploying = (p: PreviewObject | undefined): p is PreviewObject =>
  !!p && isDeleting(p) && !!p.metadata.finalizers?.includes(CLEANUP_FINALIZER);

export function setupUndeployController(mgr: Manager, deps: UndeployDeps, workers: number): Controller {
  const batchSize = new Histogram({
    name: 'bosun_preview_purge_batch_previews',
    help: 'Previews purged together by one batch of label-selector deletes (one per kind)',
    buckets: [1, 2, 5, 10],
    registers: [mgr.metrics.registry],
  });
  const purger = new Purger({ ...deps, client: mgr.client, batchSize });
  const own = { ...deps, expectations: new OwnWrites(), purger };
  const controller = new Controller({
    name: 'preview-undeploy',
    workers,
    metrics: mgr.metrics,
    log: mgr.log,
    reconcile: (ctx, key) => reconcile(own, ctx, key),
  });
  deps.previews.onEvent((e) => {
    if (e.type === 'deleted') own.purger.forget(e.object.metadata.uid as string);
  });
  const owner = (o: KubeObject) => {
    const preview = ownerPreview(deps.previews, o);
    return undeploying(preview) ? [objectKey(preview)] : [];
  };
  controller
    .watch(deps.previews, (e) => (e.type !== 'deleted' && undeploying(e.object) ? [objectKey(e.object)] : []))
    .watch(deps.jobs, (e) => owner(e.object))
    .watch(deps.deployments, (e) => owner(e.object))
    // A cleanup waiting for its template (CleanupFailed) runs once the template is back.
    .watch(deps.templates, (e) =>
      deps.previews
        .listNamespace(e.object.metadata.namespace as string)
        .filter((p) => undeploying(p) && p.status?.template === e.object.metadata.name)
        .map(objectKey),
    );
  mgr.add(controller);
  return controller;
}

async function reconcile(
  deps: UndeployDeps & { expectations: OwnWrites; purger: Purger },
  ctx: ReconcileContext,
  key: string,
): Promise<ReconcileResult> {
  const [namespace, name] = key.split('/') as [string, string];
  const preview = deps.previews.get(namespace, name);
  if (!undeploying(preview)) return undefined;
  // A pass that planned the preview before its deletion may still be creating its children.
  if (deps.acting.has(preview.metadata.uid as string)) return { requeueAfterMs: ACTING_POLL_MS };
  const now = new Date();
  // The watch event of our last write queues the key again; the delay is only a fallback.
  const wait = deps.expectations.waitMs(preview, now.getTime());
  if (wait > 0) return { requeueAfterMs: wait };
  const snapshot = {
    preview,
    repository: deps.repositories.get(namespace, preview.spec.repository),
    template: (t: string) => deps.templates.get(namespace, t),
    job: (j: string) => deps.jobs.get(namespace, j),
    deployment: previewDeployment(deps.deployments, preview),
    grants: NO_GRANTS,
    now,
  };
  let plan = planPreview(snapshot);
  // A cleanup that cannot go on (its template gone, its Job refused) may be one in a namespace
  // being deleted, which takes both: asked only then, so an undeploy costs no extra read.
  if (readyReason(plan) === 'CleanupFailed' && (await namespaceDeleting(deps.mgr.client, ctx, namespace)))
    plan = planPreview({ ...snapshot, namespaceDeleting: true });
  if (isEmptyPlan(preview, plan)) return undefined;
  const latest = await actOnPreview(deps, ctx, preview, plan);
  // The finalizer patch carries the resourceVersion of the status just written: the purge starts
  // in the reconcile that records the undeploy.
  if (plan.purge) {
    if (!(await deps.purger.purge(latest))) return { requeueAfterMs: PURGE_POLL_MS };
    // Released: the cached copy, still holding the finalizer until the deletion reaches the
    // cache, must not start another purge.
    deps.expectations.wrote(latest, Date.now());
  }
  return undefined;
}

const readyReason = (plan: PreviewPlan) => plan.status.conditions?.find((c) => c.type === 'Ready')?.reason;

async function namespaceDeleting(client: KubeClient, ctx: ReconcileContext, namespace: string) {
  try {
    const ns = await client.get(Resources.namespaces, undefined, namespace);
    return !!ns.metadata.deletionTimestamp;
  } catch (e) {
    // Roles from before namespaces could be read: the cleanup stays blocked, as it was.
    ctx.log.debug({ err: (e as Error).message, namespace }, 'cannot read the namespace');
    return false;
  }
}
