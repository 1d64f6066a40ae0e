// The capacity planner: which previews get a deploy slot, an initialization slot or a run slot,
// and which are stopped or undeployed to make room. Pure; it reads only what the API server
// recorded (statuses, specs, the Deployments' pods), so a restarted operator decides the same.

import { Heap } from '../../runtime/heap.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { type Caps, isAdmitted, isDeleting, type PreviewObject } from './model.ts';

export interface Grants {
  admit: Set<string>;
  /**
   * Admissions into the slot of a preview undeployed by the same pass, by admitted preview: its
   * victim. Such a preview is admitted only once the victim's delete has gone through, so the
   * deploy cap holds at every moment and a burst needs no second pass to fill the slots it freed.
   */
  admitAfter: Map<string, string>;
  initialize: Set<string>;
  run: Set<string>;
  /** Running previews to stop (their spec.state becomes Stopped) so that others may run. */
  stop: Set<string>;
  /** Stopped or failed previews to undeploy so that pending ones may deploy. */
  undeploy: Set<string>;
  counts: { deployed: number; running: number; initializing: number; pending: number };
}

const name = (p: PreviewObject) => p.metadata.name as string;
const created = (p: PreviewObject) => p.metadata.creationTimestamp ?? '';
/** Ordinal order (timestamps are RFC 3339 in UTC, names are DNS labels): the same on every host, and fast. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byAge = (a: PreviewObject, b: PreviewObject) =>
  compare(created(a), created(b)) || compare(name(a), name(b));
const lastUsed = (p: PreviewObject) => p.status?.lastScaled ?? p.status?.admittedAt ?? created(p);
const byLeastRecentlyUsed = (a: PreviewObject, b: PreviewObject) =>
  compare(lastUsed(a), lastUsed(b)) || byAge(a, b);

/**
 * Pods asked for or still there: starting, running and stopping previews all count, and so does a
 * Deployment still asking for pods that the status no longer wants (a process killed between the
 * status write and the scale-down), until the scale-down is seen. A preview being undeployed
 * counts too until its pods are gone, and pods count until they have terminated.
 */
export const isRunning = (p: PreviewObject, deployment?: KubeObject) =>
  (p.status?.replicas ?? 0) > 0 ||
  p.status?.phase === 'Stopping' ||
  (deployment?.spec?.replicas ?? 0) > 0 ||
  podsOf(deployment) > 0;

/** The app's pods, terminating ones included (they may still serve and use resources). */
export const podsOf = (deployment?: KubeObject): number =>
  (deployment?.status?.replicas ?? 0) + (deployment?.status?.terminatingReplicas ?? 0);

/** A preview's latest initialization Job as the cache shows it: not there (yet), running or finished. */
export type InitJob = 'running' | 'finished' | undefined;

/**
 * Holds an initialization slot: the status says initializing and the Job has not finished (a
 * finished Job frees the slot in the pass that records it). A preview being undeployed holds it
 * while its Job still runs. The Job is looked up only then: most previews are neither, and a pass
 * asks this of every one.
 */
export const isInitializing = (p: PreviewObject, job: (p: PreviewObject) => InitJob) =>
  p.status?.initStatus === 'initializing' ? job(p) !== 'finished' : isDeleting(p) && job(p) === 'running';

/** The newest branch preview of each branch; pull-request previews are never protected. */
function newestOfEachBranch(previews: PreviewObject[]): Set<PreviewObject> {
  const newest = new Map<string, PreviewObject>();
  for (const p of previews) {
    if (isDeleting(p) || p.spec.pullRequest !== undefined) continue;
    const current = newest.get(p.spec.branch);
    if (!current || byAge(current, p) < 0) newest.set(p.spec.branch, p);
  }
  return new Set(newest.values());
}

/**
 * Stopped or failed previews that may be undeployed, least recently used first: as a heap, so
 * that taking the few a pass needs does not sort thousands.
 */
function idlePreviews(
  previews: PreviewObject[],
  running: Set<PreviewObject>,
): { next(): PreviewObject | undefined } {
  const sticky = newestOfEachBranch(previews);
  return new Heap(
    previews.filter(
      (p) =>
        isAdmitted(p) &&
        (p.status?.phase === 'Stopped' || p.status?.phase === 'Failed') &&
        !running.has(p) &&
        p.status?.initStatus !== 'initializing' &&
        !sticky.has(p),
    ),
    byLeastRecentlyUsed,
  );
}

export function planCapacity(
  previews: PreviewObject[],
  /** The Deployment of `previews[i]`. */
  deployments: (p: PreviewObject, i: number) => KubeObject | undefined,
  caps: Caps,
  /**
   * Previews that cannot be rendered (no template, a bad template): a pending one waits without a
   * deploy slot, a stopped one asking to run without a run slot.
   */
  blocked: (p: PreviewObject) => boolean,
  initJob: (p: PreviewObject) => InitJob = () => undefined,
): Grants {
  /** A preview whose app was rejected cannot start either, until a new render applies. */
  const startable = (p: PreviewObject) => !p.status?.rejectedHash && !blocked(p);
  // One walk over every preview sorts them into the few groups whose order matters; only those
  // are sorted, and the idle previews only as far as victims are needed. A pass over 10,000
  // settled previews stays linear and allocates little.
  let deployed = 0;
  let initializing = 0;
  const running = new Set<PreviewObject>();
  const pending: PreviewObject[] = [];
  const queued: PreviewObject[] = [];
  const keep: PreviewObject[] = [];
  const waiting: PreviewObject[] = [];
  for (let i = 0; i < previews.length; i++) {
    const p = previews[i] as PreviewObject;
    if (isDeleting(p)) {
      // Being undeployed: no deploy slot, but its pods and its initialization count until gone.
      if (isRunning(p, deployments(p, i))) running.add(p);
      if (isInitializing(p, initJob)) initializing++;
      continue;
    }
    if (!isAdmitted(p)) {
      if (!blocked(p)) pending.push(p);
      continue;
    }
    deployed++;
    const status = p.status;
    if (isRunning(p, deployments(p, i))) {
      running.add(p);
      if (p.spec.state === 'Running') keep.push(p);
    } else if (p.spec.state === 'Running' && status?.initStatus === 'ready' && startable(p)) waiting.push(p);
    if (isInitializing(p, initJob)) initializing++;
    else if (status?.initStatus === 'todo') queued.push(p);
  }
  const grants: Grants = {
    admit: new Set(),
    admitAfter: new Map(),
    initialize: new Set(),
    run: new Set(),
    stop: new Set(),
    undeploy: new Set(),
    counts: { deployed, running: running.size, initializing, pending: 0 },
  };

  // Deploy slots go to the newest pending previews. Without a free slot, a pending preview makes
  // room by undeploying the least recently used idle preview that is older than itself (and takes
  // its slot once it is gone): a newer preview may replace an older one, never the reverse, so a
  // burst never builds previews only to undeploy them for others of the same burst.
  pending.sort((a, b) => byAge(b, a));
  const freeDeploy = Math.max(0, caps.maxDeployed - deployed);
  const admitting = pending.slice(0, freeDeploy);
  const excess = Math.max(0, deployed - caps.maxDeployed);
  if (excess > 0 || pending.length > freeDeploy) {
    const idle = idlePreviews(previews, running);
    for (let k = 0; k < excess; k++) {
      const p = idle.next();
      if (p) grants.undeploy.add(name(p));
    }
    // Pending previews come newest first, so an idle preview too new for one is too new for
    // every later one: it is passed over for good.
    for (const p of pending.slice(freeDeploy)) {
      let victim = idle.next();
      while (victim && created(victim) >= created(p)) victim = idle.next();
      if (!victim) break;
      grants.undeploy.add(name(victim));
      grants.admitAfter.set(name(p), name(victim));
      admitting.push(p);
    }
  }
  for (const p of admitting) grants.admit.add(name(p));
  grants.counts.pending = pending.length - grants.admit.size;

  // Initialization slots, first queued first. Previews admitted in this pass queue behind the
  // others (oldest first) and may start at once: a slot they do not use (a build comes first,
  // nothing to initialize, or an admission that waits for an undeploy that failed) stays free.
  queued.sort((a, b) => compare(a.status?.initQueuedAt ?? '', b.status?.initQueuedAt ?? '') || byAge(a, b));
  queued.push(...admitting.sort(byAge));
  const freeInit = Math.max(0, caps.maxInitializing - initializing);
  for (const p of queued.slice(0, freeInit)) grants.initialize.add(name(p));

  // Run slots: a preview asked to run starts if there is room; otherwise the least recently
  // started running previews are stopped first, and it starts once their pods are gone.
  waiting.sort(byAge);
  const freeRun = Math.max(0, caps.maxRunning - running.size);
  for (const p of keep) grants.run.add(name(p));
  for (const p of waiting.slice(0, freeRun)) grants.run.add(name(p));
  // Everything asked to run must fit: stop the least recently started until it does.
  const victims = Math.min(keep.length, Math.max(0, keep.length + waiting.length - caps.maxRunning));
  for (const p of keep.sort(byLeastRecentlyUsed).slice(0, victims)) {
    grants.stop.add(name(p));
    grants.run.delete(name(p));
  }
  return grants;
}
