// `bosun demo`: the local cluster at work, narrated.
import { parseArgs } from 'node:util';
import { rolloutState } from '../controllers/deploymenthook/rollout.ts';
import { up } from '../dev/cluster.ts';
import { isNodeReady, listSimulatedNodes } from '../dev/nodes.ts';
import { isAlreadyExists, KubeClient, Resources } from '../runtime/kube-client.ts';
import { waitFor } from '../runtime/wait.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const NS = 'bosun-demo';

function demoDeployment(image: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'shop', namespace: NS, labels: { app: 'shop' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'shop' } },
      template: {
        metadata: { labels: { app: 'shop' }, annotations: { 'kwok.bosun.dev/ready-after': '2s' } },
        spec: { containers: [{ name: 'web', image }] },
      },
    },
  };
}

async function rollOut(client: KubeClient, image: string): Promise<string> {
  const started = Date.now();
  await client.apply(Resources.deployments, demoDeployment(image));
  const revision = await waitFor(
    async () => {
      const d = await client.get(Resources.deployments, NS, 'shop');
      const state = rolloutState(d);
      return state.phase === 'Complete'
        ? state.revision
        : { pending: state.phase === 'Progressing' ? state.message : state.message };
    },
    { what: 'the shop Deployment to roll out', timeoutMs: 120_000 },
  );
  say(`  rolled out ${image} as revision ${revision} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return revision;
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { nodes: { type: 'string', default: '3' } } });
  say(
    'Bosun demo: a local Kubernetes control plane (kube-apiserver, etcd, controller manager, scheduler; kwok nodes)',
  );
  const state = await up({ nodes: Number(values.nodes), log: (l) => say(`  ${l}`) });
  const client = KubeClient.fromKubeconfig(state.kubeconfig);
  const version = await client.request<{ gitVersion: string }>('GET', '/version');
  const nodes = await listSimulatedNodes(client);
  say(`\nServer ${version.gitVersion}; ${nodes.filter(isNodeReady).length} of ${nodes.length} nodes Ready:`);
  for (const n of nodes)
    say(`  ${n.metadata.name}  zone=${n.metadata.labels?.['topology.kubernetes.io/zone']}`);

  try {
    await client.create(Resources.namespaces, { metadata: { name: NS } });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
  say('\nA Deployment of 3 replicas whose pods take 2s to become ready:');
  const first = await rollOut(client, 'registry.example/shop:1.0');
  say('A new image is a new revision:');
  const second = await rollOut(client, 'registry.example/shop:1.1');
  const pods = await client.list(Resources.pods, NS, { labelSelector: 'app=shop' });
  say(
    `\nRevision ${first} → ${second}; pods now on: ${[...new Set(pods.items.map((p) => p.spec.nodeName))].sort().join(', ')}`,
  );
  say(
    `\nThe cluster keeps running. Try:\n  eval "$(bosun dev env)"\n  kubectl get nodes,deployments,pods -A\n  bosun dev down`,
  );
  return 0;
}
