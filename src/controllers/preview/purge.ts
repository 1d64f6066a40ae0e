// The end of an undeploy: everything labelled with the preview is deleted, then the finalizer is
// released.
// - Jobs and Deployments come from the controller's caches and are deleted by name in the
//   foreground: each stays (with a deletionTimestamp) until the garbage collector has removed its
//   pods and ReplicaSets, so "gone from the cache" means "nothing of it left", and their delete
//   events, not polling, end the wait. No list of the namespace's pods or ReplicaSets is needed.
// - Every other kind is deleted by label with one collection delete in the first round (it
//   answers with what it found, so no list comes first); later rounds list only the kinds that
//   still had objects.
// Which kinds are left is remembered per preview in this process only: a new process starts again
// with the first round.
import { labelValue } from '../../api/names.ts';
import {
  ApiError,
  type KubeClient,
  type KubeObject,
  type ResourceRef,
  Resources,
  resourcePath,
} from '../../runtime/kube-client.ts';
import type { RestMapper } from '../../runtime/rest-mapper.ts';
import { labelledWith } from './children.ts';
import { CLEANUP_FINALIZER, PREVIEW_LABEL } from './labels.ts';
import { PREVIEWS, type PreviewObject } from './model.ts';

const core = (plural: string): ResourceRef => ({ group: '', version: 'v1', plural, namespaced: true });
const sameResource = (a: ResourceRef, b: ResourceRef) => a.group === b.group && a.plural === b.plural;
export const kindKey = (r: ResourceRef) => `${r.plural}.${r.group}`;

/** Deleted by label, besides the kinds of the template's extra resources. */
const LISTED: ResourceRef[] = [
  core('services'),
  core('configmaps'),
  core('secrets'),
  core('persistentvolumeclaims'),
  { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', namespaced: true },
];
/** In the caches; deleted by name in the foreground. Their pods and ReplicaSets go before them. */
const CACHED = [Resources.jobs, Resources.deployments];

/** The kinds the next round lists again: those that still had objects. */
export function stillToLookAt(kinds: ResourceRef[], found: number[]): Set<string> {
  return new Set(kinds.filter((_, i) => (found[i] ?? 0) > 0).map(kindKey));
}

export interface PurgeDeps {
  client: KubeClient;
  mapper: RestMapper;
  templates: { get(namespace: string | undefined, name: string): KubeObject | undefined };
  jobs: { listNamespace(namespace: string): KubeObject[] };
  deployments: { listNamespace(namespace: string): KubeObject[] };
}

export class Purger {
  private readonly deps: PurgeDeps;
  /** By preview uid: the listed kinds the next round looks at again (stillToLookAt). */
  private readonly left = new Map<string, Set<string>>();

  constructor(deps: PurgeDeps) {
    this.deps = deps;
  }

  /** One round; true once nothing labelled is left and the finalizer was released. */
  async purge(preview: PreviewObject): Promise<boolean> {
    const { client } = this.deps;
    const namespace = preview.metadata.namespace as string;
    const uid = preview.metadata.uid as string;
    const value = labelValue(preview.metadata.name as string);
    const labelSelector = `${PREVIEW_LABEL}=${value}`;
    const deleteAll = async (ref: ResourceRef) =>
      (
        await client.request<{ items?: KubeObject[] }>('DELETE', resourcePath(ref, namespace), {
          query: { labelSelector },
          body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
        })
      ).items ?? [];
    const cached = await Promise.all(
      [
        [Resources.jobs, this.deps.jobs],
        [Resources.deployments, this.deps.deployments],
      ].map(async ([ref, cache]) => {
        const items = labelledWith((cache as PurgeDeps['jobs']).listNamespace(namespace), value);
        await Promise.all(
          items
            .filter((o) => !o.metadata.deletionTimestamp)
            .map((o) =>
              client.delete(ref as ResourceRef, namespace, o.metadata.name as string, 'Foreground'),
            ),
        );
        return items.length;
      }),
    );
    const previous = this.left.get(uid);
    const kinds = [...LISTED, ...(await this.extraKinds(preview))];
    const found = await Promise.all(
      kinds.map(async (ref): Promise<number> => {
        if (!previous) return (await deleteAll(ref)).length;
        if (!previous.has(kindKey(ref))) return 0;
        const items = (await client.list(ref, namespace, { labelSelector })).items;
        if (items.some((o) => !o.metadata.deletionTimestamp)) await deleteAll(ref);
        return items.length;
      }),
    );
    const left = stillToLookAt(kinds, found);
    if (left.size || cached.some((n) => n > 0)) {
      this.left.set(uid, left);
      return false;
    }
    await client.mergePatch(PREVIEWS, namespace, preview.metadata.name as string, {
      metadata: {
        finalizers: (preview.metadata.finalizers ?? []).filter((f) => f !== CLEANUP_FINALIZER),
        resourceVersion: preview.metadata.resourceVersion,
      },
    });
    this.left.delete(uid);
    return true;
  }

  /** The preview is gone (or its purge will start over): nothing to remember. */
  forget(uid: string): void {
    this.left.delete(uid);
  }

  /** The kinds of the template's extra resources that are neither listed nor cached. */
  private async extraKinds(preview: PreviewObject): Promise<ResourceRef[]> {
    const template = preview.status?.template
      ? this.deps.templates.get(preview.metadata.namespace, preview.status.template)
      : undefined;
    const resources = ((template?.spec?.resources ?? []) as KubeObject[]).filter(
      (r) => typeof r.apiVersion === 'string' && typeof r.kind === 'string',
    );
    const refs: ResourceRef[] = [];
    for (const r of resources) {
      try {
        const ref = await this.deps.mapper.resourceFor(r.apiVersion as string, r.kind as string);
        if (![...refs, ...LISTED, ...CACHED].some((x) => sameResource(x, ref))) refs.push(ref);
      } catch (e) {
        // A kind the API server does not know (its CRD was removed) has nothing left to delete.
        if (!(e instanceof ApiError && [400, 404].includes(e.code))) throw e;
      }
    }
    return refs;
  }
}
