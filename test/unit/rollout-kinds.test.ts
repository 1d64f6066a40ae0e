// "Rollout finished" for StatefulSets and DaemonSets as tables: kubectl rollout status's checks,
// the revision of each kind, and where Bosun is deliberately stricter (partition, OnDelete).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rolloutState } from '../../src/controllers/deploymenthook/rollout.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';

function statefulSet(
  o: { gen?: number; replicas?: number; strategy?: object; status?: Record<string, unknown> } = {},
): KubeObject {
  return {
    kind: 'StatefulSet',
    metadata: { name: 'db', generation: o.gen ?? 2 },
    spec: {
      replicas: o.replicas ?? 3,
      updateStrategy: o.strategy ?? { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
    },
    status: {
      observedGeneration: 2,
      replicas: 3,
      readyReplicas: 3,
      updatedReplicas: 3,
      currentRevision: 'db-7f9c5d8b6',
      updateRevision: 'db-7f9c5d8b6',
      ...o.status,
    },
  };
}

function daemonSet(
  o: { gen?: number; templateGeneration?: string; onDelete?: boolean; status?: Record<string, unknown> } = {},
): KubeObject {
  return {
    kind: 'DaemonSet',
    metadata: {
      name: 'agent',
      generation: o.gen ?? 4,
      annotations:
        o.templateGeneration === ''
          ? {}
          : { 'deprecated.daemonset.template.generation': o.templateGeneration ?? '3' },
    },
    spec: { updateStrategy: { type: o.onDelete ? 'OnDelete' : 'RollingUpdate' } },
    status: {
      observedGeneration: 4,
      desiredNumberScheduled: 5,
      currentNumberScheduled: 5,
      updatedNumberScheduled: 5,
      numberReady: 5,
      numberAvailable: 5,
      ...o.status,
    },
  };
}

type Case = [string, KubeObject, 'Complete' | 'Progressing', string, RegExp?];

function table(cases: Case[]) {
  for (const [name, workload, phase, revision, message] of cases)
    it(name, () => {
      const state = rolloutState(workload);
      assert.equal(state.phase, phase);
      assert.equal(state.revision, revision);
      if (message) assert.match('message' in state ? state.message : '', message);
    });
}

describe('StatefulSet rollout (kubectl rollout status, every replica at updateRevision)', () => {
  const rev = 'db-7f9c5d8b6';
  const next = 'db-5d4c8f7b9';
  table([
    ['complete: all replicas ready and updated', statefulSet(), 'Complete', rev],
    ['spec not yet observed', statefulSet({ gen: 3 }), 'Progressing', rev, /spec update to be observed/],
    [
      'never observed (observedGeneration 0)',
      statefulSet({ gen: 1, status: { observedGeneration: 0 } }),
      'Progressing',
      rev,
      /observed/,
    ],
    [
      'a pod not ready',
      statefulSet({ status: { readyReplicas: 2 } }),
      'Progressing',
      rev,
      /2 of 3 pods are ready/,
    ],
    [
      'rolling update under way',
      statefulSet({ status: { updatedReplicas: 1, updateRevision: next } }),
      'Progressing',
      next,
      /1 of 3 pods have been updated to revision db-5d4c8f7b9/,
    ],
    [
      'partitioned rollout done as far as the partition allows (kubectl: complete; Bosun waits)',
      statefulSet({
        strategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } },
        status: { updatedReplicas: 1, updateRevision: next },
      }),
      'Progressing',
      next,
      /partitioned rollout: 1 of 3 .* below ordinal 2/,
    ],
    [
      'partition lowered to 0 and every pod updated',
      statefulSet({ status: { updateRevision: next, currentRevision: next } }),
      'Complete',
      next,
    ],
    [
      'OnDelete with old pods left',
      statefulSet({ strategy: { type: 'OnDelete' }, status: { updatedReplicas: 2, updateRevision: next } }),
      'Progressing',
      next,
      /OnDelete, delete the others/,
    ],
    [
      'OnDelete once every pod was re-created',
      statefulSet({ strategy: { type: 'OnDelete' }, status: { updateRevision: next } }),
      'Complete',
      next,
    ],
    [
      'scaling down: pods above spec.replicas terminating',
      statefulSet({ replicas: 2, status: { readyReplicas: 3, updatedReplicas: 3 } }),
      'Progressing',
      rev,
      /1 pods above spec.replicas/,
    ],
    [
      'scaled to zero is complete',
      statefulSet({ replicas: 0, status: { replicas: 0, readyReplicas: 0, updatedReplicas: 0 } }),
      'Complete',
      rev,
    ],
    [
      'no update revision yet',
      statefulSet({ status: { updateRevision: undefined } }),
      'Progressing',
      '',
      /no update revision/,
    ],
  ]);
});

describe('DaemonSet rollout (kubectl rollout status; revision = template generation)', () => {
  table([
    ['complete: every scheduled pod updated and available', daemonSet(), 'Complete', '3'],
    ['spec not yet observed', daemonSet({ gen: 5 }), 'Progressing', '3', /spec update to be observed/],
    [
      'pods not yet updated',
      daemonSet({ status: { updatedNumberScheduled: 2 } }),
      'Progressing',
      '3',
      /2 of 5 pods have been updated$/,
    ],
    [
      'OnDelete: says how to go on',
      daemonSet({ onDelete: true, status: { updatedNumberScheduled: 2 } }),
      'Progressing',
      '3',
      /OnDelete: delete the old pods/,
    ],
    [
      'updated but not all available',
      daemonSet({ status: { numberAvailable: 4 } }),
      'Progressing',
      '3',
      /4 of 5 updated pods are available/,
    ],
    [
      'no node to run on is complete',
      daemonSet({
        status: { desiredNumberScheduled: 0, updatedNumberScheduled: 0, numberAvailable: 0, numberReady: 0 },
      }),
      'Complete',
      '3',
    ],
    [
      'no template generation yet',
      daemonSet({ templateGeneration: '' }),
      'Progressing',
      '',
      /no template generation/,
    ],
  ]);
});
