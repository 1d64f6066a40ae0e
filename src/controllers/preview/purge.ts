// The end of an undeploy: everything labelled with the preview is deleted, then the finalizer is
// released. The first round deletes every kind by label at once (a collection delete answers with
// what it found, so no list comes first); later rounds list only the kinds that still had objects
// (pods and ReplicaSets the garbage collector has yet to remove). Jobs and Deployments come from
// the controller's caches. Which kinds are left is remembered per preview in this process only: a
// new process starts again with the first round.
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
/** What an undeploy deletes by label, besides the kinds of the template's extra resources. */
const LISTED: ResourceRef[] = [
  Resources.replicaSets,
  Resources.pods,
  core('services'),
  core('configmaps'),
  core('secrets'),
  core('persistentvolumeclaims'),
  { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', namespaced: true },
];
const CACHED = [Resources.jobs, Resources.deployments];

const sameResource = (a: ResourceRef, b: ResourceRef) => a.group === b.group && a.plural === b.plural;
const kindKey = (r: ResourceRef) => `${r.plural}.${r.group}`;

export interface PurgeDeps {
  client: KubeClient;
  mapper: RestMapper;
  templates: { get(namespace: string | undefined, name: string): KubeObject | undefined };
  jobs: { listNamespace(namespace: string): KubeObject[] };
  deployments: { listNamespace(namespace: string): KubeObject[] };
}

export class Purger {
  private readonly deps: PurgeDeps;
  /** By preview uid: the listed kinds that still had objects in the last round. */
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
    const deleteAll = (ref: ResourceRef) =>
      client.request<{ items?: KubeObject[] }>('DELETE', resourcePath(ref, namespace), {
        query: { labelSelector },
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
      });
    const cached = await Promise.all(
      [
        [Resources.jobs, this.deps.jobs],
        [Resources.deployments, this.deps.deployments],
      ].map(async ([ref, cache]) => {
        const items = labelledWith((cache as PurgeDeps['jobs']).listNamespace(namespace), value);
        if (items.some((o) => !o.metadata.deletionTimestamp)) await deleteAll(ref as ResourceRef);
        return items.length;
      }),
    );
    const previous = this.left.get(uid);
    const kinds = previous
      ? [...LISTED, ...(await this.extraKinds(preview))].filter((r) => previous.has(kindKey(r)))
      : [...LISTED, ...(await this.extraKinds(preview))];
    const left = new Set<string>();
    await Promise.all(
      kinds.map(async (ref) => {
        let items: KubeObject[];
        if (!previous) items = (await deleteAll(ref)).items ?? [];
        else {
          items = (await client.list(ref, namespace, { labelSelector, limit: 1 })).items;
          if (items.some((o) => !o.metadata.deletionTimestamp)) await deleteAll(ref);
        }
        if (items.length) left.add(kindKey(ref));
      }),
    );
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
