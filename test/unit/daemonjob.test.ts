import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { daemonJobSpec } from '../../src/api/daemonjob.ts';
import { validate } from '../../src/api/schema.ts';
import { isEligible, parallelism, tolerates } from '../../src/controllers/daemonjob/eligibility.ts';
import type { DaemonJobObject } from '../../src/controllers/daemonjob/plan.ts';
import { nodePod } from '../../src/controllers/daemonjob/pod-manifest.ts';
import { templateRejection } from '../../src/controllers/daemonjob/pod-rejection.ts';
import { ApiError, type KubeObject } from '../../src/runtime/kube-client.ts';

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
      'network-unavailable taint: not tolerated by a pod on the pod network',
      node('a', {}, [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }]),
      {},
      false,
    ],
    [
      'network-unavailable taint: tolerated by a hostNetwork pod, as a DaemonSet does',
      node('a', {}, [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }]),
      { hostNetwork: true },
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

describe('per-node pod', () => {
  const dj = (podSpec: Record<string, unknown>): DaemonJobObject => ({
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'DaemonJob',
    metadata: { name: 'dj', namespace: 'ns', uid: 'u' },
    spec: { template: { spec: { containers: [{ name: 'c', image: 'i' }], ...podSpec } } },
  });
  const start = { node: 'n1', name: 'dj-n1-abc-0', attempt: 0 };
  const tolerationKeys = (podSpec: Record<string, unknown>) =>
    (nodePod(dj(podSpec), start, 'abc').spec.tolerations as { key: string }[]).map((t) => t.key);
  const networkUnavailable = 'node.kubernetes.io/network-unavailable';

  it('a hostNetwork pod tolerates network-unavailable, as a DaemonSet pod does', () =>
    assert.ok(tolerationKeys({ hostNetwork: true }).includes(networkUnavailable)));
  it('a pod on the pod network does not', () => assert.ok(!tolerationKeys({}).includes(networkUnavailable)));
  it('keeps the template toleration instead of adding a duplicate', () =>
    assert.equal(
      tolerationKeys({
        hostNetwork: true,
        tolerations: [{ key: networkUnavailable, operator: 'Exists', effect: 'NoSchedule' }],
      }).filter((k) => k === networkUnavailable).length,
      1,
    ));

  it('is pinned to its node, owned by the DaemonJob, and holds the result finalizer', () => {
    const pod = nodePod(
      dj({ restartPolicy: 'Always' }),
      { ...start, attempt: 2, activeDeadlineSeconds: 30 },
      'abc',
    );
    assert.deepEqual(pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution, {
      nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }],
    });
    assert.equal(pod.spec.restartPolicy, 'Never');
    assert.equal(pod.spec.activeDeadlineSeconds, 30);
    assert.deepEqual(pod.metadata.finalizers, ['bosun.dev/node-result']);
    assert.equal(pod.metadata.ownerReferences?.[0]?.uid, 'u');
    assert.deepEqual(
      [pod.metadata.labels?.['bosun.dev/attempt'], pod.metadata.annotations?.['bosun.dev/node']],
      ['2', 'n1'],
    );
  });

  it('gives every container BOSUN_NODE_NAME, unless the template sets it', () => {
    const pod = nodePod(
      dj({
        initContainers: [{ name: 'init', image: 'i', env: [{ name: 'BOSUN_NODE_NAME', value: 'mine' }] }],
        containers: [{ name: 'c', image: 'i', env: [{ name: 'A', value: '1' }] }],
      }),
      start,
      'abc',
    );
    assert.deepEqual(pod.spec.containers[0].env, [
      { name: 'A', value: '1' },
      { name: 'BOSUN_NODE_NAME', value: 'n1' },
    ]);
    assert.deepEqual(pod.spec.initContainers[0].env, [{ name: 'BOSUN_NODE_NAME', value: 'mine' }]);
  });
});

describe('a per-node pod create that fails: rejected template or retried', () => {
  const podSecurity =
    'pods "dj-n1-abc123-0" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true)';
  // Each row: the error → whether it marks the template rejected (InvalidTemplate) instead of retrying.
  const cases: [string, unknown, boolean][] = [
    [
      '422 invalid',
      new ApiError(422, 'Invalid', 'Pod "x" is invalid: spec.containers[0].image: Required value'),
      true,
    ],
    ['400 bad request', new ApiError(400, 'BadRequest', 'json: cannot unmarshal string'), true],
    ['403 Pod Security admission', new ApiError(403, 'Forbidden', podSecurity), true],
    [
      '403 RBAC',
      new ApiError(403, 'Forbidden', 'pods is forbidden: User "bosun" cannot create resource "pods"'),
      false,
    ],
    ['409 conflict', new ApiError(409, 'AlreadyExists', 'pods "x" already exists'), false],
    ['500', new ApiError(500, 'InternalError', 'etcdserver: request timed out'), false],
    ['a network error', new Error('ECONNRESET'), false],
  ];
  for (const [name, error, rejected] of cases)
    it(name, () => {
      const why = templateRejection(error);
      assert.equal(why !== undefined, rejected);
      if (rejected) assert.equal(why, (error as Error).message);
    });
});
