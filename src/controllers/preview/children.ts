// The objects of one kind labelled with each preview, from an informer the controller already
// holds: the purge of an undeploy asks the API server only about the kinds it does not watch.
// Grouped once per pass, on the first purge that asks, and dropped with the pass: no index is kept
// alongside the cache.
import type { KubeObject } from '../../runtime/kube-client.ts';
import { PREVIEW_LABEL } from './labels.ts';

/** A lookup by the value of the preview label over `objects()`, grouped on first use. */
export function labelledWith(objects: () => KubeObject[]): (labelValue: string) => KubeObject[] {
  let byPreview: Map<string, KubeObject[]> | undefined;
  return (labelValue) => {
    if (!byPreview) {
      byPreview = new Map();
      for (const o of objects()) {
        const value = o.metadata.labels?.[PREVIEW_LABEL];
        if (value === undefined) continue;
        const group = byPreview.get(value);
        if (group) group.push(o);
        else byPreview.set(value, [o]);
      }
    }
    return byPreview.get(labelValue) ?? [];
  };
}
