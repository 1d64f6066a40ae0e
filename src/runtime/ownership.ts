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
 * Removes `finalizer` from each object that `releasable` accepts. The patch carries the
 * resourceVersion read, so a stale snapshot fails (409) instead of dropping a newer finalizer list.
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
      await client.mergePatch(ref, o.metadata.namespace, o.metadata.name as string, {
        metadata: {
          finalizers: finalizers.filter((f) => f !== finalizer),
          resourceVersion: o.metadata.resourceVersion,
        },
      });
    } catch (e) {
      if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
    }
  }
}
