// Maps apiVersion + kind to a REST resource through API discovery, for manifests whose kinds are
// only known at run time (a preview template's extra resources). One discovery call per group
// version, cached; an unknown group version is looked up again on the next call.
import { ApiError, type KubeClient, type ResourceRef } from './kube-client.ts';

interface Discovered {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

export class RestMapper {
  private readonly client: KubeClient;
  private readonly known = new Map<string, Promise<Discovered>>();

  constructor(client: KubeClient) {
    this.client = client;
  }

  /** The resource of `kind` in `apiVersion`; an ApiError 400 says which is unknown. */
  async resourceFor(apiVersion: string, kind: string): Promise<ResourceRef> {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    let discovery = this.known.get(apiVersion);
    if (!discovery) {
      discovery = this.client.request<Discovered>(
        'GET',
        group ? `/apis/${group}/${version}` : `/api/${version}`,
      );
      this.known.set(apiVersion, discovery);
    }
    let found: Discovered;
    try {
      found = await discovery;
    } catch (e) {
      this.known.delete(apiVersion);
      if (e instanceof ApiError && e.code === 404)
        throw new ApiError(400, 'BadRequest', `no API ${apiVersion} on this cluster (is its CRD installed?)`);
      throw e;
    }
    const resource = found.resources.find((r) => r.kind === kind && !r.name.includes('/'));
    if (!resource) {
      this.known.delete(apiVersion);
      throw new ApiError(400, 'BadRequest', `no kind ${kind} in ${apiVersion} on this cluster`);
    }
    return {
      group: group as string,
      version: version as string,
      plural: resource.name,
      namespaced: resource.namespaced,
    };
  }
}
