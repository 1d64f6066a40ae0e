// The end of an undeploy: everything labelled with the preview is deleted, then the finalizer is
// released. The first round deletes every kind by label at once (a collection delete answers with
// what it found, so no list comes first). Later rounds look again only at the kinds that still had
// objects and at the kinds their controllers create (a Job's pods, a Deployment's ReplicaSets):
// Jobs and Deployments in the controller's caches, the rest by a list. Undeploys of a namespace
// that run at the same time share their rounds: one selector `bosun.dev/preview in (a, b, …)` per
// kind, as the API server scans every object of the kind in the namespace for a label selector
// (at 10,000 previews, a burst's 80 undeploys one by one took about a quarter of its CPU).
// Everything is deleted in the background: a foreground delete would make the garbage collector
// write more than the lists it saves (measured at 10,000 previews: 20 instead of 8.5
// kube-controller-manager requests per undeploy). Which kinds are left is remembered per preview
// in this process only: a new process starts again with the first round.
import { labelValue } from '../../api/names.ts';
import { Batcher } from '../../runtime/batcher.ts';
import {
  ApiError,
  type KubeClient,
  type KubeObject,
  type ResourceRef,
  Resources,
  resourcePath,
} from '../../runtime/kube-client.ts';
import type { RestMapper } from '../../runtime/rest-mapper.ts';
import { CLEANUP_FINALIZER, PREVIEW_LABEL } from './labels.ts';
import { PREVIEWS, type PreviewObject } from './model.ts';

const core = (plural: string): ResourceRef => ({ group: '', version: 'v1', plural, namespaced: true });
const sameResource = (a: ResourceRef, b: ResourceRef) => a.group === b.group && a.plural === b.plural;
export const kindKey = (r: ResourceRef) => `${r.plural}.${r.group}`;
const uid = (p: PreviewObject) => p.metadata.uid as string;
const value = (p: PreviewObject) => labelValue(p.metadata.name as string);
/** The label selector of one preview's objects, or of several previews' at once. */
export const selector = (previews: PreviewObject[]) =>
  previews.length === 1
    ? `${PREVIEW_LABEL}=${value(previews[0] as PreviewObject)}`
    : `${PREVIEW_LABEL} in (${previews.map(value).join(',')})`;

/** What an undeploy deletes by label, besides the kinds of the template's extra resources. */
const ALL: ResourceRef[] = [
  Resources.jobs,
  Resources.deployments,
  Resources.replicaSets,
  Resources.pods,
  core('services'),
  core('configmaps'),
  core('secrets'),
  core('persistentvolumeclaims'),
  { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', namespaced: true },
];
/** Kinds whose controllers create labelled objects of other kinds (they copy the pod template's labels). */
const DEPENDENTS: Record<string, string[]> = {
  [kindKey(Resources.jobs)]: [kindKey(Resources.pods)],
  [kindKey(Resources.replicaSets)]: [kindKey(Resources.pods)],
  [kindKey(Resources.deployments)]: [kindKey(Resources.replicaSets), kindKey(Resources.pods)],
};

/** In the controller's caches: later rounds look there instead of listing. */
const CACHED = [
  { ref: Resources.jobs, cache: 'jobs' },
  { ref: Resources.deployments, cache: 'deployments' },
] as const;

/**
 * The kinds the next round looks at again: those that still had objects, and those their
 * controllers may still have been creating (a Job's pods, a Deployment's ReplicaSets).
 */
export function stillToLookAt(kinds: ResourceRef[], found: number[]): Set<string> {
  const left = new Set<string>();
  kinds.forEach((ref, i) => {
    if (!found[i]) return;
    left.add(kindKey(ref));
    for (const d of DEPENDENTS[kindKey(ref)] ?? []) left.add(d);
  });
  return left;
}

export interface PurgeDeps {
  client: KubeClient;
  /** Observes how many previews each batch purged with one selector per kind. */
  batchSize: { observe(previews: number): void };
  mapper: RestMapper;
  templates: { get(namespace: string | undefined, name: string): KubeObject | undefined };
  jobs: { listNamespace(namespace: string): KubeObject[] };
  deployments: { listNamespace(namespace: string): KubeObject[] };
}

export class Purger {
  private readonly deps: PurgeDeps;
  /** By preview uid: the kinds the next round looks at again (stillToLookAt). */
  private readonly left = new Map<string, Set<string>>();
  /**
   * Previews of a namespace that arrive while a round runs share the next one. The API server
   * deletes a collection's items one after the other (a Service's ClusterIP release alone takes
   * half a second at 10,000 Services), so a larger group is deleted as several collections at once.
   */
  private readonly rounds = new Batcher<PreviewObject, boolean>((ns, previews) => this.round(ns, previews), {
    maxBatch: 10,
    maxRound: 100,
  });

  constructor(deps: PurgeDeps) {
    this.deps = deps;
  }

  /** One round; true once nothing labelled is left and the finalizer was released. */
  purge(preview: PreviewObject): Promise<boolean> {
    return this.rounds.add(preview.metadata.namespace as string, preview);
  }

  /** One round over previews of one namespace; per preview, whether its finalizer was released. */
  private async round(
    namespace: string,
    previews: PreviewObject[],
  ): Promise<PromiseSettledResult<boolean>[]> {
    this.deps.batchSize.observe(previews.length);
    const kindsOf = new Map<PreviewObject, ResourceRef[]>();
    for (const p of previews) kindsOf.set(p, [...ALL, ...(await this.extraKinds(p))]);
    const kinds = new Map<string, ResourceRef>();
    for (const refs of kindsOf.values()) for (const r of refs) kinds.set(kindKey(r), r);
    /** By kind: how many labelled objects the round found for each preview. */
    const found = new Map<string, Map<PreviewObject, number>>();
    await Promise.all(
      [...kinds].map(async ([key, ref]) => {
        const wanting = previews.filter((p) => kindsOf.get(p)?.some((r) => kindKey(r) === key));
        found.set(key, await this.purgeKind(namespace, ref, wanting));
      }),
    );
    return Promise.allSettled(
      previews.map(async (p) => {
        const refs = kindsOf.get(p) as ResourceRef[];
        const left = stillToLookAt(
          refs,
          refs.map((r) => found.get(kindKey(r))?.get(p) ?? 0),
        );
        if (left.size) {
          this.left.set(uid(p), left);
          return false;
        }
        try {
          await this.deps.client.mergePatch(PREVIEWS, namespace, p.metadata.name as string, {
            metadata: {
              finalizers: (p.metadata.finalizers ?? []).filter((f) => f !== CLEANUP_FINALIZER),
              resourceVersion: p.metadata.resourceVersion,
            },
          });
        } catch (e) {
          // Gone already: released by an earlier round whose result the cache did not show yet.
          if (!(e instanceof ApiError && e.code === 404)) throw e;
        }
        this.left.delete(uid(p));
        return true;
      }),
    );
  }

  /** One kind for previews of one namespace: deletes what is labelled with them, counts what was there. */
  private async purgeKind(
    namespace: string,
    ref: ResourceRef,
    previews: PreviewObject[],
  ): Promise<Map<PreviewObject, number>> {
    const { client } = this.deps;
    const counts = new Map<PreviewObject, number>();
    const count = (ps: PreviewObject[], items: KubeObject[]) => {
      const byValue = new Map<string, number>();
      for (const o of items) {
        const v = o.metadata.labels?.[PREVIEW_LABEL] as string;
        byValue.set(v, (byValue.get(v) ?? 0) + 1);
      }
      for (const p of ps) counts.set(p, byValue.get(value(p)) ?? 0);
    };
    // The first round deletes every kind, the caches' too: they may not show a child just created.
    const first = previews.filter((p) => !this.left.has(uid(p)));
    if (first.length) count(first, await this.deleteAll(namespace, ref, first));
    const again = previews.filter((p) => this.left.has(uid(p)));
    const cache = CACHED.find((c) => sameResource(c.ref, ref))?.cache;
    if (cache) {
      if (!again.length) return counts;
      const wanted = new Set(again.map(value));
      const items = this.deps[cache]
        .listNamespace(namespace)
        .filter((o) => wanted.has(o.metadata.labels?.[PREVIEW_LABEL] as string));
      count(again, items);
      await Promise.all(
        items
          .filter((o) => !o.metadata.deletionTimestamp)
          .map((o) => client.delete(ref, namespace, o.metadata.name as string)),
      );
      return counts;
    }
    const look = again.filter((p) => this.left.get(uid(p))?.has(kindKey(ref)));
    if (!look.length) return counts;
    const items = (await client.list(ref, namespace, { labelSelector: selector(look) })).items;
    count(look, items);
    const live = new Set(
      items.filter((o) => !o.metadata.deletionTimestamp).map((o) => o.metadata.labels?.[PREVIEW_LABEL]),
    );
    const toDelete = look.filter((p) => live.has(value(p)));
    if (toDelete.length) await this.deleteAll(namespace, ref, toDelete);
    return counts;
  }

  /** Deletes the kind by the previews' label; answers what it found. */
  private async deleteAll(
    namespace: string,
    ref: ResourceRef,
    previews: PreviewObject[],
  ): Promise<KubeObject[]> {
    const { client } = this.deps;
    const labelSelector = selector(previews);
    try {
      const found = await client.request<{ items?: KubeObject[] }>('DELETE', resourcePath(ref, namespace), {
        query: { labelSelector },
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
      });
      return found.items ?? [];
    } catch (e) {
      // A kind without collection deletes (some aggregated APIs), or a role that grants only
      // delete: one by one.
      if (!(e instanceof ApiError && (e.code === 405 || e.code === 403))) throw e;
      const items = (await client.list(ref, namespace, { labelSelector })).items;
      for (const o of items) await client.delete(ref, namespace, o.metadata.name as string);
      return items;
    }
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
        // A cluster-scoped kind is never created (the act refuses it), and a selector on it would
        // reach other namespaces.
        if (ref.namespaced && ![...refs, ...ALL].some((x) => sameResource(x, ref))) refs.push(ref);
      } catch (e) {
        // A kind the API server does not know (its CRD was removed) has nothing left to delete.
        if (!(e instanceof ApiError && [400, 404].includes(e.code))) throw e;
      }
    }
    return refs;
  }
}
