// A preview's children as the controller's caches hold them.
import type { KubeObject } from '../../runtime/kube-client.ts';
import { PREVIEW_LABEL } from './labels.ts';
import type { PreviewObject } from './model.ts';
import { appName } from './render.ts';

/** The preview's Deployment, when the cached one of its name carries the preview label. */
export function previewDeployment(
  deployments: { get(namespace: string | undefined, name: string): KubeObject | undefined },
  preview: PreviewObject,
): KubeObject | undefined {
  const d = deployments.get(preview.metadata.namespace, appName(preview));
  return d?.metadata.labels?.[PREVIEW_LABEL] === undefined ? undefined : d;
}

/** The preview a child belongs to, by its owner reference, if the cache holds it. */
export function ownerPreview(
  previews: { get(namespace: string | undefined, name: string): PreviewObject | undefined },
  child: KubeObject,
): PreviewObject | undefined {
  const ref = child.metadata.ownerReferences?.find((r) => r.kind === 'Preview');
  return ref && previews.get(child.metadata.namespace, ref.name);
}
