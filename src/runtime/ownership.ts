// Owner references and result finalizers shared by controllers that create Jobs.
import {
  ApiError,
  type KubeClient,
  type KubeObject,
  type OwnerReference,
  type ResourceRef,
} from './kube-client.ts';

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
 * controller's) does not make it fail.
 */
export async function releaseFinalizer(
  client: KubeClient,
  ref: ResourceRef,
  finalizer: string,
  objects: KubeObject[],
  releasable: (o: KubeObject) => boolean,
): Promise<void> {
  for (const o of objects) {
    const finalizers = o.metadata.finalizers ?? [];
    if (!finalizers.includes(finalizer) || !releasable(o)) continue;
    try {
      await client.jsonPatch(ref, o.metadata.namespace, o.metadata.name as string, [
        { op: 'test', path: '/metadata/finalizers', value: finalizers },
        { op: 'replace', path: '/metadata/finalizers', value: finalizers.filter((f) => f !== finalizer) },
      ]);
    } catch (e) {
      // Gone, or its finalizers changed since the read: the next reconcile sees the new list.
      if (!(e instanceof ApiError && (e.code === 404 || e.code === 422))) throw e;
    }
  }
}
