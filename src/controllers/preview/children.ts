// The objects of one kind labelled with each preview, from an informer the controller already
// holds: the purge of an undeploy asks the API server only about the kinds it does not watch.
import type { KubeObject } from '../../runtime/kube-client.ts';
import type { Informer } from '../../runtime/manager.ts';
import { objectKey } from '../../runtime/watch-cache.ts';
import { PREVIEW_LABEL } from './labels.ts';

const indexKey = (o: KubeObject) => {
  const value = o.metadata.labels?.[PREVIEW_LABEL];
  return value === undefined ? undefined : `${o.metadata.namespace}/${value}`;
};

export class PreviewChildren {
  private readonly byPreview = new Map<string, Set<string>>();
  private readonly informer: Informer;

  constructor(informer: Informer) {
    this.informer = informer;
    informer.onEvent((e) => {
      if (e.type !== 'added') this.remove(e.type === 'updated' ? e.old : e.object);
      if (e.type !== 'deleted') this.add(e.object);
    });
  }

  /** The cached objects labelled `bosun.dev/preview=<labelValue>` in the namespace. */
  of(namespace: string, labelValue: string): KubeObject[] {
    const keys = this.byPreview.get(`${namespace}/${labelValue}`) ?? [];
    return [...keys].flatMap((k) => {
      const [ns, name] = k.split('/') as [string, string];
      const o = this.informer.get(ns, name);
      return o ? [o] : [];
    });
  }

  private add(o: KubeObject): void {
    const key = indexKey(o);
    if (key === undefined) return;
    const keys = this.byPreview.get(key) ?? new Set<string>();
    this.byPreview.set(key, keys);
    keys.add(objectKey(o));
  }

  private remove(o: KubeObject): void {
    const key = indexKey(o);
    const keys = key === undefined ? undefined : this.byPreview.get(key);
    if (!keys || key === undefined) return;
    keys.delete(objectKey(o));
    if (keys.size === 0) this.byPreview.delete(key);
  }
}
