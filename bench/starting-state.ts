// The state a benchmark starts from: a cluster of its own with only its nodes and no workload, so
// that no figure depends on what ran before. Measured, checked and printed above the tables.
import { isNodeReady } from '../src/dev/nodes.ts';
import { isNotFound, type KubeClient, type ResourceRef, Resources } from '../src/runtime/kube-client.ts';

const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];
const bosun = (plural: string): ResourceRef => ({
  group: 'bosun.dev',
  version: 'v1alpha1',
  plural,
  namespaced: true,
});

/** What an operator or kube-controller-manager would cache; all zero on a fresh cluster. */
const WORKLOAD: [string, ResourceRef][] = [
  ['Deployments', Resources.deployments],
  ['ReplicaSets', Resources.replicaSets],
  ['DaemonSets', Resources.daemonSets],
  ['Jobs', Resources.jobs],
  ['Pods', Resources.pods],
  ['PodTemplates', Resources.podTemplates],
  ['DeploymentHooks', bosun('deploymenthooks')],
  ['DaemonJobs', bosun('daemonjobs')],
];

export interface StartingState {
  /** The bench's cluster: started for this run, or one that was running before. */
  cluster: 'fresh' | 'reused';
  nodes: number;
  readyNodes: number;
  /** Namespaces besides the system ones. */
  extraNamespaces: string[];
  objects: Record<string, number>;
}

export async function measureStartingState(
  client: KubeClient,
  cluster: StartingState['cluster'],
): Promise<StartingState> {
  const nodes = (await client.list(Resources.nodes)).items;
  const namespaces = (await client.list(Resources.namespaces)).items.map((n) => n.metadata.name as string);
  const objects: Record<string, number> = {};
  for (const [name, ref] of WORKLOAD) {
    try {
      objects[name] = (await client.list(ref)).items.length;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      objects[name] = 0; // CRD not installed yet
    }
  }
  return {
    cluster,
    nodes: nodes.length,
    readyNodes: nodes.filter(isNodeReady).length,
    extraNamespaces: namespaces.filter((n) => !SYSTEM_NAMESPACES.includes(n)).sort(),
    objects,
  };
}

/** Why a state is not a clean start for a bench that wants `wantNodes` nodes; empty when clean. */
export function startingStateProblems(state: StartingState, wantNodes: number): string[] {
  const problems: string[] = [];
  if (state.nodes !== wantNodes) problems.push(`${state.nodes} nodes instead of ${wantNodes}`);
  if (state.readyNodes !== state.nodes) problems.push(`${state.nodes - state.readyNodes} nodes not Ready`);
  if (state.extraNamespaces.length)
    problems.push(`namespaces left by an earlier run: ${state.extraNamespaces.join(', ')}`);
  for (const [kind, n] of Object.entries(state.objects)) if (n > 0) problems.push(`${n} ${kind}`);
  return problems;
}

export function formatStartingState(state: StartingState): string {
  const objects = Object.entries(state.objects)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
  return [
    `Starting state (${state.cluster} cluster): ${state.nodes} nodes (${state.readyNodes} Ready), ` +
      `${state.extraNamespaces.length} namespaces besides the system ones`,
    `objects in the cluster: ${objects}`,
  ].join('\n');
}
