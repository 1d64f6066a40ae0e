// The preview controller. Its key is a PreviewRepository: one pass reads the repository, its
// previews and their Jobs and Deployments (snapshot), lets planCapacity hand out deploy,
// initialization and run slots and planPreview decide each live preview's step (planPass, pure),
// then acts. Previews being deleted hold no capacity: their undeploys run under keys of their own
// (undeploy-controller.ts).
// Keys are never processed twice at once, so capacity decisions of a repository are serialized.
// A pass plans only the previews whose inputs changed since a plan with nothing to do (settled.ts):
// capacity is decided over all of them, the rest of the pass is proportional to what moved.
import { Counter, Histogram } from 'prom-client';
import { Controller, type ReconcileContext, type ReconcileResult, toSelf } from '../../runtime/controller.ts';
import { type KubeObject, Resources } from '../../runtime/kube-client.ts';
import type { Informer, Manager } from '../../runtime/manager.ts';
import { OwnWrites } from '../../runtime/own-writes.ts';
import { inParallel } from '../../runtime/parallel.ts';
import { RestMapper } from '../../runtime/rest-mapper.ts';
import { sameJson } from '../../runtime/status.ts';
import { objectKey } from '../../runtime/watch-cache.ts';
import { type ActDeps, actOnPreview } from './act.ts';
import { nextBatch, type Planned } from './batch.ts';
import type { Grants } from './capacity.ts';
import { ownerPreview, previewDeployment } from './children.ts';
import { PREVIEW_LABEL } from './labels.ts';
import {
  type Caps,
  DEFAULT_CAPS,
  isDeleting,
  PREVIEW_REPOSITORIES,
  PREVIEW_TEMPLATES,
  PREVIEWS,
  type PreviewObject,
  type RepositoryObject,
  type TemplateObject,
} from './model.ts';
import { planPass } from './pass.ts';
import { SettledPreviews } from './settled.ts';
import { setupUndeployController } from './undeploy-controller.ts';

interface Deps extends ActDeps {
  mgr: Manager;
  previews: Informer<PreviewObject>;
  repositories: Informer<RepositoryObject>;
  templates: Informer<TemplateObject>;
  jobs: Informer;
  deployments: Informer;
  caps: Caps;
  expectations: OwnWrites;
  settled: SettledPreviews;
  /** Uids of the previews a pass is acting on: their undeploys wait until it is done. */
  acting: Set<string>;
  planSeconds: Histogram;
  /** By repository uid: the counts this process last wrote. */
  lastCounts: Map<string, string>;
}

export interface PreviewControllerOptions {
  workers: number;
  /** Operator-wide caps for repositories that set none. */
  caps?: Partial<Caps>;
  /** The DeploymentHook's opt-in label: its Deployment cache is then not every Deployment. */
  hookOptInLabel?: string;
}

/** The same object but for its status (and so its resourceVersion and managed fields). */
export function statusOnly(old: KubeObject, now: KubeObject): boolean {
  const meta = ({ resourceVersion: _, managedFields: __, ...rest }: KubeObject['metadata']) => rest;
  return sameJson(meta(old.metadata), meta(now.metadata)) && sameJson(old.spec, now.spec);
}

const repositoryKey = (p: PreviewObject) => `${p.metadata.namespace}/${p.spec.repository}`;

export function setupPreviewController(mgr: Manager, opts: PreviewControllerOptions): Controller {
  const deps: Deps = {
    mgr,
    mapper: new RestMapper(mgr.client),
    previews: mgr.informer<PreviewObject>(PREVIEWS),
    repositories: mgr.informer<RepositoryObject>(PREVIEW_REPOSITORIES),
    templates: mgr.informer<TemplateObject>(PREVIEW_TEMPLATES),
    jobs: mgr.informer(Resources.jobs, { labelSelector: PREVIEW_LABEL }),
    // Every Deployment, as the DeploymentHook controller caches them: one shared cache instead
    // of a second copy of the previews' Deployments (lookups check the preview label). When hooks
    // see only opted-in workloads, the previews' own Deployments are a cache of their own.
    deployments: mgr.informer(
      Resources.deployments,
      opts.hookOptInLabel ? { labelSelector: PREVIEW_LABEL } : {},
    ),
    caps: { ...DEFAULT_CAPS, ...opts.caps },
    expectations: new OwnWrites(),
    settled: new SettledPreviews(),
    acting: new Set(),
    lastCounts: new Map(),
    planSeconds: new Histogram({
      name: 'bosun_preview_pass_plan_seconds',
      help: 'CPU time of a pass over a repository before it acts: snapshot, capacity and plans',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [mgr.metrics.registry],
    }),
    transitions: new Counter({
      name: 'bosun_preview_transitions_total',
      help: 'Preview lifecycle Events recorded, by reason',
      labelNames: ['reason'],
      registers: [mgr.metrics.registry],
    }),
  };
  const controller = new Controller({
    name: 'preview',
    workers: opts.workers,
    metrics: mgr.metrics,
    log: mgr.log,
    reconcile: (ctx, key) => reconcile(deps, ctx, key),
  });
  const ownerRepository = (o: KubeObject) => {
    const preview = ownerPreview(deps.previews, o);
    return preview ? [repositoryKey(preview)] : [];
  };
  deps.previews.onEvent((e) => {
    if (e.type === 'deleted') deps.settled.forget(e.object.metadata.uid ?? objectKey(e.object));
  });
  deps.repositories.onEvent((e) => {
    if (e.type === 'deleted') deps.lastCounts.delete(e.object.metadata.uid as string);
  });
  controller
    .watch(deps.previews, (e) => [
      ...new Set([repositoryKey(e.object), ...(e.type === 'updated' ? [repositoryKey(e.old)] : [])]),
    ])
    // Not the counts a pass writes: its own status is no input of a pass.
    .watch(deps.repositories, (e) => (e.type === 'updated' && statusOnly(e.old, e.object) ? [] : toSelf(e)))
    .watch(deps.templates, (e) =>
      deps.repositories.listNamespace(e.object.metadata.namespace as string).map(objectKey),
    )
    .watch(deps.jobs, (e) => ownerRepository(e.object))
    .watch(deps.deployments, (e) => ownerRepository(e.object));
  mgr.add(controller);
  // Undeploys mostly wait on the API server and the garbage collector, and concurrent ones share
  // their purge rounds (purge.ts): a worker costs a pending promise, and a burst's undeploys should
  // all join the same round rather than queue for a worker.
  setupUndeployController(mgr, deps, opts.workers * 32);
  return controller;
}

async function reconcile(deps: Deps, ctx: ReconcileContext, key: string): Promise<ReconcileResult> {
  const [namespace, name] = key.split('/') as [string, string];
  const now = new Date();
  const started = performance.now();
  const repository = deps.repositories.get(namespace, name);
  const previews = deps.previews.listNamespace(namespace).filter((p) => p.spec.repository === name);
  const stale = previews.find((p) => !isDeleting(p) && deps.expectations.waitMs(p, now.getTime()) > 0);
  if (stale) {
    ctx.log.debug(
      { preview: stale.metadata.name },
      'cache behind our last write; planning again once it catches up',
    );
    return { requeueAfterMs: 250 };
  }
  const caps: Caps = { ...deps.caps, ...stripUndefined(repository?.spec.capacity ?? {}) };
  const deployment = (p: PreviewObject) => previewDeployment(deps.deployments, p);
  const { grants, plans } = planPass(
    {
      namespace,
      repository,
      previews,
      caps,
      deployment,
      job: (jobName) => deps.jobs.get(namespace, jobName),
      template: (t) => deps.templates.get(namespace, t),
      now,
    },
    deps.settled,
  );
  const { batch, more } = nextBatch(plans);
  deps.planSeconds.observe((performance.now() - started) / 1000);
  // Marked in the same tick as the snapshot: a preview deleted after it is purged only once this
  // pass no longer creates anything for it.
  const uid = (p: PreviewObject) => p.metadata.uid as string;
  for (const b of batch) deps.acting.add(uid(b.preview));
  const failures: unknown[] = [];
  /** By preview name: whether its undeploy's delete went through. */
  const undeploys: Undeploys = new Map(
    batch
      .filter((b) => b.plan.undeploy)
      .map((b) => [b.preview.metadata.name as string, Promise.withResolvers()]),
  );
  await Promise.all([
    // As many acts at once as the client has connections: a pass holds the repository's next
    // decisions (an initialization slot freed) until its last act is done. Undeploys come first
    // in the batch, so an admission that waits for one finds it started.
    inParallel(batch, 64, async ({ preview, plan, after, orElse }) => {
      // One preview's failure must not hold back the others; the pass is retried afterwards.
      const act = whenFree(after, undeploys)
        .then((free) => actOnPreview(deps, ctx, preview, free ? plan : (orElse ?? plan)))
        .finally(() => deps.acting.delete(uid(preview)));
      if (plan.undeploy)
        void act.then(Boolean, () => false).then(undeploys.get(preview.metadata.name as string)?.resolve);
      await act.catch((e) => void failures.push(e));
    }),
    // Beside the acts, not after them: the counts are what this pass decides to record.
    repository && writeCounts(deps, repository, grants, batch, undeploys).catch((e) => void failures.push(e)),
  ]);
  if (failures.length) throw failures[0];
  return more ? { requeueAfterMs: 0 } : undefined;
}

/** By preview name, the undeploys of a pass: whether the delete went through. */
type Undeploys = Map<string, PromiseWithResolvers<boolean>>;

/** Whether the slot an admission was granted is free: the undeploy it waits for went through. */
const whenFree = (after: string | undefined, undeploys: Undeploys) =>
  after === undefined ? Promise.resolve(true) : (undeploys.get(after)?.promise ?? Promise.resolve(false));

/**
 * The repository's counts, as this pass records them (a grant it does not use, because a build
 * comes first, the preview is in a later batch or the undeploy it waited for failed, counts not).
 * A merge patch without a resourceVersion: passes of a repository are serialized, so the last
 * one's counts are the true ones, and a cache that does not show the previous pass's write yet
 * causes no conflict. What was last written is remembered, so that a cache behind it never makes
 * a changed count look unchanged.
 */
async function writeCounts(
  deps: Deps,
  repository: RepositoryObject,
  grants: Grants,
  batch: Planned[],
  undeploys: Undeploys,
) {
  // The plans acted on: an admission whose undeploy did not go through acted on its fallback.
  const free = await Promise.all(batch.map((b) => whenFree(b.after, undeploys)));
  const acted = batch.map((b, i) => ({ preview: b.preview, plan: free[i] ? b.plan : (b.orElse ?? b.plan) }));
  const admitted = acted.filter((b) => b.plan.status.admittedAt && !b.preview.status?.admittedAt).length;
  const undeployed = (await Promise.all([...undeploys.values()].map((u) => u.promise))).filter(
    Boolean,
  ).length;
  const started = acted.filter(
    (b) => b.plan.status.initStatus === 'initializing' && b.preview.status?.initStatus !== 'initializing',
  ).length;
  const status = {
    observedGeneration: repository.metadata.generation,
    deployed: grants.counts.deployed + admitted - undeployed,
    running: grants.counts.running,
    initializing: grants.counts.initializing + started,
    pending: grants.counts.pending + grants.admit.size - admitted,
  };
  const uid = repository.metadata.uid as string;
  const now = JSON.stringify(status);
  const cached: Record<string, unknown> = repository.status ?? {};
  const last = deps.lastCounts.get(uid);
  if (last === undefined ? Object.entries(status).every(([k, v]) => cached[k] === v) : last === now) return;
  await deps.mgr.client.mergePatch(
    PREVIEW_REPOSITORIES,
    repository.metadata.namespace,
    repository.metadata.name as string,
    { status },
    'status',
  );
  deps.lastCounts.set(uid, now);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
