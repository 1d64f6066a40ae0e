// Installs Bosun's CRDs into a benchmark cluster.
import { crdManifest } from '../src/api/crd.ts';
import { KINDS } from '../src/api/index.ts';
import { type KubeClient, Resources } from '../src/runtime/kube-client.ts';
import { waitFor } from '../src/runtime/wait.ts';

export async function installCrdsFor(client: KubeClient): Promise<void> {
  for (const kind of KINDS) {
    const crd = crdManifest(kind);
    await client.apply(Resources.crds, crd);
    await waitFor(
      async () =>
        (await client.get(Resources.crds, undefined, crd.metadata.name)).status?.conditions?.some(
          (c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True',
        ),
      { what: `${crd.metadata.name} established` },
    );
  }
}
