// The DeploymentHook controller: reads a snapshot from the caches, plans with `planHook`, then
// creates or stops Jobs, writes the status and records Events — in that order, so that a crash at
// any point leaves the API server with enough to continue (deterministic Job names, finalizers).
import { Counter, Histogram } from 'prom-client';
import { resourceOf } from '../../api/crd.ts';
import { DeploymentHookKind } from '../../api/deploymenthook.ts';
import {
  Controller,
  type ReconcileContext,
  type ReconcileResult,
  toOwner,
  toSelf,
} from '../../runtime/controller.ts';
import { ApiError, type KubeObject, Resources } from '../../runtime/kube-client.ts';
import type { Informer, Manager } from '../../runtime/manager.ts';
import { OwnWrites } from '../../runtime/own-writes.ts';
import { forgetDeletedReleases, ownedBy, releaseFinalizer } from '../../runtime/ownership.ts';
import { inParallel } from '../../runtime/parallel.ts';
import { updateStatusIfChanged } from '../../runtime/status.ts';
import { UnseenWrites } from '../../runtime/unseen-writes.ts';
import { objectKey } from '../../runtime/watch-cache.ts';
import { type DeploymentLookup, deploymentLookup } from './deployment-lookup.ts';
import { GATE } from './gate.ts';
import { escapedReplicaSets, gateEvents, hooksOfGatedPod, podsGatedBy, settleGates } from './gate-act.ts';
import type { PodTemplateSpec } from './inherit.ts';
import { hookJob } from './job-manifest.ts';
import { HOOK_LABEL, RESULT_FINALIZER } from './labels.ts';
import { unlabelledWorkloads } from './opt-in.ts';
import { type HookObject, type Plan, planHook, type Snapshot, templateVersion } from './plan.ts';
import { selects, WORKLOAD_KINDS, WORKLOAD_RESOURCES, type WorkloadKind } from './workloads.ts';

export const HOOKS = resourceOf(DeploymentHookKind);

interface Deps {
  mgr: Manager;
  hooks: Informer<HookObject>;
  /** The workload caches, by kind; with an opt-in label, only workloads that carry it. */
  workloads: Record<WorkloadKind, Informer>;
  optInLabel?: string;
  jobs: Informer;
  templates: Informer;
  /** Pods a BeforeRollout hook holds (only those: the gate's label selects them). */
  gatedPods: Informer;
  /** Their Deployments, read through the cache. */
  deployment: DeploymentLookup;
  /** Current ReplicaSets already read for a revision that may have escaped the gate. */
  escaped: Map<string, KubeObject | undefined>;
  runs: Counter;
  delay: Histogram;
  /**
   * Rejections this process saw, by hook uid: a reconcile that reads the hook before the cache
   * shows the recorded rejection must not send the Job again. Not the record (the status is).
   */
  rejections: Map<string, { version: string; message: string }>;
  /** With an opt-in label: the hook generations already checked for workloads it cannot see. */
  optInChecked: Map<string, number>;
  statusWrites: OwnWrites;
  /** Jobs whose result finalizer this process released, by uid. */
  released: UnseenWrites;
}

export interface DeploymentHookOptions {
  workers: number;
  /**
   * Cache only workloads with this label (any value): memory bounded by the workloads that opt
   * in, at the price of hooks never seeing a workload without it.
   */
  hookOptInLabel?: string;
}

/** The cache of one workload kind that hooks select from (and the admission webhook reads). */
export const workloadInformer = (mgr: Manager, kind: WorkloadKind, optInLabel?: string) =>
  mgr.informer(WORKLOAD_RESOURCES[kind], optInLabel ? { labelSelector: optInLabel } : {});

export function setupDeploymentHookController(mgr: Manager, opts: DeploymentHookOptions): Controller {
  const workloadCache = (kind: WorkloadKind) => workloadInformer(mgr, kind, opts.hookOptInLabel);
  const deps: Deps = {
    mgr,
    hooks: mgr.informer<HookObject>(HOOKS),
    workloads: {
      Deployment: workloadCache('Deployment'),
      StatefulSet: workloadCache('StatefulSet'),
      DaemonSet: workloadCache('DaemonSet'),
    },
    ...(opts.hookOptInLabel ? { optInLabel: opts.hookOptInLabel } : {}),
    jobs: mgr.informer(Resources.jobs, { labelSelector: HOOK_LABEL }),
    templates: mgr.informer(Resources.podTemplates),
    gatedPods: mgr.informer(Resources.pods, { labelSelector: GATE }),
    deployment: deploymentLookup(workloadCache('Deployment'), mgr.client, opts.hookOptInLabel),
    escaped: new Map(),
    rejections: new Map(),
    optInChecked: new Map(),
    statusWrites: new OwnWrites(),
    released: new UnseenWrites(),
    runs: new Counter({
      name: 'bosun_hook_runs_total',
      help: 'Hook Jobs started and finished, by result (started, succeeded, failed)',
      labelNames: ['result'],
      registers: [mgr.metrics.registry],
    }),
    delay: new Histogram({
      name: 'bosun_hook_trigger_delay_seconds',
      help: 'Delay from a rollout completing (its Deployment status update) to the creation of its hook Job',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [mgr.metrics.registry],
    }),
  };
  forgetDeletedReleases(deps.jobs, deps.released);
  const hooksSelecting = (d: KubeObject) =>
    deps.hooks
      .listNamespace(d.metadata.namespace as string)
      .filter((h) => selects(h.spec, d))
      .map(objectKey);
  const controller = new Controller({
    name: 'deploymenthook',
    workers: opts.workers,
    metrics: mgr.metrics,
    log: mgr.log,
    reconcile: (ctx, key) => reconcile(deps, ctx, key),
  });
  controller.watch(deps.hooks, toSelf).watch(deps.jobs, toOwner('DeploymentHook'));
  for (const kind of WORKLOAD_KINDS)
    controller.watch(deps.workloads[kind], (e) => [
      ...new Set([...hooksSelecting(e.object), ...(e.type === 'updated' ? hooksSelecting(e.old) : [])]),
    ]);
  controller
    .watch(deps.templates, (e) =>
      deps.hooks
        .listNamespace(e.object.metadata.namespace as string)
        .filter((h) => h.spec.template.name === e.object.metadata.name)
        .map(objectKey),
    )
    .watch(deps.gatedPods, (e) => hooksOfGatedPod(e.object));
  mgr.add(controller);
  return controller;
}

async function reconcile(deps: Deps, ctx: ReconcileContext, key: string): Promise<ReconcileResult> {
  const [namespace, name] = key.split('/') as [string, string];
  const hook = deps.hooks.get(namespace, name);
  // Every Job of this name, including those of a deleted namesake (another UID): the plan releases them.
  const jobs = ownedBy(deps.jobs.listNamespace(namespace), 'DeploymentHook', name);
  if (!hook || hook.metadata.deletionTimestamp) {
    // The garbage collector deletes the Jobs; let them go.
    await releaseFinalizer(
      deps.mgr.client,
      Resources.jobs,
      RESULT_FINALIZER,
      jobs,
      () => true,
      deps.released,
    );
    // Pods gated for a hook that is gone wait for nothing.
    const all = deps.hooks.listNamespace(namespace);
    await settleGates(deps.mgr.client, podsGatedBy(deps.gatedPods, namespace, name), deps.deployment, all);
    return undefined;
  }
  const staleMs = deps.statusWrites.waitMs(hook, Date.now());
  if (staleMs > 0) return { requeueAfterMs: staleMs };

  const all = WORKLOAD_KINDS.flatMap((kind) => deps.workloads[kind].listNamespace(namespace));
  const selected = (d: KubeObject) => selects(hook.spec, d);
  const snapshot: Snapshot = {
    hook,
    deployments: all.filter(selected),
    unmatched: all.filter((d) => !selected(d)),
    jobs,
    now: new Date(),
    gatedPods: podsGatedBy(deps.gatedPods, namespace, name),
  };
  if (hook.spec.template.name) {
    const pt = deps.templates.get(namespace, hook.spec.template.name);
    if (pt?.template) snapshot.template = pt.template as PodTemplateSpec;
    else
      snapshot.templateProblem = {
        reason: 'TemplateNotFound',
        message: `PodTemplate ${namespace}/${hook.spec.template.name} does not exist; the hook runs once it is created`,
      };
    snapshot.templateVersion = templateVersion(hook, pt);
  } else {
    snapshot.template = hook.spec.template.spec as PodTemplateSpec;
    snapshot.templateVersion = templateVersion(hook);
  }

  if (hook.spec.when === 'BeforeRollout')
    snapshot.currentReplicaSets = await escapedReplicaSets(
      deps.mgr.client,
      hook,
      snapshot.deployments,
      snapshot.gatedPods ?? [],
      deps.escaped,
    );

  const seen = deps.rejections.get(hook.metadata.uid as string);
  if (seen && seen.version === snapshot.templateVersion) snapshot.rejection = seen.message;
  let plan = planHook(snapshot);
  for (const jobName of plan.stop) {
    await deps.mgr.client.delete(Resources.jobs, namespace, jobName, 'Background');
  }
  let rejection: string | undefined;
  await inParallel(plan.create, 16, async (run) => {
    rejection ??= await createJob(deps, ctx, hook, run, snapshot.template as PodTemplateSpec);
  });
  // Kubernetes rejected a Job: remember it for this template version, so nothing is sent again
  // until the hook, its PodTemplate or bosun.dev/rerun changes.
  if (rejection !== undefined) {
    plan = planHook({ ...snapshot, rejection });
    if (deps.rejections.size > 10_000) deps.rejections.clear(); // bounded: it is only a shortcut
    deps.rejections.set(hook.metadata.uid as string, {
      version: snapshot.templateVersion ?? '',
      message: rejection,
    });
  }
  if (await updateStatusIfChanged(deps.mgr.client, HOOKS, hook, plan.status))
    deps.statusWrites.wrote(hook, Date.now());
  plan.events.push(...gateEvents(hook, plan));
  await recordEvents(deps, hook, plan);
  await warnNotOptedIn(deps, ctx, hook);
  // Only now is each run's result in the status: gated pods whose hooks all passed may go.
  if (snapshot.gatedPods?.length) {
    const hooks = deps.hooks
      .listNamespace(namespace)
      .map((h) => (h === hook ? { ...h, status: plan.status } : h));
    const settled = await settleGates(deps.mgr.client, snapshot.gatedPods, deps.deployment, hooks);
    if (settled.ungated) ctx.log.info(settled, 'let gated pods go');
  }
  for (const phase of plan.finished)
    deps.runs.inc({ result: phase === 'Succeeded' ? 'succeeded' : 'failed' });
  // Only now is each released Job's result (or irrelevance) in the status.
  const release = new Set(plan.release);
  await releaseFinalizer(
    deps.mgr.client,
    Resources.jobs,
    RESULT_FINALIZER,
    jobs,
    (j) => release.has(j.metadata.name as string),
    deps.released,
  );
  return plan.requeueAfterMs ? { requeueAfterMs: plan.requeueAfterMs } : undefined;
}

async function createJob(
  deps: Deps,
  ctx: ReconcileContext,
  hook: HookObject,
  run: Plan['create'][number],
  template: PodTemplateSpec,
): Promise<string | undefined> {
  try {
    const { created } = await deps.mgr.client.createIfAbsent(Resources.jobs, hookJob(hook, run, template));
    if (created) {
      deps.runs.inc({ result: 'started' });
      const completedAt = rolloutCompletedAt(run.deployment);
      if (completedAt) deps.delay.observe(Math.max(0, (Date.now() - completedAt) / 1000));
      ctx.log.info(
        { job: run.name, deployment: run.deployment.metadata.name, revision: run.revision },
        'created hook Job',
      );
    }
    return undefined;
  } catch (e) {
    if (e instanceof ApiError && (e.code === 422 || e.code === 400)) {
      return `Kubernetes rejected the hook Job: ${e.message}`;
    }
    throw e;
  }
}

/** When the rollout completed: the Progressing condition's update that reported the new ReplicaSet available. */
function rolloutCompletedAt(deployment: KubeObject): number | undefined {
  const c = (deployment.status?.conditions ?? []).find(
    (x: { type: string; reason?: string }) =>
      x.type === 'Progressing' && x.reason === 'NewReplicaSetAvailable',
  );
  return c?.lastUpdateTime ? Date.parse(c.lastUpdateTime) : undefined;
}

async function recordEvents(deps: Deps, hook: HookObject, plan: Plan) {
  const writes = plan.events.map((e) => {
    const kind = e.on === 'hook' ? 'DeploymentHook' : (e.on.kind ?? 'Deployment');
    const target =
      e.on === 'hook'
        ? hook
        : deps.workloads[e.on.kind ?? 'Deployment'].get(hook.metadata.namespace, e.on.deployment);
    return target
      ? deps.mgr.events.record(
          { apiVersion: target.apiVersion ?? 'apps/v1', kind: target.kind ?? kind, ...target },
          e.type,
          e.reason,
          e.note,
        )
      : undefined;
  });
  await Promise.all(writes);
}

/** Once per hook generation: a Warning when the selector picks workloads the opt-in label hides. */
async function warnNotOptedIn(deps: Deps, ctx: ReconcileContext, hook: HookObject) {
  const label = deps.optInLabel;
  const uid = hook.metadata.uid as string;
  const generation = hook.metadata.generation ?? 0;
  if (!label || deps.optInChecked.get(uid) === generation) return;
  try {
    const hidden = await unlabelledWorkloads(deps.mgr.client, hook, label);
    if (hidden.length)
      await deps.mgr.events.record(
        hook,
        'Warning',
        'NotOptedIn',
        `the selector picks ${hidden.join(', ')} (and maybe more), which lack the label ${label}: this operator runs with --hook-opt-in-label=${label} and never sees them; label them to run the hook`,
      );
    if (deps.optInChecked.size > 10_000) deps.optInChecked.clear(); // bounded: a lost entry costs one LIST
    deps.optInChecked.set(uid, generation);
  } catch (e) {
    ctx.log.warn({ err: e }, 'could not check for workloads without the opt-in label');
  }
}
