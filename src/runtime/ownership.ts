// Owner references and result finalizers shared by controllers that create Jobs.
import {
  ApiError,
  type KubeClient,
  type KubeObject,
  type OwnerReference,
  type ResourceRef,
} from './kube-client.ts';
import type { UnseenWrites } from './unseen-writes.ts';

/** The owner reference that makes `owner` the controller of a child (garbage collected with it). */
export function controllerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion as string,
    kind: owner.kind as string,
    name: owner.metadata.name as string,
    uid: owner.metadata.uid as string,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The children of `kind`/`name` (and, when it still exists, of its uid). */
export function ownedBy(
  children: KubeObject[],
  kind: string,
  name: string,
  owner?: KubeObject,
): KubeObject[] {
  return children.filter((c) =>
    c.metadata.ownerReferences?.some(
      (r) => r.kind === kind && r.name === name && (!owner || r.uid === owner.metadata.uid),
    ),
  );
}

/**
 * Removes `finalizer` from each object that `releasable` accepts. The patch tests that the
 * finalizer list is still the one read, so a stale snapshot cannot drop a finalizer added since;
 * unlike a patch pinned to the resourceVersion, a status change meanwhile (a kubelet's, a Job
 * controller's) does not make it fail. With `sent` (kept by `forgetDeletedReleases`), an object
 * whose release this process sent lately is left alone: a cached finalizer list that still holds
 * the finalizer is stale, and the patch's test would refuse it (422).
 */
export async function releaseFinalizer(
  client: KubeClient,
  ref: ResourceRef,
  finalizer: string,
  objects: KubeObject[],
  releasable: (o: KubeObject) => boolean,
  sent?: UnseenWrites,
): Promise<void> {
  for (const o of objects) {
    const finalizers = o.metadata.finalizers ?? [];
    const uid = o.metadata.uid as string;
    if (!finalizers.includes(finalizer) || !releasable(o) || sent?.waitMs(uid, Date.now())) continue;
    try {
      await client.jsonPatch(ref, o.metadata.namespace, o.metadata.name as string, [
        { op: 'test', path: '/metadata/uid', value: uid },
        { op: 'test', path: '/metadata/finalizers', value: finalizers },
        { op: 'replace', path: '/metadata/finalizers', value: finalizers.filter((f) => f !== finalizer) },
      ]);
      sent?.wrote(uid, Date.now());
    } catch (e) {
      // Gone, replaced by a newer object of that name (which may hold the same finalizers), or its
      // finalizers changed since the read: the next reconcile sees what is there now.
      if (!(e instanceof ApiError && (e.code === 404 || e.code === 422))) throw e;
    }
  }
}

/**
 * Forgets each release in `sent` once `cache` shows the object deleted, else after its time. Not
 * as soon as the cache shows the finalizer gone: a pass that read its snapshot before that event
 * would release again from the stale copy (measured: a third of the releases, each a 422).
 */
export function forgetDeletedReleases(
  cache: { onEvent(handler: (e: { type: string; object: KubeObject }) => void): void },
  sent: UnseenWrites,
): void {
  cache.onEvent((e) => {
    if (e.type === 'deleted') sent.settled(e.object.metadata.uid as string);
  });
}
