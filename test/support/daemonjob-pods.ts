// A per-node pod of the DaemonJob `ns/dj` (uid `u`), as the controller creates it, in one of the
// phases the planner tells apart: for the planners' table tests.
import type { KubeObject } from '../../src/runtime/kube-client.ts';

export interface PerNodePod {
  node: string;
  phase: 'Running' | 'Succeeded' | 'Failed';
  /** The run hash its label carries. */
  hash: string;
  name?: string;
  created: string;
  finished: string;
}

export const perNodePod = ({ node, phase, hash, name, created, finished }: PerNodePod): KubeObject => ({
  metadata: {
    name: name ?? `dj-${node}-${hash}-0`,
    annotations: { 'bosun.dev/node': node },
    labels: { 'bosun.dev/template-hash': hash, 'bosun.dev/attempt': '0' },
    creationTimestamp: created,
    ownerReferences: [
      { apiVersion: 'bosun.dev/v1alpha1', kind: 'DaemonJob', name: 'dj', uid: 'u', controller: true },
    ],
    finalizers: ['bosun.dev/node-result'],
  },
  status: {
    phase,
    containerStatuses: [
      {
        name: 'c',
        restartCount: 0,
        state:
          phase === 'Running'
            ? { running: {} }
            : { terminated: { exitCode: phase === 'Failed' ? 1 : 0, reason: 'X', finishedAt: finished } },
      },
    ],
  },
});
