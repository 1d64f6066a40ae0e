// The lifecycle planner of one preview: from its snapshot and its capacity grants, the status it
// should have and what to do to its children. Pure; the controller acts on the result.
import type { InitStatus, PreviewPhase, PreviewStatus } from '../../api/preview.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { type ConditionInput, setCondition } from '../../runtime/status.ts';
import { jobFinished, jobOutcome } from '../job-outcome.ts';
import { podsOf } from './capacity.ts';
import { CLEANUP_FINALIZER, RESET_ANNOTATION, SKIP_CLEANUP_ANNOTATION } from './labels.ts';
import { isDeleting, type PreviewObject, type RepositoryObject, type TemplateObject } from './model.ts';
import {
  appName,
  buildJobName,
  cleanupJobName,
  initJobName,
  jobHash,
  previewVariables,
  RenderError,
  type Rendered,
  type RenderInput,
  renderApp,
  renderBuildJob,
  renderCleanupJob,
  renderInitJob,
  repositorySettings,
} from './render.ts';

export interface PreviewEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

export interface PreviewGrants {
  admit: boolean;
  initialize: boolean;
  run: boolean;
  stop: boolean;
  undeploy: boolean;
}

export interface PreviewSnapshot {
  preview: PreviewObject;
  repository?: RepositoryObject;
  template: (name: string) => TemplateObject | undefined;
  job: (name: string) => KubeObject | undefined;
  deployment?: KubeObject;
  grants: PreviewGrants;
  now: Date;
  /** The preview's namespace is being deleted: no Job can be created there any more. */
  namespaceDeleting?: boolean;
}

export interface PreviewPlan {
  addFinalizer?: boolean;
  status: PreviewStatus;
  /** Set spec.state to Stopped (maxRunning made room for another preview). */
  stop?: boolean;
  /** Delete the Preview (maxDeployed made room): its finalizer then runs the cleanup. */
  undeploy?: boolean;
  /** Jobs to create (an existing one of the same name is kept). */
  create: KubeObject[];
  /** App resources to apply (server-side); on rejection the hash goes to status.rejectedHash. */
  apply?: { objects: KubeObject[]; hash: string };
  scale?: number;
  /** Jobs to delete, by the uid the snapshot saw (a newer Job of that name is not this plan's). */
  deleteJobs: { name: string; uid?: string }[];
  /** Undeploying: delete every resource labelled with the preview, then release the finalizer. */
  purge?: boolean;
  events: PreviewEvent[];
}

/** Annotation on the Deployment: the hash of the app resources it was applied with. */
export const RENDER_HASH_ANNOTATION = 'bosun.dev/render-hash';

const RUNNING: PreviewPhase[] = ['Starting', 'Running', 'Stopping'];
const timestamp = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');
const outcomeText = (o: { reason?: string; message?: string }) =>
  `${o.reason}${o.message ? `: ${o.message}` : ''}`;

/** Builds the plan step by step; each step may end it. */
class Planner {
  readonly plan: PreviewPlan;
  readonly old: PreviewStatus;
  readonly status: PreviewStatus;
  readonly stamp: string;
  readonly snap: PreviewSnapshot;
  constructor(snap: PreviewSnapshot) {
    this.snap = snap;
    this.old = snap.preview.status ?? {};
    this.status = { ...this.old, observedGeneration: snap.preview.metadata.generation };
    this.plan = { status: this.status, create: [], deleteJobs: [], events: [] };
    this.stamp = timestamp(snap.now);
  }
  get preview() {
    return this.snap.preview;
  }
  ready(c: Omit<ConditionInput, 'type' | 'observedGeneration'>) {
    this.condition('Ready', c);
  }
  condition(type: string, c: Omit<ConditionInput, 'type' | 'observedGeneration'>) {
    const generation = this.preview.metadata.generation;
    this.status.conditions = setCondition(
      this.status.conditions,
      { type, observedGeneration: generation, ...c },
      this.snap.now,
    );
  }
  event(type: PreviewEvent['type'], reason: string, note: string) {
    this.plan.events.push({ type, reason, note });
  }
  /** A Warning once, when the Ready reason turns to `reason`, and the condition. */
  problem(reason: string, message: string) {
    if (this.old.conditions?.find((c) => c.type === 'Ready')?.reason !== reason)
      this.event('Warning', reason, message);
    this.ready({ status: 'False', reason, message });
  }
  /** A Job of no use any more is deleted, once: one being deleted is only waited for. */
  stopJob(job: KubeObject) {
    if (!job.metadata.deletionTimestamp)
      this.plan.deleteJobs.push({ name: job.metadata.name as string, uid: job.metadata.uid });
  }
  /** The requested reset is carried out by this plan. */
  resetDone() {
    this.status.resetToken = this.preview.metadata.annotations?.[RESET_ANNOTATION];
  }
}

export function planPreview(snap: PreviewSnapshot): PreviewPlan {
  const p = new Planner(snap);
  if (isDeleting(snap.preview)) return undeploy(p);
  // The finalizer goes first (the act adds it before anything else), so that nothing is ever
  // created that an undeploy could miss; the rest of the plan need not wait for another pass.
  if (!snap.preview.metadata.finalizers?.includes(CLEANUP_FINALIZER)) p.plan.addFinalizer = true;
  if (snap.grants.undeploy) {
    p.plan.undeploy = true;
    p.event(
      'Normal',
      'UndeployedForCapacity',
      'maxDeployed is reached: undeploying this least recently used idle preview',
    );
  }
  const resolved = resolveInput(snap);
  if ('problem' in resolved) {
    p.status.phase = p.old.admittedAt ? (p.old.phase ?? 'Failed') : 'Pending';
    p.problem(resolved.reason, resolved.problem);
    if (p.old.admittedAt) stopWhileBlocked(p);
    return p.plan;
  }
  const { input, rendered } = resolved;
  if (!p.old.admittedAt) {
    if (!snap.grants.admit) {
      p.status.phase = 'Pending';
      p.ready({
        status: 'False',
        reason: 'WaitingForCapacity',
        message: 'maxDeployed is reached and no stopped or failed preview can be undeployed yet',
      });
      return p.plan;
    }
    p.status.admittedAt = p.stamp;
  }
  Object.assign(p.status, {
    template: input.template.metadata.name,
    slug: rendered.variables.slug,
    url: rendered.url,
  });
  // A reset is recorded (status.resetToken) only by the step that carries it out: a retried build,
  // or initialization queued again. One that waits (the app rejected) stays requested.
  const resetting = resetRequested(snap.preview);
  const built = build(p, input, rendered, resetting);
  if (built === 'waiting') return p.plan;
  if (built === 'built') {
    if (rendered.image) p.status.image = rendered.image;
    if (!applyApp(p, resolved.appHash, () => renderApp(input, rendered))) {
      stopWhileBlocked(p);
      return p.plan;
    }
  }
  initializeAndScale(p, input, rendered, resetting);
  return p.plan;
}

/** maxRunning made room for another preview: spec.state becomes Stopped. */
function stopForCapacity(p: Planner) {
  if (!p.snap.grants.stop) return;
  p.plan.stop = true;
  p.event(
    'Normal',
    'StoppedForCapacity',
    'maxRunning is reached: stopping this least recently started preview',
  );
}

/**
 * A preview that cannot be rendered or applied (a missing template or repository, a rejected app)
 * keeps what it runs while it may, but still stops: by spec.state, or for capacity. It never starts.
 */
function stopWhileBlocked(p: Planner) {
  stopForCapacity(p);
  if (p.preview.spec.state === 'Running' && !p.snap.grants.stop) return;
  if ((p.snap.deployment?.spec?.replicas ?? 0) > 0) p.plan.scale = 0;
  if ((p.old.replicas ?? 0) > 0) p.status.lastScaled = p.stamp;
  p.status.replicas = 0;
}

function resetRequested(preview: PreviewObject): boolean {
  const token = preview.metadata.annotations?.[RESET_ANNOTATION];
  return token !== undefined && token !== preview.status?.resetToken;
}

type Resolved =
  | { input: RenderInput; rendered: Rendered; appHash: string }
  | { reason: string; problem: string };

/** False while a preview cannot be deployed (no repository or template, a bad template): it gets no slot. */
export function deployable(snap: Pick<PreviewSnapshot, 'preview' | 'repository' | 'template'>): boolean {
  return !('problem' in resolveInput(snap));
}

function resolveInput(snap: Pick<PreviewSnapshot, 'preview' | 'repository' | 'template'>): Resolved {
  const { preview, repository } = snap;
  const ns = preview.metadata.namespace;
  if (!repository)
    return {
      reason: 'RepositoryNotFound',
      problem: `PreviewRepository "${preview.spec.repository}" not found in namespace ${ns}`,
    };
  const name = repositorySettings(repository.spec, preview.spec).template;
  const template = snap.template(name);
  if (!template)
    return { reason: 'TemplateNotFound', problem: `PreviewTemplate "${name}" not found in namespace ${ns}` };
  const input = { preview, repository, template };
  try {
    const rendered = previewVariables(input);
    return { input, rendered, appHash: checkRenders(input, rendered).appHash as string };
  } catch (e) {
    if (e instanceof RenderError) return { reason: 'InvalidTemplate', problem: e.message };
    throw e;
  }
}

// Rendering everything once per change of its inputs finds a bad template before the preview
// takes a slot, and gives the hash of the app resources. Remembered by the inputs' versions, so a
// pass over settled previews renders nothing.
interface RenderCheck {
  problem?: string;
  appHash?: string;
}
const renderChecks = new Map<string, RenderCheck>();
const MAX_REMEMBERED = 50_000;

function checkRenders(input: RenderInput, rendered: Rendered): RenderCheck {
  const { preview, repository, template } = input;
  const key = [preview, repository, template]
    .map((o) => `${o.metadata.uid}/${o.metadata.generation}`)
    .join('|');
  // Objects never stored (no uid) are checked every time.
  let check = [preview, repository, template].every((o) => o.metadata.uid)
    ? renderChecks.get(key)
    : undefined;
  if (!check) {
    try {
      renderBuildJob(input, rendered, 0);
      renderInitJob(input, rendered, 0);
      renderCleanupJob(input, rendered);
      check = { appHash: renderApp(input, rendered).hash };
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      check = { problem: e.message };
    }
    if (renderChecks.size >= MAX_REMEMBERED) renderChecks.clear();
    renderChecks.set(key, check);
  }
  if (check.problem !== undefined) throw new RenderError(check.problem);
  return check;
}

/** The build Job of the commit: built, still waiting, or the previous commit's app serves meanwhile. */
function build(
  p: Planner,
  input: RenderInput,
  rendered: Rendered,
  resetting: boolean,
): 'built' | 'waiting' | 'previous' {
  if (!input.template.spec.build) return 'built';
  const { old, status, preview } = p;
  const retry = resetting && old.buildStatus === 'error' && old.buildCommit === preview.spec.commit;
  if (retry) p.resetDone();
  if (old.buildCommit !== preview.spec.commit || retry) {
    const attempt = retry ? (old.buildAttempt ?? 0) + 1 : 0;
    const job = renderBuildJob(input, rendered, attempt) as KubeObject;
    Object.assign(status, {
      buildStatus: 'building',
      buildCommit: preview.spec.commit,
      buildAttempt: attempt,
      buildJobName: job.metadata.name,
      buildStartedAt: p.stamp,
    });
    p.plan.create.push(job);
    p.event(
      'Normal',
      'BuildStarted',
      `building ${preview.spec.commit.slice(0, 7)} in Job ${job.metadata.name}`,
    );
  } else if (old.buildStatus === 'building') {
    const name = buildJobName(preview, old.buildAttempt ?? 0);
    const job = p.snap.job(name);
    const outcome = job && jobOutcome(job);
    if (!job) p.plan.create.push(renderBuildJob(input, rendered, old.buildAttempt ?? 0) as KubeObject);
    else if (outcome?.phase === 'Succeeded') {
      status.buildStatus = 'success';
      p.event('Normal', 'BuildSucceeded', `Job ${name} built ${rendered.image}`);
    } else if (outcome?.phase === 'Failed') {
      status.buildStatus = 'error';
      status.lastScaled = p.stamp;
      p.event('Warning', 'BuildFailed', `Job ${name} failed: ${outcomeText(outcome)}`);
    }
  }
  const failed = status.buildStatus === 'error';
  p.condition('Built', {
    status: status.buildStatus === 'success' ? 'True' : failed ? 'False' : 'Unknown',
    reason: status.buildStatus === 'success' ? 'BuildSucceeded' : failed ? 'BuildFailed' : 'Building',
    message: failed
      ? `build Job ${status.buildJobName} failed (its logs are kept until undeploy); push a new commit or reset to retry`
      : `build Job ${status.buildJobName} ${status.buildStatus === 'success' ? 'succeeded' : 'is running'}`,
  });
  if (status.buildStatus === 'success') return 'built';
  // The app of the previous commit keeps serving (and starting and stopping) meanwhile.
  if (old.deployedCommit) return 'previous';
  p.status.phase = failed ? 'Failed' : 'Building';
  p.status.appStatus = failed ? 'error' : 'building';
  p.ready({
    status: 'False',
    reason: failed ? 'BuildFailed' : 'Building',
    message: status.conditions?.find((c) => c.type === 'Built')?.message ?? '',
  });
  return 'waiting';
}

/** Applies the app resources when they changed; false when they were rejected. */
function applyApp(p: Planner, hash: string, render: () => { objects: KubeObject[]; hash: string }): boolean {
  const { old, status } = p;
  if (old.rejectedHash === hash) {
    const message =
      old.conditions?.find((c) => c.reason === 'ApplyRejected')?.message ??
      'the API server rejected the app resources';
    p.ready({ status: 'False', reason: 'ApplyRejected', message });
    if (!old.deployedCommit) status.phase = 'Failed';
    return false;
  }
  delete status.rejectedHash;
  if (p.snap.deployment?.metadata.annotations?.[RENDER_HASH_ANNOTATION] !== hash) p.plan.apply = render();
  status.deployedCommit = p.preview.spec.commit;
  status.appStatus = 'deployed';
  return true;
}

/** Initialization under its grant (a reset queues it again), then replicas by spec.state and grants. */
function initializeAndScale(p: Planner, input: RenderInput, rendered: Rendered, resetting: boolean) {
  const { old, status, preview, snap } = p;
  let init: InitStatus | undefined = old.initStatus;
  if (resetting) {
    p.resetDone();
    if (init !== 'todo') {
      if (init !== undefined) status.initAttempt = (old.initAttempt ?? 0) + 1;
      init = undefined;
      p.event('Normal', 'Reset', 'initialization queued again');
    }
  }
  // An earlier attempt still running is stopped (it holds an init slot); a finished one stays for
  // its logs. Decided from the recorded attempt, so a stop lost to a crash after the reset was
  // recorded happens in the next plan.
  const earlier = old.initJobName ? snap.job(old.initJobName) : undefined;
  if (earlier && old.initJobName !== initJobName(preview, status.initAttempt ?? 0) && !jobFinished(earlier))
    p.stopJob(earlier);
  if (!input.template.spec.initialize) init = 'ready';
  else if (init === undefined) {
    init = 'todo';
    status.initQueuedAt = p.snap.now.toISOString(); // milliseconds: FIFO among previews queued in one second
    status.initAttempt ??= 0;
  }
  // A preview queued in this very pass starts at once when it was granted a slot.
  if (init === 'todo' && snap.grants.initialize) {
    const job = renderInitJob(input, rendered, status.initAttempt ?? 0) as KubeObject;
    init = 'initializing';
    status.initJobName = job.metadata.name;
    p.plan.create.push(job);
    p.event('Normal', 'InitStarted', `initializing in Job ${job.metadata.name}`);
  } else if (init === 'initializing') {
    const job = renderInitJob(input, rendered, status.initAttempt ?? 0) as KubeObject;
    const existing = snap.job(job.metadata.name as string);
    const outcome = existing && jobOutcome(existing);
    if (!existing) p.plan.create.push(job);
    else if (outcome?.phase === 'Succeeded') {
      init = 'ready';
      p.event('Normal', 'Initialized', `Job ${job.metadata.name} succeeded`);
    } else if (outcome?.phase === 'Failed') {
      init = 'failed';
      p.event('Warning', 'InitFailed', `Job ${job.metadata.name} failed: ${outcomeText(outcome)}`);
    }
  }
  status.initStatus = init;
  // A preview is idle from the moment it is initialized (or failed): that is its last use.
  if (init !== old.initStatus && (init === 'ready' || init === 'failed')) status.lastScaled = p.stamp;

  stopForCapacity(p);
  const wanted = preview.spec.state === 'Running' && !snap.grants.stop;
  const replicas =
    init === 'ready' && wanted && snap.grants.run ? (input.template.spec.app.replicas ?? 1) : 0;
  if ((old.replicas ?? 0) !== replicas) status.lastScaled = p.stamp;
  status.replicas = replicas;
  const deployment = snap.deployment;
  if (p.plan.apply) {
    p.plan.apply = {
      hash: p.plan.apply.hash,
      objects: p.plan.apply.objects.map((o) =>
        o.kind === 'Deployment'
          ? {
              ...o,
              metadata: {
                ...o.metadata,
                annotations: { [RENDER_HASH_ANNOTATION]: p.plan.apply?.hash as string },
              },
              spec: { ...o.spec, replicas },
            }
          : o,
      ),
    };
  } else if (deployment && (deployment.spec?.replicas ?? 0) !== replicas) p.plan.scale = replicas;

  const pods = podsOf(deployment);
  const available = deployment?.status?.availableReplicas ?? 0;
  if (init === 'failed') {
    status.phase = 'Failed';
    p.ready({
      status: 'False',
      reason: 'InitFailed',
      message: `initialization Job ${status.initJobName} failed (its logs are kept until undeploy); reset to retry`,
    });
  } else if (init === 'todo') {
    status.phase = 'Initializing';
    p.ready({
      status: 'False',
      reason: 'QueuedForInit',
      message: 'waiting for an initialization slot (maxInitializing)',
    });
  } else if (init === 'initializing') {
    status.phase = 'Initializing';
    p.ready({
      status: 'False',
      reason: 'Initializing',
      message: `initialization Job ${status.initJobName} is running`,
    });
  } else if (replicas > 0) {
    status.phase = available >= replicas ? 'Running' : 'Starting';
    p.ready(
      status.phase === 'Running'
        ? {
            status: 'True',
            reason: 'Running',
            message: `serving at ${status.url ?? `Service ${input.preview.metadata.name}`}`,
          }
        : { status: 'False', reason: 'Starting', message: 'waiting for the app to become available' },
    );
  } else if (!deployment) {
    // Stopped says the app is deployed: not before the Deployment is seen (this plan may create it).
    status.phase = 'Pending';
    p.ready({
      status: 'False',
      reason: 'Deploying',
      message: `creating the app's resources (Deployment ${appName(preview)})`,
    });
  } else {
    status.phase = pods > 0 ? 'Stopping' : 'Stopped';
    const waiting = wanted && init === 'ready';
    p.ready({
      status: 'False',
      reason: waiting ? 'WaitingForCapacity' : status.phase,
      message: waiting
        ? 'maxRunning is reached: starts once a running preview has stopped'
        : `the app is ${status.phase.toLowerCase()}; set spec.state to Running to start it`,
    });
  }
  if (RUNNING.includes(status.phase) && !RUNNING.includes(old.phase as PreviewPhase))
    p.event('Normal', 'Started', `scaled to ${replicas}`);
}

/** Undeploying: stop the app, run the cleanup Job, then purge everything labelled. */
function undeploy(p: Planner): PreviewPlan {
  const { snap, old, status, preview } = p;
  status.phase = 'Undeploying';
  status.initStatus = 'dropping';
  status.replicas = 0;
  if (snap.deployment && (snap.deployment.spec?.replicas ?? 0) !== 0) p.plan.scale = 0;
  if (!preview.metadata.finalizers?.includes(CLEANUP_FINALIZER)) return p.plan;

  const skip = preview.metadata.annotations?.[SKIP_CLEANUP_ANNOTATION] === 'true';
  const template = old.template ? snap.template(old.template) : undefined;
  const needsCleanup =
    !!old.admittedAt &&
    !skip &&
    old.cleanupStatus !== 'succeeded' &&
    (template ? !!template.spec.cleanup : !!old.template);
  if (!needsCleanup) {
    p.plan.purge = true;
    p.ready({ status: 'False', reason: 'Undeploying', message: 'deleting the preview resources' });
    return p.plan;
  }
  // Waiting would hold the namespace in Terminating for ever: the API server refuses new objects
  // there, and the namespace's deletion takes the template and any cleanup Job with it.
  if (snap.namespaceDeleting) {
    p.plan.purge = true;
    p.ready({
      status: 'False',
      reason: 'Undeploying',
      message: `namespace ${preview.metadata.namespace} is being deleted, where no cleanup Job can run: deleting the preview resources without it`,
    });
    return p.plan;
  }
  const way = `annotate the preview ${SKIP_CLEANUP_ANNOTATION}=true to undeploy without it`;
  if (!template) {
    p.problem(
      'CleanupFailed',
      `PreviewTemplate "${old.template}" is gone, so its cleanup Job cannot run; re-create it, or ${way}`,
    );
    return p.plan;
  }
  // The repository only supplies variables here; a deleted one must not block the undeploy.
  const repository =
    snap.repository ??
    ({
      metadata: { name: preview.spec.repository },
      spec: { repository: preview.spec.repository, template: old.template },
    } as RepositoryObject);
  const input = { preview, repository, template };
  let job: KubeObject;
  try {
    job = renderCleanupJob(input, previewVariables(input)) as KubeObject;
  } catch (e) {
    p.problem(
      'CleanupFailed',
      `the cleanup Job cannot be rendered: ${(e as Error).message}; fix the template, or ${way}`,
    );
    return p.plan;
  }
  const name = cleanupJobName(preview);
  status.cleanupJobName = name;
  const existing = snap.job(name);
  const outcome = existing && jobOutcome(existing);
  if (outcome?.phase === 'Succeeded') {
    status.cleanupStatus = 'succeeded';
    p.plan.purge = true;
    p.ready({
      status: 'False',
      reason: 'Undeploying',
      message: 'cleanup succeeded; deleting the preview resources',
    });
  } else if (outcome?.phase === 'Failed') {
    status.cleanupStatus = 'failed';
    p.problem(
      'CleanupFailed',
      `cleanup Job ${name} failed (${outcomeText(outcome)}); read its logs, then delete the Job to retry, or ${way}`,
    );
  } else if (!existing && old.cleanupStatus === 'failed' && old.rejectedHash === jobHash(job)) {
    // The API server rejected this very Job: it is created again only once the template changes.
    p.problem(
      'CleanupFailed',
      old.conditions?.find((c) => c.type === 'Ready')?.message ??
        `the API server rejected the cleanup Job; fix the template, or ${way}`,
    );
  } else if (!existing && stopBusyJobs(p)) {
    return p.plan;
  } else {
    if (!existing) p.plan.create.push(job);
    status.cleanupStatus = 'running';
    p.ready({ status: 'False', reason: 'CleaningUp', message: `cleanup Job ${name} is running` });
  }
  return p.plan;
}

/**
 * A build or an initialization still running when the preview is undeployed is of no use, holds a
 * slot, and must not overlap the cleanup (a database dropped while it is being created): it is
 * deleted, and the cleanup waits until it is gone, which a foreground delete makes the moment its
 * pods are. True while such a Job is there.
 */
function stopBusyJobs(p: Planner): boolean {
  const busy = [p.old.buildJobName, p.old.initJobName]
    .map((n) => (n ? p.snap.job(n) : undefined))
    .filter((j): j is KubeObject => !!j && !jobFinished(j));
  if (!busy.length) return false;
  for (const j of busy) p.stopJob(j);
  const names = busy.map((j) => j.metadata.name).join(', ');
  p.ready({ status: 'False', reason: 'Undeploying', message: `stopping Job ${names} before the cleanup` });
  return true;
}
