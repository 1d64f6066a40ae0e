// BeforeRollout hooks, as pure decisions: which new pods the admission webhook holds behind the
// scheduling gate, and what the controller does with a gated pod (let it go, have it re-created,
// or wait). Both read only the hooks' recorded results, so a restarted operator decides the same.
import type { KubeObject } from '../../runtime/kube-client.ts';
import type { HookObject } from './plan.ts';
import { REVISION_ANNOTATION } from './rollout.ts';
import { selects } from './workloads.ts';

/** The scheduling gate; also the label (value: the revision) that marks a pod Bosun gated. */
export const GATE = 'bosun.dev/before-rollout';
/** The BeforeRollout hooks that must succeed before the gated pod may be scheduled, comma-separated. */
export const GATE_HOOKS_ANNOTATION = 'bosun.dev/before-rollout-hooks';
const TEMPLATE_HASH = 'pod-template-hash';
const HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';

export const isBeforeRollout = (h: HookObject) =>
  h.spec.when === 'BeforeRollout' && !h.metadata.deletionTimestamp;

/** The ReplicaSet a pod belongs to, and its Deployment's name (the ReplicaSet is `<deployment>-<hash>`). */
export function podOwner(pod: KubeObject): { replicaSet: string; deployment: string } | undefined {
  const hash = pod.metadata.labels?.[TEMPLATE_HASH];
  const rs = pod.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'ReplicaSet');
  if (!hash || !rs?.name.endsWith(`-${hash}`)) return undefined;
  return { replicaSet: rs.name, deployment: rs.name.slice(0, -hash.length - 1) };
}

const entryOf = (hook: HookObject, deployment: KubeObject) =>
  hook.status?.deployments?.find(
    (e) =>
      (e.kind ?? 'Deployment') === 'Deployment' &&
      e.name === deployment.metadata.name &&
      (!e.uid || e.uid === deployment.metadata.uid),
  );

/** Whether the hook recorded a succeeded run for the Deployment at one of these revisions. */
export function passed(hook: HookObject, deployment: KubeObject, revisions: string[]): boolean {
  const entry = entryOf(hook, deployment);
  if (!entry) return false;
  const ok = [
    entry.lastSucceededRevision,
    entry.lastRun?.phase === 'Succeeded' ? entry.lastRun.revision : undefined,
  ];
  return revisions.some((r) => ok.includes(r));
}

export const revisionOf = (o: KubeObject) => o.metadata.annotations?.[REVISION_ANNOTATION] ?? '';
/** The BeforeRollout hooks a gated pod waits for, as the webhook wrote them. */
export const gateHooksOf = (pod: KubeObject) =>
  (pod.metadata.annotations?.[GATE_HOOKS_ANNOTATION] ?? '').split(',').filter(Boolean);
const olderThan = (a: string, b: string) => Number(a) < Number(b);
const at = (t: string | undefined) => (t ? Date.parse(t) : 0);

export type GateDecision = { gate: false; why: string } | { gate: true; revision: string; hooks: string[] };

/**
 * A new pod of `replicaSet` (owned by `deployment`) is gated for every BeforeRollout hook that
 * selects the Deployment, unless its template is the one the hook found (also after a `kubectl
 * rollout undo` to it) or the hook passed for it (its revision or one it had before a rollback).
 * An older revision gets no exemption: a template whose hook never passed never runs.
 */
export function gatePod(input: {
  replicaSet: KubeObject;
  deployment: KubeObject;
  hooks: HookObject[];
}): GateDecision {
  const { replicaSet: rs, deployment } = input;
  const owner = rs.metadata.ownerReferences?.find((r) => r.controller);
  if (owner?.kind !== 'Deployment' || owner.uid !== deployment.metadata.uid)
    return { gate: false, why: 'the ReplicaSet is not controlled by this Deployment' };
  const revision = revisionOf(rs);
  const revisions = [revision, ...(rs.metadata.annotations?.[HISTORY_ANNOTATION]?.split(',') ?? [])];
  // The revision the hook found (and an undo to it) is never gated. Before the hook recorded it,
  // the ReplicaSet's age decides (whole seconds: one from the hook's second counts as found).
  const found = (h: HookObject) => {
    const baseline = entryOf(h, deployment)?.baselineRevision;
    return baseline !== undefined
      ? revisions.some((r) => !olderThan(baseline, r))
      : at(rs.metadata.creationTimestamp) <= at(h.metadata.creationTimestamp);
  };
  const hooks = input.hooks
    .filter(isBeforeRollout)
    .filter((h) => selects(h.spec, deployment))
    .filter((h) => !found(h))
    .filter((h) => !passed(h, deployment, revisions))
    .map((h) => h.metadata.name as string)
    .sort();
  return hooks.length
    ? { gate: true, revision, hooks }
    : { gate: false, why: 'no BeforeRollout hook waits for this revision' };
}

export type GateAction = 'ungate' | 'wait';

/**
 * A gated pod goes once each hook it waits for passed its revision (a hook deleted, switched to
 * AfterRollout or no longer selecting the Deployment waits for nothing). A pod of a revision the
 * Deployment has left keeps waiting until its ReplicaSet is scaled away.
 */
export function gateAction(
  pod: KubeObject,
  deployment: KubeObject | undefined,
  hooks: HookObject[],
): GateAction {
  const revision = pod.metadata.labels?.[GATE] ?? '';
  if (!deployment) return 'ungate';
  const waitsFor = gateHooksOf(pod);
  const blocking = waitsFor
    .map((name) => hooks.find((h) => h.metadata.name === name))
    .filter((h): h is HookObject => !!h && isBeforeRollout(h))
    .filter((h) => selects(h.spec, deployment))
    .filter((h) => !passed(h, deployment, [revision]));
  return blocking.length ? 'wait' : 'ungate';
}

/**
 * A revision newer than the one the hook found that has no gated pod and no passed run: the
 * webhook may never have seen its pods (a hook created before the webhook configuration covered
 * its namespace, or a `helm upgrade` that reset it). Whether the gate would have held them, its
 * ReplicaSet tells (`gatePod`); the controller reads that ReplicaSet only for such revisions.
 */
export function mayHaveEscaped(
  hook: HookObject,
  deployment: KubeObject,
  revision: string,
  gated: Set<string>,
): boolean {
  const baseline = entryOf(hook, deployment)?.baselineRevision;
  return (
    isBeforeRollout(hook) &&
    baseline !== undefined &&
    olderThan(baseline, revision) &&
    !gated.has(revision) &&
    !passed(hook, deployment, [revision])
  );
}

/** Gated pods of one Deployment at one revision: the revisions a BeforeRollout hook must run for. */
export function gatedRevisions(pods: KubeObject[], deployment: string, hook: string): Set<string> {
  return new Set(
    pods
      .filter((p) => podOwner(p)?.deployment === deployment)
      .filter((p) => gateHooksOf(p).includes(hook))
      .map((p) => p.metadata.labels?.[GATE] ?? ''),
  );
}

/** The JSON patch that gates a pod at admission. */
export function gatePatch(pod: KubeObject, decision: { revision: string; hooks: string[] }): object[] {
  const esc = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');
  const gate = { name: GATE };
  return [
    pod.spec?.schedulingGates
      ? { op: 'add', path: '/spec/schedulingGates/-', value: gate }
      : { op: 'add', path: '/spec/schedulingGates', value: [gate] },
    ...(pod.metadata.labels ? [] : [{ op: 'add', path: '/metadata/labels', value: {} }]),
    { op: 'add', path: `/metadata/labels/${esc(GATE)}`, value: decision.revision },
    ...(pod.metadata.annotations ? [] : [{ op: 'add', path: '/metadata/annotations', value: {} }]),
    {
      op: 'add',
      path: `/metadata/annotations/${esc(GATE_HOOKS_ANNOTATION)}`,
      value: decision.hooks.join(','),
    },
  ];
}

/** The strategic merge patch that lets a gated pod be scheduled (other gates stay). */
export const ungatePatch = {
  metadata: { labels: { [GATE]: null }, annotations: { [GATE_HOOKS_ANNOTATION]: null } },
  spec: { schedulingGates: [{ $patch: 'delete', name: GATE }] },
};

/**
 * The revision a BeforeRollout hook found, recorded once per Deployment entry: its current one,
 * 0 for a Deployment created after the hook, or just below the oldest revision already gated.
 */
export function baselineRevision(
  hook: HookObject,
  deployment: KubeObject,
  current: string,
  gated: Set<string>,
): string {
  if (gated.size) return String(Math.min(...[...gated].map(Number)) - 1);
  return at(deployment.metadata.creationTimestamp) > at(hook.metadata.creationTimestamp) ? '0' : current;
}
