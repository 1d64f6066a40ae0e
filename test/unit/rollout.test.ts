import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rolloutState } from '../../src/controllers/deploymenthook/rollout.ts';

const deployment = (o: {
  gen?: number;
  observed?: number;
  replicas?: number;
  status?: object;
  revision?: string;
  conditions?: object[];
}) => ({
  metadata: {
    name: 'd',
    generation: o.gen ?? 2,
    annotations:
      o.revision === undefined
        ? { 'deployment.kubernetes.io/revision': '3' }
        : { 'deployment.kubernetes.io/revision': o.revision },
  },
  spec: { replicas: o.replicas ?? 2 },
  status: {
    observedGeneration: o.observed ?? 2,
    replicas: 2,
    updatedReplicas: 2,
    availableReplicas: 2,
    conditions: o.conditions ?? [],
    ...o.status,
  },
});

describe('rolloutState (kubectl rollout status semantics)', () => {
  const cases: [string, ReturnType<typeof deployment>, string, RegExp?][] = [
    ['complete', deployment({}), 'Complete'],
    ['spec not yet observed', deployment({ gen: 3 }), 'Progressing', /observed/],
    [
      'updated below desired',
      deployment({ status: { updatedReplicas: 1 } }),
      'Progressing',
      /1 of 2 new replicas/,
    ],
    ['old replicas left', deployment({ status: { replicas: 3 } }), 'Progressing', /1 old replicas/],
    [
      'not all available',
      deployment({ status: { availableReplicas: 1 } }),
      'Progressing',
      /1 of 2 updated replicas are available/,
    ],
    [
      'progress deadline exceeded',
      deployment({
        status: { updatedReplicas: 1 },
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "d-1" has timed out progressing.',
          },
        ],
      }),
      'Failed',
      /progress deadline.*timed out/,
    ],
    [
      'scaled to zero is complete',
      deployment({ replicas: 0, status: { replicas: 0, updatedReplicas: 0, availableReplicas: 0 } }),
      'Complete',
    ],
    ['no revision yet', deployment({ revision: '' }), 'Progressing', /no revision/],
  ];
  for (const [name, d, phase, message] of cases) {
    it(name, () => {
      const state = rolloutState(d);
      assert.equal(state.phase, phase);
      if (message) assert.match('message' in state ? state.message : '', message);
      if (phase === 'Complete')
        assert.equal(state.revision, d.metadata.annotations['deployment.kubernetes.io/revision']);
    });
  }
});
