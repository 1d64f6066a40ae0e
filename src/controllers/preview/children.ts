// A preview's children as the controller's caches hold them.
import type { KubeObject } from '../../runtime/kube-client.ts';
import { PREVIEW_LABEL } from './labels.ts';
import type { PreviewObject } from './model.ts';
import { appName } from './render.ts';

const deploymentKeys = new WeakMap<PreviewObject, string>();

/**
 * The preview's Deployment, when the cached one of its name carries the preview label. Every pass
 * looks up every preview's Deployment: the key is remembered per cached preview, so that a lookup
 * neither builds nor hashes a string.
 */
export function previewDeployment(
  deployments: { getByKey(key: string): KubeObject | undefined },
  preview: PreviewObject,
): KubeObject | undefined {
  let key = deploymentKeys.get(preview);
  if (key === undefined) {
    key = `${preview.metadata.namespace}/${appName(preview)}`;
    deploymentKeys.set(preview, key);
  }
  const d = deployments.getByKey(key);
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
