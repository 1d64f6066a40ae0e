// A Deployment as the BeforeRollout gate must see it: from the cache, else from the API server.
// The cache lags behind a Deployment created a moment ago; reading that as "gone" would let the
// webhook pass its pods unjudged, or the controller let gated pods go before their hook ran.
import { type KubeClient, type KubeObject, Resources } from '../../runtime/kube-client.ts';

export type DeploymentLookup = (namespace: string, name: string) => Promise<KubeObject | undefined>;

/** Cache first; on a miss one LIST by name (with the opt-in label, as the cache is filtered). */
export function deploymentLookup(
  cache: { get(namespace: string, name: string): KubeObject | undefined },
  client: Pick<KubeClient, 'list'>,
  optInLabel?: string,
): DeploymentLookup {
  return async (namespace, name) =>
    cache.get(namespace, name) ??
    (
      await client.list(Resources.deployments, namespace, {
        fieldSelector: `metadata.name=${name}`,
        ...(optInLabel ? { labelSelector: optInLabel } : {}),
      })
    ).items[0];
}
