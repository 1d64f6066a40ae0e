import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatStartingState,
  type StartingState,
  startingStateProblems,
} from '../../bench/starting-state.ts';
import { keepClusterRequested } from '../../src/dev/lifetime.ts';

describe('keepClusterRequested', () => {
  const cases: [string | undefined, boolean][] = [
    [undefined, false],
    ['', false],
    ['0', false],
    ['false', false],
    ['No', false],
    ['1', true],
    ['true', true],
    ['yes', true],
  ];
  for (const [value, keep] of cases) {
    it(`BOSUN_KEEP_CLUSTER=${value ?? '(unset)'} → ${keep ? 'keep' : 'stop'}`, () => {
      assert.equal(keepClusterRequested(value === undefined ? {} : { BOSUN_KEEP_CLUSTER: value }), keep);
    });
  }
});

describe('startingStateProblems', () => {
  const clean: StartingState = {
    cluster: 'fresh',
    nodes: 3,
    readyNodes: 3,
    extraNamespaces: [],
    objects: { Deployments: 0, Jobs: 0, Pods: 0 },
  };
  const cases: [string, Partial<StartingState>, string[]][] = [
    ['a fresh cluster is clean', {}, []],
    ['a reused empty cluster is clean', { cluster: 'reused' }, []],
    ['extra nodes from another bench', { nodes: 1003, readyNodes: 1003 }, ['1003 nodes instead of 3']],
    ['nodes not Ready', { readyNodes: 2 }, ['1 nodes not Ready']],
    [
      'objects left by an earlier run',
      { extraNamespaces: ['bench-cache'], objects: { Deployments: 5000, Jobs: 5000, Pods: 0 } },
      ['namespaces left by an earlier run: bench-cache', '5000 Deployments', '5000 Jobs'],
    ],
  ];
  for (const [name, change, problems] of cases) {
    it(name, () => assert.deepEqual(startingStateProblems({ ...clean, ...change }, 3), problems));
  }

  it('prints the same text for the same state', () => {
    assert.equal(formatStartingState(clean), formatStartingState(structuredClone(clean)));
    assert.match(formatStartingState(clean), /^Starting state \(fresh cluster\): 3 nodes \(3 Ready\)/);
  });
});
