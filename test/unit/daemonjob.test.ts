import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { daemonJobSpec } from '../../src/api/daemonjob.ts';
import { validate } from '../../src/api/schema.ts';
import { isEligible, parallelism, tolerates } from '../../src/controllers/daemonjob/eligibility.ts';
import { type DaemonJobObject, planDaemonJob, templateHash } from '../../src/controllers/daemonjob/plan.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';

const node = (
  name: string,
  labels: Record<string, string> = {},
  taints: object[] = [],
  ready = true,
  created = '2026-01-01T00:00:00Z',
): KubeObject => ({
  metadata: { name, labels, creationTimestamp: created },
  spec: { taints },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

describe('DaemonSet eligibility', () => {
  const cases: [string, KubeObject, Record<string, unknown>, boolean][] = [
    ['no constraints', node('a'), {}, true],
    ['nodeSelector match', node('a', { disk: 'ssd' }), { nodeSelector: { disk: 'ssd' } }, true],
    ['nodeSelector miss', node('a', { disk: 'hdd' }), { nodeSelector: { disk: 'ssd' } }, false],
    [
      'NoSchedule taint not tolerated',
      node('a', {}, [{ key: 'k', value: 'v', effect: 'NoSchedule' }]),
      {},
      false,
    ],
    ['NoExecute taint not tolerated', node('a', {}, [{ key: 'k', effect: 'NoExecute' }]), {}, false],
    [
      'PreferNoSchedule taint is no obstacle',
      node('a', {}, [{ key: 'k', effect: 'PreferNoSchedule' }]),
      {},
      true,
    ],
    [
      'tolerated by Equal',
      node('a', {}, [{ key: 'k', value: 'v', effect: 'NoSchedule' }]),
      { tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }] },
      true,
    ],
    [
      'Equal with another value',
      node('a', {}, [{ key: 'k', value: 'v', effect: 'NoSchedule' }]),
      { tolerations: [{ key: 'k', operator: 'Equal', value: 'w' }] },
      false,
    ],
    [
      'Exists without key tolerates all',
      node('a', {}, [{ key: 'k', effect: 'NoExecute' }]),
      { tolerations: [{ operator: 'Exists' }] },
      true,
    ],
    [
      'cordoned node: the DaemonSet toleration applies',
      node('a', {}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]),
      {},
      true,
    ],
    [
      'not-ready taint: the DaemonSet toleration applies',
      node('a', {}, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }]),
      {},
      true,
    ],
    [
      'not-ready NoSchedule taint: still eligible, waited for as not Ready',
      node('a', {}, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }], false),
      {},
      true,
    ],
    [
      'unreachable NoSchedule taint: still eligible',
      node('a', {}, [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }], false),
      {},
      true,
    ],
    [
      'required affinity In',
      node('a', { zone: 'z1' }),
      {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1', 'z2'] }] },
              ],
            },
          },
        },
      },
      true,
    ],
    [
      'required affinity: terms are ORed',
      node('a', { zone: 'z3' }),
      {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] },
                { matchExpressions: [{ key: 'zone', operator: 'Exists' }] },
              ],
            },
          },
        },
      },
      true,
    ],
    [
      'required affinity Gt',
      node('a', { cores: '8' }),
      {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['16'] }] }],
            },
          },
        },
      },
      false,
    ],
    [
      'matchFields on the name',
      node('b'),
      {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['b'] }] },
              ],
            },
          },
        },
      },
      false,
    ],
  ];
  for (const [name, n, spec, want] of cases) it(name, () => assert.equal(isEligible(n, spec), want));

  it('tolerates() matches effect, key and value', () => {
    assert.ok(tolerates([{ key: 'k', operator: 'Exists' }], { key: 'k', effect: 'NoSchedule' }));
    assert.ok(
      !tolerates([{ key: 'k', operator: 'Exists', effect: 'NoExecute' }], { key: 'k', effect: 'NoSchedule' }),
    );
  });
});

describe('maxParallel', () => {
  const cases: [number | string | undefined, number, number][] = [
    [undefined, 10, 10],
    [undefined, 0, 1],
    [3, 10, 3],
    ['25%', 10, 3],
    ['25%', 1, 1],
    ['100%', 7, 7],
  ];
  for (const [value, desired, want] of cases)
    it(`${value} of ${desired} nodes is ${want}`, () => assert.equal(parallelism(value, desired), want));

  const spec = (maxParallel: unknown) => ({
    template: { spec: { containers: [{ name: 'c' }] } },
    maxParallel,
  });
  for (const bad of [0, -1, '0%', '101%', 'half']) {
    it(`rejects maxParallel ${JSON.stringify(bad)}`, () =>
      assert.match(
        validate(daemonJobSpec, spec(bad), 'spec').join(),
        /maxParallel must be a positive integer or a percentage/,
      ));
  }
  it('accepts 2 and "25%"', () => {
    assert.deepEqual(validate(daemonJobSpec, spec(2)), []);
    assert.deepEqual(validate(daemonJobSpec, spec('25%')), []);
  });
});

describe('planDaemonJob', () => {
  const template = { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } };
  const dj = (spec: Record<string, unknown> = {}, status?: object): DaemonJobObject => ({
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'DaemonJob',
    metadata: { name: 'dj', namespace: 'ns', uid: 'u', generation: 1 },
    spec: { template, ...spec } as DaemonJobObject['spec'],
    ...(status ? { status } : {}),
  });
  const now = new Date('2026-06-01T00:00:00Z');
  const hash = templateHash(template);
  const job = (n: string, phase: 'Running' | 'Complete' | 'Failed', h = hash): KubeObject => ({
    metadata: {
      name: `dj-${n}`,
      annotations: { 'bosun.dev/node': n },
      labels: { 'bosun.dev/template-hash': h },
    },
    status:
      phase === 'Running'
        ? {}
        : {
            conditions: [
              {
                type: phase,
                status: 'True',
                reason: phase === 'Failed' ? 'BackoffLimitExceeded' : undefined,
              },
            ],
          },
  });
  const nodes = ['n1', 'n2', 'n3', 'n4'].map((n) => node(n));

  it('starts every eligible node when there is no limit', () => {
    const plan = planDaemonJob({ daemonJob: dj(), nodes, jobs: [], now });
    assert.deepEqual(
      plan.start.map((s) => s.node),
      ['n1', 'n2', 'n3', 'n4'],
    );
    assert.equal(plan.status.phase, 'Running');
    assert.equal(plan.status.active, 4);
  });

  it('respects maxParallel, counting Jobs of an older template that still run', () => {
    const plan = planDaemonJob({
      daemonJob: dj({ maxParallel: 2 }),
      nodes,
      jobs: [job('n1', 'Running', 'old')],
      now,
    });
    assert.deepEqual(
      plan.start.map((s) => s.node),
      ['n1'],
    );
  });

  it('records results and completes; a recorded node is never started again', () => {
    const status = {
      templateHash: hash,
      startTime: '2026-05-31T00:00:00Z',
      nodeResults: { n1: 'Succeeded', n2: 'Succeeded' },
    };
    const plan = planDaemonJob({
      daemonJob: dj({}, status),
      nodes,
      jobs: [job('n3', 'Complete'), job('n4', 'Complete')],
      now,
    });
    assert.deepEqual(plan.start, []);
    assert.equal(plan.status.phase, 'Complete');
    assert.deepEqual(plan.status.nodeResults, {
      n1: 'Succeeded',
      n2: 'Succeeded',
      n3: 'Succeeded',
      n4: 'Succeeded',
    });
    assert.ok(plan.events.some((e) => e.reason === 'Completed'));
  });

  it('FailFast starts nothing after a failure and ends Failed', () => {
    const plan = planDaemonJob({
      daemonJob: dj({ maxParallel: 1, failurePolicy: 'FailFast' }),
      nodes,
      jobs: [job('n1', 'Failed')],
      now,
    });
    assert.deepEqual(plan.start, []);
    assert.equal(plan.status.phase, 'Failed');
    assert.deepEqual(plan.status.failedNodes, [{ node: 'n1', reason: 'BackoffLimitExceeded' }]);
  });

  it('does not start a node that is not Ready, and reports it', () => {
    const plan = planDaemonJob({
      daemonJob: dj(),
      nodes: [node('n1'), node('n2', {}, [], false)],
      jobs: [],
      now,
    });
    assert.deepEqual(
      plan.start.map((s) => s.node),
      ['n1'],
    );
    assert.deepEqual(plan.status.notReady, ['n2']);
  });

  it('deletes the Job of a node that is gone and does not wait for it', () => {
    const status = {
      templateHash: hash,
      startTime: '2026-05-31T00:00:00Z',
      nodeResults: { n1: 'Succeeded' },
    };
    const plan = planDaemonJob({
      daemonJob: dj({}, status),
      nodes: [node('n1')],
      jobs: [job('gone', 'Running')],
      now,
    });
    assert.deepEqual(plan.remove, ['dj-gone']);
    assert.equal(plan.status.phase, 'Complete');
    assert.equal(plan.status.failedNodes?.[0]?.reason, 'NodeDeleted');
  });

  it('a template change starts a new run that forgets the old results', () => {
    const status = {
      templateHash: 'old',
      startTime: '2026-05-31T00:00:00Z',
      nodeResults: { n1: 'Succeeded' },
      phase: 'Complete',
    };
    const plan = planDaemonJob({ daemonJob: dj({}, status), nodes: [node('n1')], jobs: [], now });
    assert.deepEqual(
      plan.start.map((s) => s.node),
      ['n1'],
    );
    assert.equal(plan.status.templateHash, hash);
  });

  it('newNodes: Ignore leaves out nodes created after the run started', () => {
    const status = { templateHash: hash, startTime: '2026-05-31T00:00:00Z' };
    const plan = planDaemonJob({
      daemonJob: dj({ newNodes: 'Ignore' }, status),
      nodes: [node('old'), node('new', {}, [], true, '2026-05-31T12:00:00Z')],
      jobs: [],
      now,
    });
    assert.deepEqual(
      plan.start.map((s) => s.node),
      ['old'],
    );
    assert.equal(plan.status.desired, 1);
  });

  it('keeps the status small: about 30 bytes per node at 5,000 nodes', () => {
    const many = Array.from({ length: 5000 }, (_, i) => node(`node-${String(i).padStart(5, '0')}`));
    const results = Object.fromEntries(many.map((n) => [n.metadata.name, 'Succeeded']));
    const plan = planDaemonJob({
      daemonJob: dj({}, { templateHash: hash, startTime: '2026-05-31T00:00:00Z', nodeResults: results }),
      nodes: many,
      jobs: [],
      now,
    });
    const bytes = JSON.stringify(plan.status).length;
    assert.ok(bytes < 5000 * 32, `${bytes} bytes`);
  });
});
