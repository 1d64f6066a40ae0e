// `bosun crds`: every CustomResourceDefinition, as YAML for `kubectl apply -f -`.
import { stringify } from 'yaml';
import { crdManifest } from '../api/crd.ts';
import { KINDS } from '../api/index.ts';

export const crdsYaml = () =>
  KINDS.map((k) => `---\n${stringify(crdManifest(k), { lineWidth: 0 })}`).join('');

export async function crdsCommand(): Promise<number> {
  process.stdout.write(crdsYaml());
  return 0;
}
