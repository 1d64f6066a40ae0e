// BeforeRollout gate decisions as tables: which new pods are gated, what happens to a gated pod.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  baselineRevision,
  GATE,
  GATE_HOOKS_ANNOTATION,
  gateAction,
  gatedRevisions,
  gatePatch,
  gatePod,
  podOwner,
} from '../../src/controllers/deploymenthook/gate.ts';
import { type HookObject, planHook } from '../../src/controllers/deploymenthook/plan.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';
import { reviewPod } from '../../src/server/admission/review.ts';

const T0 = '2026-11-23T10:00:00Z';
const LATER = '2026-11-23T10:05:00Z';
const EARLIER = '2026-11-23T09:00:00Z';

const deployment = (revision = '2', labels: Record<string, string> = { app: 'web' }): KubeObject => ({
  metadata: {
    name: 'web',
    namespace: 'ns',
    uid: 'd-uid',
    labels,
    annotations: { 'deployment.kubernetes.io/revision': revision },
  },
});

const replicaSet = (
  o: { revision?: string; created?: string; history?: string; owner?: string } = {},
): KubeObject => ({
  metadata: {
    name: 'web-abc12',
    namespace: 'ns',
    creationTimestamp: o.created ?? LATER,
    annotations: {
      'deployment.kubernetes.io/revision': o.revision ?? '2',
      ...(o.history ? { 'deployment.kubernetes.io/revision-history': o.history } : {}),
    },
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: o.owner ?? 'd-uid', controller: true },
    ],
  },
});

type Run = { revision: string; phase: 'Running' | 'Succeeded' | 'Failed'; jobName: string };
const hookObject = (
  o: {
    name?: string;
    when?: 'BeforeRollout' | 'AfterRollout';
    created?: string;
    lastRun?: Run;
    lastSucceededRevision?: string;
    selector?: Record<string, string>;
    deleting?: boolean;
    baseline?: string;
    spec?: Partial<HookObject['spec']>;
  } = {},
): HookObject => ({
  metadata: {
    name: o.name ?? 'migrate',
    namespace: 'ns',
    creationTimestamp: o.created ?? T0,
    ...(o.deleting ? { deletionTimestamp: LATER } : {}),
  },
  spec: {
    selector: { matchLabels: o.selector ?? { app: 'web' } },
    template: { name: 't' },
    ...(o.when !== 'AfterRollout' ? { when: o.when ?? 'BeforeRollout' } : {}),
    ...o.spec,
  },
  status: {
    deployments: [
      {
        name: 'web',
        uid: 'd-uid',
        revision: '2',
        rollout: 'Progressing',
        ...(o.lastRun ? { lastRun: o.lastRun } : {}),
        ...(o.lastSucceededRevision ? { lastSucceededRevision: o.lastSucceededRevision } : {}),
        ...(o.baseline ? { baselineRevision: o.baseline } : {}),
      },
    ],
  },
});

const ok = (revision: string): Run => ({ revision, phase: 'Succeeded', jobName: `j${revision}` });
const failed = (revision: string): Run => ({ revision, phase: 'Failed', jobName: `j${revision}` });

describe('gatePod: which new pods are held', () => {
  const cases: [string, Parameters<typeof gatePod>[0], string[] | RegExp][] = [
    [
      'a new revision, hook not run yet',
      { replicaSet: replicaSet(), deployment: deployment(), hooks: [hookObject()] },
      ['migrate'],
    ],
    [
      'the same second as the hook counts as found (it may be older)',
      { replicaSet: replicaSet({ created: T0 }), deployment: deployment(), hooks: [hookObject()] },
      /no BeforeRollout hook waits/,
    ],
    [
      "DocBot's selector.labels picks the Deployment by its labels",
      {
        replicaSet: replicaSet(),
        deployment: deployment('2', { app: 'web' }),
        hooks: [hookObject({ spec: { selector: { labels: { app: 'web' } } } })],
      },
      ['migrate'],
    ],
    [
      'selector.labels that the Deployment lacks: not gated',
      {
        replicaSet: replicaSet(),
        deployment: deployment('2', { app: 'other' }),
        hooks: [hookObject({ spec: { selector: { labels: { app: 'web' } } } })],
      },
      /no BeforeRollout hook waits/,
    ],
    [
      'a hook for StatefulSets only does not gate a Deployment',
      {
        replicaSet: replicaSet(),
        deployment: deployment(),
        hooks: [hookObject({ spec: { kinds: ['StatefulSet'] } })],
      },
      /no BeforeRollout hook waits/,
    ],
    [
      'the ReplicaSet existed before the hook (the revision it found, or an undo to it)',
      {
        replicaSet: replicaSet({ created: EARLIER, revision: '3' }),
        deployment: deployment('3'),
        hooks: [hookObject()],
      },
      /no BeforeRollout hook waits/,
    ],
    [
      'recorded baseline 1: revision 2 from the hook’s own second is gated',
      {
        replicaSet: replicaSet({ created: T0 }),
        deployment: deployment(),
        hooks: [hookObject({ baseline: '1' })],
      },
      ['migrate'],
    ],
    [
      'recorded baseline 1: an undo to it (revision 3, history 1) is not gated, even if its ReplicaSet is newer',
      {
        replicaSet: replicaSet({ revision: '3', history: '1' }),
        deployment: deployment('3'),
        hooks: [hookObject({ baseline: '1', lastRun: failed('2') })],
      },
      /no BeforeRollout hook waits/,
    ],
    [
      'recorded baseline 0 (Deployment created after the hook): its first revision is gated',
      {
        replicaSet: replicaSet({ revision: '1' }),
        deployment: deployment('1'),
        hooks: [hookObject({ baseline: '0' })],
      },
      ['migrate'],
    ],
    [
      'an older revision that passed keeps serving while the next one waits',
      {
        replicaSet: replicaSet({ revision: '1' }),
        deployment: deployment('2'),
        hooks: [hookObject({ lastSucceededRevision: '1', lastRun: { ...ok('2'), phase: 'Running' } })],
      },
      /no BeforeRollout hook waits/,
    ],
    [
      'an older revision that never passed gets no exemption',
      {
        replicaSet: replicaSet({ revision: '2' }),
        deployment: deployment('3'),
        hooks: [hookObject({ lastRun: failed('2') })],
      },
      ['migrate'],
    ],
    [
      'a stale Deployment in the cache (revision 1) does not let revision 2 through',
      { replicaSet: replicaSet({ revision: '2' }), deployment: deployment('1'), hooks: [hookObject()] },
      ['migrate'],
    ],
    [
      'the hook passed this revision',
      { replicaSet: replicaSet(), deployment: deployment(), hooks: [hookObject({ lastRun: ok('2') })] },
      /no BeforeRollout hook waits/,
    ],
    [
      'a failed run keeps gating',
      { replicaSet: replicaSet(), deployment: deployment(), hooks: [hookObject({ lastRun: failed('2') })] },
      ['migrate'],
    ],
    [
      'an undo to a template that passed before (revision-history)',
      {
        replicaSet: replicaSet({ revision: '4', history: '2' }),
        deployment: deployment('4'),
        hooks: [hookObject({ lastRun: failed('3'), lastSucceededRevision: '2' })],
      },
      /no BeforeRollout hook waits/,
    ],
    [
      'AfterRollout hooks never gate',
      { replicaSet: replicaSet(), deployment: deployment(), hooks: [hookObject({ when: 'AfterRollout' })] },
      /no BeforeRollout hook waits/,
    ],
    [
      'a hook being deleted never gates',
      { replicaSet: replicaSet(), deployment: deployment(), hooks: [hookObject({ deleting: true })] },
      /no BeforeRollout hook waits/,
    ],
    [
      'a hook selecting other Deployments',
      {
        replicaSet: replicaSet(),
        deployment: deployment(),
        hooks: [hookObject({ selector: { app: 'api' } })],
      },
      /no BeforeRollout hook waits/,
    ],
    [
      'two hooks, one passed: the other holds it',
      {
        replicaSet: replicaSet(),
        deployment: deployment(),
        hooks: [hookObject({ name: 'seed' }), hookObject({ name: 'migrate', lastRun: ok('2') })],
      },
      ['seed'],
    ],
    [
      'two hooks pending, listed sorted',
      {
        replicaSet: replicaSet(),
        deployment: deployment(),
        hooks: [hookObject({ name: 'z' }), hookObject({ name: 'a' })],
      },
      ['a', 'z'],
    ],
    [
      'a ReplicaSet of another Deployment of the same name (re-created)',
      { replicaSet: replicaSet({ owner: 'old-uid' }), deployment: deployment(), hooks: [hookObject()] },
      /not controlled by this Deployment/,
    ],
  ];
  for (const [name, input, want] of cases)
    it(name, () => {
      const d = gatePod(input);
      if (Array.isArray(want)) {
        assert.equal(d.gate, true, JSON.stringify(d));
        assert.deepEqual(d.gate && d.hooks, want);
        assert.equal(
          d.gate && d.revision,
          input.replicaSet.metadata.annotations?.['deployment.kubernetes.io/revision'],
        );
      } else {
        assert.equal(d.gate, false);
        assert.match(d.gate ? '' : d.why, want);
      }
    });
});

const gatedPod = (revision: string, hooks: string): KubeObject => ({
  metadata: {
    name: 'web-abc12-x',
    namespace: 'ns',
    uid: 'p',
    labels: { 'pod-template-hash': 'abc12', [GATE]: revision },
    annotations: { [GATE_HOOKS_ANNOTATION]: hooks },
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc12', uid: 'rs', controller: true },
    ],
  },
  spec: { schedulingGates: [{ name: GATE }] },
});

describe('gateAction: what becomes of a gated pod', () => {
  const cases: [string, KubeObject, KubeObject | undefined, HookObject[], string][] = [
    [
      'the hook is still running',
      gatedPod('2', 'migrate'),
      deployment('2'),
      [hookObject({ lastRun: { ...ok('2'), phase: 'Running' } })],
      'wait',
    ],
    [
      'the hook succeeded',
      gatedPod('2', 'migrate'),
      deployment('2'),
      [hookObject({ lastRun: ok('2') })],
      'ungate',
    ],
    [
      'the hook failed',
      gatedPod('2', 'migrate'),
      deployment('2'),
      [hookObject({ lastRun: failed('2') })],
      'wait',
    ],
    [
      'a newer revision passed, not this one',
      gatedPod('2', 'migrate'),
      deployment('2'),
      [hookObject({ lastRun: ok('3') })],
      'wait',
    ],
    [
      'one of two hooks passed',
      gatedPod('2', 'migrate,seed'),
      deployment('2'),
      [hookObject({ lastRun: ok('2') }), hookObject({ name: 'seed' })],
      'wait',
    ],
    [
      'both hooks passed',
      gatedPod('2', 'migrate,seed'),
      deployment('2'),
      [hookObject({ lastRun: ok('2') }), hookObject({ name: 'seed', lastSucceededRevision: '2' })],
      'ungate',
    ],
    ['the hook was deleted', gatedPod('2', 'migrate'), deployment('2'), [], 'ungate'],
    [
      'the hook is being deleted',
      gatedPod('2', 'migrate'),
      deployment('2'),
      [hookObject({ deleting: true })],
      'ungate',
    ],
    [
      'the hook became AfterRollout',
      gatedPod('2', 'migrate'),
      deployment('2'),
      [hookObject({ when: 'AfterRollout' })],
      'ungate',
    ],
    [
      'the hook no longer selects the Deployment',
      gatedPod('2', 'migrate'),
      deployment('2', { app: 'other' }),
      [hookObject()],
      'ungate',
    ],
    [
      'selector.labels no longer match the Deployment',
      gatedPod('2', 'migrate'),
      deployment('2', { app: 'other' }),
      [hookObject({ spec: { selector: { labels: { app: 'web' } } } })],
      'ungate',
    ],
    [
      'selector.labels still match: waits for the hook',
      gatedPod('2', 'migrate'),
      deployment('2'),
      [hookObject({ spec: { selector: { labels: { app: 'web' } } } })],
      'wait',
    ],
    ['the Deployment is gone', gatedPod('2', 'migrate'), undefined, [hookObject()], 'ungate'],
    [
      'the Deployment moved on to revision 3: waits until its ReplicaSet is scaled away',
      gatedPod('2', 'migrate'),
      deployment('3'),
      [hookObject({ lastRun: failed('2') })],
      'wait',
    ],
  ];
  for (const [name, pod, d, hooks, want] of cases)
    it(name, () => assert.equal(gateAction(pod, d, hooks), want));
});

describe('gate helpers', () => {
  it('podOwner strips the pod-template-hash from the ReplicaSet name', () => {
    assert.deepEqual(podOwner(gatedPod('2', 'm')), { replicaSet: 'web-abc12', deployment: 'web' });
    const bare = { metadata: { name: 'p', labels: { 'pod-template-hash': 'abc12' } } };
    assert.equal(podOwner(bare), undefined);
  });

  it('gatedRevisions: the revisions a hook must run for, per Deployment', () => {
    const pods = [gatedPod('2', 'migrate'), gatedPod('3', 'seed,migrate'), gatedPod('4', 'seed')];
    assert.deepEqual([...gatedRevisions(pods, 'web', 'migrate')].sort(), ['2', '3']);
    assert.deepEqual([...gatedRevisions(pods, 'api', 'migrate')], []);
  });

  it('gatePatch adds the gate beside existing ones, the label and the annotation', () => {
    const pod: KubeObject = {
      metadata: { name: 'p', labels: { a: 'b' } },
      spec: { schedulingGates: [{ name: 'other/gate' }] },
    };
    assert.deepEqual(gatePatch(pod, { revision: '2', hooks: ['a', 'b'] }), [
      { op: 'add', path: '/spec/schedulingGates/-', value: { name: GATE } },
      { op: 'add', path: '/metadata/labels/bosun.dev~1before-rollout', value: '2' },
      { op: 'add', path: '/metadata/annotations', value: {} },
      { op: 'add', path: '/metadata/annotations/bosun.dev~1before-rollout-hooks', value: 'a,b' },
    ]);
  });
});

describe('reviewPod: an AdmissionReview of a new pod', () => {
  const pod: KubeObject = {
    metadata: {
      generateName: 'web-abc12-',
      labels: { 'pod-template-hash': 'abc12' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc12', uid: 'rs', controller: true },
      ],
    },
    spec: {},
  };
  const lookups = (hooks: HookObject[], reads: string[], synced = true) => ({
    synced: () => synced,
    hooks: () => hooks,
    deployment: async () => {
      reads.push('deployment');
      return deployment();
    },
    replicaSet: async () => {
      reads.push('replicaset');
      return replicaSet();
    },
  });

  it('gates with a JSON patch', async () => {
    const reads: string[] = [];
    const out = await reviewPod(
      { uid: 'u', namespace: 'ns', operation: 'CREATE', object: pod },
      lookups([hookObject()], reads),
    );
    assert.equal(out.result, 'gated');
    assert.equal(out.response.uid, 'u');
    assert.equal(out.response.patchType, 'JSONPatch');
    const patch = JSON.parse(Buffer.from(out.response.patch as string, 'base64').toString());
    assert.deepEqual(patch[0], { op: 'add', path: '/spec/schedulingGates', value: [{ name: GATE }] });
  });

  it('reads nothing from the API server without a BeforeRollout hook in the namespace', async () => {
    const reads: string[] = [];
    const out = await reviewPod(
      { uid: 'u', namespace: 'ns', operation: 'CREATE', object: pod },
      lookups([hookObject({ when: 'AfterRollout' })], reads),
    );
    assert.equal(out.result, 'allowed');
    assert.deepEqual(reads, []);
  });

  it('reads no ReplicaSet for a Deployment no hook selects', async () => {
    const reads: string[] = [];
    const out = await reviewPod(
      { uid: 'u', namespace: 'ns', operation: 'CREATE', object: pod },
      lookups([hookObject({ selector: { app: 'api' } })], reads),
    );
    assert.equal(out.result, 'allowed');
    assert.deepEqual(reads, ['deployment']);
  });

  for (const [what, spec] of [
    ["DocBot's selector.labels that the Deployment lacks", { selector: { labels: { app: 'api' } } }],
    ['kinds without Deployment', { kinds: ['StatefulSet'] }],
  ] as [string, Partial<HookObject['spec']>][])
    it(`reads no ReplicaSet for a hook that does not select the Deployment: ${what}`, async () => {
      const reads: string[] = [];
      const out = await reviewPod(
        { uid: 'u', namespace: 'ns', operation: 'CREATE', object: pod },
        lookups([hookObject({ spec })], reads),
      );
      assert.equal(out.result, 'allowed');
      assert.deepEqual(reads, ['deployment']);
    });

  it('refuses to judge before the caches are filled (the API server refuses the pod; its ReplicaSet retries)', async () => {
    await assert.rejects(
      reviewPod(
        { uid: 'u', namespace: 'ns', operation: 'CREATE', object: pod },
        lookups([hookObject()], [], false),
      ),
      /caches/,
    );
  });

  it('lets a pod that no ReplicaSet controls through', async () => {
    const bare = { metadata: { name: 'p', labels: { 'pod-template-hash': 'abc12' } } };
    const out = await reviewPod(
      { uid: 'u', namespace: 'ns', operation: 'CREATE', object: bare },
      lookups([hookObject()], []),
    );
    assert.equal(out.result, 'allowed');
    assert.equal(out.response.patch, undefined);
  });
});

describe('planHook with when: BeforeRollout: a revision is due once its pods are gated', () => {
  const progressing = (revision: string): KubeObject => ({
    metadata: {
      name: 'web',
      uid: 'd-uid',
      generation: 2,
      labels: { app: 'web' },
      annotations: { 'deployment.kubernetes.io/revision': revision },
    },
    spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'web:2' }] } } },
    status: { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 },
  });
  const complete = (revision: string): KubeObject => ({
    ...progressing(revision),
    status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 },
  });
  const beforeHook = (when?: 'BeforeRollout'): HookObject => ({
    metadata: { name: 'migrate', namespace: 'ns', uid: 'h-uid', generation: 1 },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { spec: { spec: { containers: [{ name: 'm', image: 'm' }] } } },
      ...(when ? { when } : {}),
    },
  });
  const cases: [string, HookObject, KubeObject, KubeObject[], string[]][] = [
    [
      'gated pods of the current revision, rollout in progress: run',
      beforeHook('BeforeRollout'),
      progressing('2'),
      [gatedPod('2', 'migrate')],
      ['2'],
    ],
    [
      'no gated pod (the revision the hook found): nothing',
      beforeHook('BeforeRollout'),
      complete('1'),
      [],
      [],
    ],
    [
      'gated pods for another hook: nothing',
      beforeHook('BeforeRollout'),
      progressing('2'),
      [gatedPod('2', 'seed')],
      [],
    ],
    [
      'gated pods of an older revision: nothing',
      beforeHook('BeforeRollout'),
      progressing('3'),
      [gatedPod('2', 'migrate')],
      [],
    ],
    ['AfterRollout waits for the rollout', beforeHook(), progressing('2'), [gatedPod('2', 'migrate')], []],
    ['AfterRollout runs once complete', beforeHook(), complete('2'), [], ['2']],
  ];
  for (const [name, hook, d, gated, want] of cases)
    it(name, () => {
      const plan = planHook({
        hook,
        deployments: [d],
        jobs: [],
        now: new Date(LATER),
        gatedPods: gated,
        template: { spec: { containers: [{ name: 'm', image: 'm' }] } },
      });
      assert.deepEqual(
        plan.create.map((c) => c.revision),
        want,
      );
    });
});

describe('planHook with when: BeforeRollout: a revision whose pods escaped the gate runs late', () => {
  const complete = (revision: string, done = true): KubeObject => ({
    metadata: {
      name: 'web',
      uid: 'd-uid',
      generation: 2,
      labels: { app: 'web' },
      annotations: { 'deployment.kubernetes.io/revision': revision },
    },
    spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'web:2' }] } } },
    status: {
      observedGeneration: 2,
      replicas: done ? 2 : 3,
      updatedReplicas: done ? 2 : 1,
      availableReplicas: 2,
    },
  });
  const hook = (o: { lastRun?: Run; lastSucceededRevision?: string } = {}) =>
    hookObject({ baseline: '1', ...o });
  const cases: [string, HookObject, KubeObject, KubeObject | undefined, string[]][] = [
    ['revision 2 rolled out ungated: runs late', hook(), complete('2'), replicaSet(), ['2']],
    ['still rolling out: waits for the rollout', hook(), complete('2', false), replicaSet(), []],
    ['its ReplicaSet not read: nothing', hook(), complete('2'), undefined, []],
    ['the revision the hook found: nothing', hook(), complete('1'), replicaSet({ revision: '1' }), []],
    [
      'an undo to the revision the hook found (never gated): nothing',
      hook(),
      complete('3'),
      replicaSet({ revision: '3', history: '1' }),
      [],
    ],
    [
      'an undo to a revision that passed: nothing',
      hook({ lastSucceededRevision: '2' }),
      complete('3'),
      replicaSet({ revision: '3', history: '2' }),
      [],
    ],
    ['its late run failed: not again', hook({ lastRun: failed('2') }), complete('2'), replicaSet(), []],
  ];
  for (const [name, h, d, rs, want] of cases)
    it(name, () => {
      const plan = planHook({
        hook: h,
        deployments: [d],
        jobs: [],
        now: new Date(LATER),
        gatedPods: [],
        ...(rs ? { currentReplicaSets: { web: rs } } : {}),
        template: { spec: { containers: [{ name: 'm', image: 'm' }] } },
      });
      assert.deepEqual(
        plan.create.map((c) => c.revision),
        want,
      );
      const late = plan.events.filter((e) => e.reason === 'HookLate');
      assert.equal(late.length, want.length);
      for (const e of late) {
        assert.equal(e.type, 'Warning');
        assert.match(e.note, /without its pods being gated.*helm upgrade/);
      }
    });
});

describe('baselineRevision: the revision a BeforeRollout hook found', () => {
  const d = (created: string) => ({
    ...deployment('3'),
    metadata: { ...deployment('3').metadata, creationTimestamp: created },
  });
  const cases: [string, KubeObject, Set<string>, string][] = [
    ['a Deployment older than the hook: its current revision', d(EARLIER), new Set(), '3'],
    ['created in the hook’s second: its current revision (it may be older)', d(T0), new Set(), '3'],
    ['created after the hook: 0, so its first revision waits', d(LATER), new Set(), '0'],
    ['pods already gated at revisions 3 and 4: 2', d(EARLIER), new Set(['4', '3']), '2'],
  ];
  for (const [name, dep, gated, want] of cases)
    it(name, () => assert.equal(baselineRevision(hookObject(), dep, '3', gated), want));
});
