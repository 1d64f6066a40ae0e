// Simulated nodes: plain Node objects that kwok manages (it marks them Ready, renews their Lease
// and plays the kubelet for pods bound to them).
import { isNotFound, type KubeClient, type KubeObject, Resources } from '../runtime/kube-client.ts';
import { inParallel } from '../runtime/parallel.ts';

export const NODE_PREFIX = 'kwok-node-';
export const ZONES = ['zone-a', 'zone-b', 'zone-c'];

export function nodeManifest(index: number): KubeObject {
  const name = `${NODE_PREFIX}${index}`;
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/zone': ZONES[index % ZONES.length] as string,
        type: 'kwok',
      },
    },
    status: { allocatable: resources, capacity: resources },
  };
}

export const nodeIndex = (name: string) => Number(name.slice(NODE_PREFIX.length));

export async function listSimulatedNodes(client: KubeClient): Promise<KubeObject[]> {
  const list = await client.list(Resources.nodes, undefined, { labelSelector: 'type=kwok' });
  return list.items.sort((a, b) => nodeIndex(a.metadata.name ?? '') - nodeIndex(b.metadata.name ?? ''));
}

export const isNodeReady = (node: KubeObject) =>
  (node.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
  );

/** Creates nodes until `count` simulated nodes exist; returns the names created. */
export async function addNodes(client: KubeClient, count: number, concurrency = 32): Promise<string[]> {
  const existing = await listSimulatedNodes(client);
  const next = existing.reduce((max, n) => Math.max(max, nodeIndex(n.metadata.name ?? '') + 1), 0);
  const indexes = Array.from({ length: count }, (_, i) => next + i);
  const created: string[] = [];
  await inParallel(indexes, concurrency, async (i) => {
    const { object } = await client.createIfAbsent(Resources.nodes, nodeManifest(i));
    created.push(object.metadata.name as string);
  });
  return created.sort((a, b) => nodeIndex(a) - nodeIndex(b));
}

export async function deleteNodes(client: KubeClient, names: string[]): Promise<void> {
  await inParallel(names, 32, async (name) => {
    try {
      await client.delete(Resources.nodes, undefined, name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  });
}
