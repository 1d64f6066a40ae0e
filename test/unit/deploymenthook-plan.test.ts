// planHook as a table: each case is a snapshot (hook, Deployments, Jobs) and what the plan must do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentHookSpec, DeploymentHookStatus } from '../../src/api/deploymenthook.ts';
import {
  type HookObject,
  hookJobName,
  type Plan,
  planHook,
  type Snapshot,
} from '../../src/controllers/deploymenthook/plan.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';

const NOW = new Date('2026-11-23T10:00:00Z');
const HOOK_UID = 'hook-uid-1';

function dep(
  name: string,
  revision: string,
  o: { uid?: string; rollout?: 'Complete' | 'Failed'; containers?: string[] } = {},
): KubeObject {
  return {
    metadata: {
      name,
      uid: o.uid ?? `${name}-uid-1`,
      generation: 1,
      labels: { app: 'web' },
      annotations: { 'deployment.kubernetes.io/revision': revision },
    },
    spec: {
      replicas: 1,
      template: {
        spec: { containers: (o.containers ?? ['web']).map((c) => ({ name: c, image: `${c}:${revision}` })) },
      },
    },
    status: {
      observedGeneration: 1,
      replicas: 1,
      updatedReplicas: 1,
      availableReplicas: 1,
      conditions:
        o.rollout === 'Failed'
          ? [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'stuck' }]
          : [],
    },
  };
}

function job(
  name: string,
  o: { phase?: 'Running' | 'Succeeded' | 'Failed'; owner?: string; finalizer?: boolean } = {},
): KubeObject {
  const conditions =
    o.phase === 'Succeeded'
      ? [{ type: 'Complete', status: 'True', lastTransitionTime: '2026-11-23T09:59:00Z' }]
      : o.phase === 'Failed'
        ? [
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              lastTransitionTime: '2026-11-23T09:59:00Z',
            },
          ]
        : [];
  return {
    metadata: {
      name,
      creationTimestamp: '2026-11-23T09:58:00Z',
      ownerReferences: [
        {
          apiVersion: 'bosun.dev/v1alpha1',
          kind: 'DeploymentHook',
          name: 'migrate',
          uid: o.owner ?? HOOK_UID,
        },
      ],
      finalizers: o.finalizer === false ? [] : ['bosun.dev/hook-result'],
    },
    status: { conditions },
  };
}

function hook(
  o: { spec?: Partial<DeploymentHookSpec>; status?: DeploymentHookStatus; rerun?: string } = {},
): HookObject {
  return {
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'DeploymentHook',
    metadata: {
      name: 'migrate',
      namespace: 'shop',
      uid: HOOK_UID,
      generation: 1,
      ...(o.rerun ? { annotations: { 'bosun.dev/rerun': o.rerun } } : {}),
    },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { spec: { spec: { containers: [{ name: 'migrate', image: 'm' }] } } },
      ...o.spec,
    },
    ...(o.status ? { status: o.status } : {}),
  };
}

type Run = NonNullable<NonNullable<DeploymentHookStatus['deployments']>[number]['lastRun']>;
const run = (revision: string, jobName: string, phase: Run['phase'] = 'Running'): Run => ({
  revision,
  jobName,
  phase,
  startTime: '2026-11-23T09:58:00Z',
});
const nameOf = (revision: string, o: { uid?: string; rerun?: string } = {}) =>
  hookJobName({
    hook: 'migrate',
    hookUid: HOOK_UID,
    deployment: 'web',
    deploymentUid: o.uid ?? 'web-uid-1',
    revision,
    rerun: o.rerun ?? '',
  });
const id = { hook: 'h', hookUid: 'h-1', deployment: 'web', deploymentUid: 'd-1', revision: '1', rerun: '' };

function snap(
  h: HookObject,
  deployments: KubeObject[],
  jobs: KubeObject[] = [],
  extra: Partial<Snapshot> = {},
): Snapshot {
  return {
    hook: h,
    deployments,
    jobs,
    template: h.spec.template.spec as Snapshot['template'],
    templateVersion: 'generation 1',
    now: NOW,
    ...extra,
  };
}

const entry = (p: Plan, name = 'web') => p.status.deployments?.find((e) => e.name === name);
const ready = (p: Plan) => p.status.conditions?.find((c) => c.type === 'Ready');
const reasons = (p: Plan) => p.events.map((e) => e.reason);

describe('hookJobName', () => {
  const valid = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  const cases: [string, string][] = [
    ['a timestamp, as the docs suggest', '2026-11-23T10:00:00Z'],
    ['spaces and symbols', 'Fixed the schema! (#42)'],
    ['a very long value', 'x'.repeat(500)],
    ['no value', ''],
  ];
  for (const [what, rerun] of cases)
    it(`is a valid Job name for a rerun value with ${what}`, () => {
      const name = hookJobName({
        ...id,
        hook: 'run-app-migrations',
        deployment: 'shop',
        revision: '12',
        rerun,
      });
      assert.match(name, valid);
      assert.ok(name.length <= 63);
    });
  it('differs per hook UID, Deployment UID and rerun value', () => {
    const names = new Set([
      hookJobName(id),
      hookJobName({ ...id, deploymentUid: 'd-2' }),
      hookJobName({ ...id, hookUid: 'h-2' }),
      hookJobName({ ...id, rerun: 'again' }),
    ]);
    assert.equal(names.size, 4);
  });
});

describe('planHook', () => {
  it('runs a completed revision with a timestamp rerun value under a valid name', () => {
    const h = hook({ rerun: '2026-11-23T10:00:00Z' });
    const p = planHook(snap(h, [dep('web', '1')]));
    assert.equal(p.create.length, 1);
    assert.match(p.create[0]?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    assert.equal(entry(p)?.rerun, '2026-11-23T10:00:00Z');
  });

  it('runs a Deployment re-created under the same name (revision back to 1), not adopting the old Job', () => {
    const oldJob = nameOf('1', { uid: 'web-uid-1' });
    const h = hook({
      status: {
        deployments: [
          {
            name: 'web',
            uid: 'web-uid-1',
            revision: '1',
            rollout: 'Complete',
            lastRun: run('1', oldJob, 'Succeeded'),
          },
        ],
      },
    });
    const p = planHook(
      snap(
        h,
        [dep('web', '1', { uid: 'web-uid-2' })],
        [job(oldJob, { phase: 'Succeeded', finalizer: false })],
      ),
    );
    assert.equal(p.create.length, 1, 'the new Deployment gets its run');
    assert.notEqual(p.create[0]?.name, oldJob);
    assert.equal(entry(p)?.uid, 'web-uid-2');
    assert.equal(entry(p)?.lastRun?.jobName, p.create[0]?.name);
  });

  it('keeps the history of a Deployment that stops matching, and does not run its revision again when it matches again', () => {
    const j = nameOf('1');
    const h = hook({
      status: {
        deployments: [
          {
            name: 'web',
            uid: 'web-uid-1',
            revision: '1',
            rollout: 'Complete',
            lastRun: run('1', j, 'Succeeded'),
          },
        ],
      },
    });
    const away = planHook(snap(h, [], [], { unmatched: [dep('web', '1')] }));
    assert.equal(away.status.matched, 0);
    assert.equal(entry(away)?.unmatched, true);
    assert.equal(ready(away)?.reason, 'NoDeployments');
    const back = planHook(snap({ ...h, status: away.status }, [dep('web', '1')]));
    assert.deepEqual(back.create, [], 'revision 1 already ran');
    assert.equal(entry(back)?.unmatched, undefined);
    assert.equal(back.status.succeeded, 1);
  });

  it('forgets a Deployment that no longer exists', () => {
    const h = hook({
      status: {
        deployments: [
          {
            name: 'web',
            uid: 'web-uid-1',
            revision: '1',
            rollout: 'Complete',
            lastRun: run('1', 'j', 'Succeeded'),
          },
        ],
      },
    });
    assert.equal(planHook(snap(h, [], [], { unmatched: [] })).status.deployments, undefined);
  });

  it('removing bosun.dev/rerun neither runs again nor adopts the Job of the run before the rerun', () => {
    const first = nameOf('1');
    const rerunJob = nameOf('1', { rerun: 'again' });
    const h = hook({
      status: {
        deployments: [
          {
            name: 'web',
            uid: 'web-uid-1',
            revision: '1',
            rollout: 'Complete',
            rerun: 'again',
            lastRun: run('1', rerunJob, 'Succeeded'),
          },
        ],
      },
    });
    const p = planHook(
      snap(h, [dep('web', '1')], [job(first, { phase: 'Failed' }), job(rerunJob, { phase: 'Succeeded' })]),
    );
    assert.deepEqual(p.create, []);
    assert.equal(entry(p)?.lastRun?.jobName, rerunJob, 'the stale Job is not adopted');
    assert.equal(ready(p)?.reason, 'Succeeded');
  });

  it('a new rerun value runs the current revision again', () => {
    const h = hook({
      rerun: 'again',
      status: {
        deployments: [
          {
            name: 'web',
            uid: 'web-uid-1',
            revision: '1',
            rollout: 'Complete',
            lastRun: run('1', nameOf('1'), 'Failed'),
          },
        ],
      },
    });
    const p = planHook(snap(h, [dep('web', '1')], [job(nameOf('1'), { phase: 'Failed' })]));
    assert.deepEqual(
      p.create.map((c) => c.name),
      [nameOf('1', { rerun: 'again' })],
    );
  });

  it('adopts a Job created before a crash kept it out of the status', () => {
    const j = nameOf('2');
    const p = planHook(snap(hook(), [dep('web', '2')], [job(j, { phase: 'Succeeded' })]));
    assert.deepEqual(p.create, []);
    assert.equal(entry(p)?.lastRun?.phase, 'Succeeded');
    assert.deepEqual(p.finished, ['Succeeded']);
    assert.deepEqual(p.release, [j], 'its result is in the planned status');
  });

  describe('inheritImage', () => {
    const cases: [string, Partial<DeploymentHookSpec>, RegExp][] = [
      [
        'a fromContainer the Deployment lacks',
        { inheritImage: { fromContainer: 'app' } },
        /Deployment web has no container "app"/,
      ],
      [
        'a listed hook container the template lacks',
        { inheritImage: { containers: ['migrations'] } },
        /inheritImage.containers names "migrations", which the hook template does not have/,
      ],
    ];
    for (const [what, spec, message] of cases)
      it(`${what}: InvalidTemplate, a Warning Event, no run`, () => {
        const p = planHook(snap(hook({ spec }), [dep('web', '1')]));
        assert.deepEqual(p.create, []);
        assert.equal(ready(p)?.reason, 'InvalidTemplate');
        assert.match(ready(p)?.message ?? '', message);
        assert.ok(p.events.some((e) => e.type === 'Warning' && e.reason === 'InvalidTemplate'));
      });
    it('the named container gives its image', () => {
      const p = planHook(
        snap(hook({ spec: { inheritImage: { fromContainer: 'app', containers: ['migrate'] } } }), [
          dep('web', '3', { containers: ['web', 'app'] }),
        ]),
      );
      assert.equal(p.create[0]?.image, 'app:3');
    });
  });

  describe('concurrencyPolicy', () => {
    const running = (policy: DeploymentHookSpec['concurrencyPolicy'], extra: object = {}) =>
      hook({
        spec: { concurrencyPolicy: policy },
        status: {
          deployments: [
            {
              name: 'web',
              uid: 'web-uid-1',
              revision: '1',
              rollout: 'Complete',
              lastRun: run('1', nameOf('1')),
              ...extra,
            },
          ],
        },
      });

    it('Forbid: a completed revision waits for the running Job', () => {
      const p = planHook(snap(running('Forbid'), [dep('web', '2')], [job(nameOf('1'))]));
      assert.deepEqual(p.create, []);
      assert.equal(entry(p)?.pendingRevision, '2');
      assert.deepEqual(reasons(p), [], 'waiting is in the status; its end has the Event');
    });

    it('Forbid: a waiting revision is skipped when the next rollout fails', () => {
      const h = running('Forbid', { pendingRevision: '2' });
      const p = planHook(
        snap(h, [dep('web', '3', { rollout: 'Failed' })], [job(nameOf('1'), { phase: 'Succeeded' })]),
      );
      assert.deepEqual(p.create, []);
      assert.equal(entry(p)?.pendingRevision, undefined);
      assert.deepEqual(entry(p)?.skippedRevisions, ['2']);
      assert.ok(reasons(p).includes('Skipped'));
    });

    it('Forbid: a waiting revision runs once the running Job finished', () => {
      const h = running('Forbid', { pendingRevision: '2' });
      const p = planHook(snap(h, [dep('web', '2')], [job(nameOf('1'), { phase: 'Succeeded' })]));
      assert.deepEqual(
        p.create.map((c) => c.revision),
        ['2'],
      );
      assert.equal(entry(p)?.pendingRevision, undefined);
      assert.deepEqual(p.release, [nameOf('1')]);
    });

    it('Replace: stops the running Job and starts the new revision', () => {
      const p = planHook(snap(running('Replace'), [dep('web', '2')], [job(nameOf('1'))]));
      assert.deepEqual(p.stop, [nameOf('1')]);
      assert.deepEqual(
        p.create.map((c) => c.revision),
        ['2'],
      );
      assert.equal(entry(p)?.olderRuns, undefined);
    });

    it('Allow: starts the new revision and keeps following the running one', () => {
      const p = planHook(snap(running('Allow'), [dep('web', '2')], [job(nameOf('1'))]));
      assert.deepEqual(
        p.create.map((c) => c.revision),
        ['2'],
      );
      assert.deepEqual(
        entry(p)?.olderRuns?.map((r) => r.jobName),
        [nameOf('1')],
      );
      assert.ok(!p.release.includes(nameOf('1')), 'its finalizer stays while it runs');
    });

    it("Allow: an older Job's failure is reported, then its finalizer goes", () => {
      const h = hook({
        spec: { concurrencyPolicy: 'Allow' },
        status: {
          deployments: [
            {
              name: 'web',
              uid: 'web-uid-1',
              revision: '2',
              rollout: 'Complete',
              lastRun: run('2', nameOf('2')),
              olderRuns: [run('1', nameOf('1'))],
            },
          ],
        },
      });
      const p = planHook(
        snap(h, [dep('web', '2')], [job(nameOf('1'), { phase: 'Failed' }), job(nameOf('2'))]),
      );
      assert.equal(entry(p)?.olderRuns, undefined);
      assert.ok(
        p.events.some((e) => e.type === 'Warning' && e.reason === 'Failed' && e.note.includes(nameOf('1'))),
        JSON.stringify(p.events),
      );
      assert.ok(p.events.some((e) => e.reason === 'HookFailed'));
      assert.deepEqual(p.finished, ['Failed']);
      assert.deepEqual(p.release, [nameOf('1')]);
    });
  });

  describe('a Job Kubernetes rejected', () => {
    it('is remembered for the template version and not sent again', () => {
      const rejected = planHook(
        snap(hook(), [dep('web', '1')], [], { rejection: 'Kubernetes rejected the hook Job: bad' }),
      );
      assert.deepEqual(rejected.create, []);
      assert.equal(ready(rejected)?.reason, 'InvalidTemplate');
      assert.deepEqual(rejected.status.rejectedTemplate, {
        version: 'generation 1',
        message: 'Kubernetes rejected the hook Job: bad',
      });
      assert.ok(reasons(rejected).includes('InvalidTemplate'));

      const again = planHook(snap(hook({ status: rejected.status }), [dep('web', '1')]));
      assert.deepEqual(again.create, [], 'no retry storm');
      assert.equal(ready(again)?.reason, 'InvalidTemplate');
      assert.deepEqual(again.events, [], 'reported once');
    });
    it('is tried again once the template changes', () => {
      const rejected = planHook(snap(hook(), [dep('web', '1')], [], { rejection: 'bad' }));
      const fixed = planHook(
        snap(hook({ status: rejected.status }), [dep('web', '1')], [], { templateVersion: 'generation 2' }),
      );
      assert.equal(fixed.create.length, 1);
      assert.equal(fixed.status.rejectedTemplate, undefined);
    });
  });

  describe('result finalizers', () => {
    it('releases every Job of a deleted namesake hook (another UID), running or not', () => {
      const p = planHook(
        snap(
          hook(),
          [],
          [job('old-a', { owner: 'old-uid' }), job('old-b', { owner: 'old-uid', phase: 'Succeeded' })],
        ),
      );
      assert.deepEqual(p.release.sort(), ['old-a', 'old-b']);
    });
    it('keeps a running followed Job, releases it with its recorded result', () => {
      const h = hook({
        status: {
          deployments: [
            {
              name: 'web',
              uid: 'web-uid-1',
              revision: '1',
              rollout: 'Complete',
              lastRun: run('1', nameOf('1')),
            },
          ],
        },
      });
      assert.deepEqual(planHook(snap(h, [dep('web', '1')], [job(nameOf('1'))])).release, []);
      const done = planHook(snap(h, [dep('web', '1')], [job(nameOf('1'), { phase: 'Succeeded' })]));
      assert.equal(entry(done)?.lastRun?.phase, 'Succeeded');
      assert.deepEqual(done.release, [nameOf('1')]);
    });
  });

  describe('what a run costs: one Event per ended run, no writes when nothing changed', () => {
    const recorded = (phase?: Run['phase']) =>
      hook({
        status: {
          deployments: [
            {
              name: 'web',
              uid: 'web-uid-1',
              revision: '1',
              rollout: 'Complete',
              ...(phase ? { lastRun: run('1', nameOf('1'), phase) } : {}),
            },
          ],
        },
      });
    type Seen = [on: string, type: string, reason: string];
    const cases: [what: string, h: HookObject, jobs: KubeObject[], events: Seen[]][] = [
      ['a run starts', recorded(), [], []],
      ['a run is still running', recorded('Running'), [job(nameOf('1'))], []],
      [
        'a run succeeds',
        recorded('Running'),
        [job(nameOf('1'), { phase: 'Succeeded' })],
        [['web', 'Normal', 'HookSucceeded']],
      ],
      [
        'a run fails',
        recorded('Running'),
        [job(nameOf('1'), { phase: 'Failed' })],
        [
          ['hook', 'Warning', 'Failed'],
          ['web', 'Warning', 'HookFailed'],
        ],
      ],
    ];
    for (const [what, h, jobs, events] of cases)
      it(`${what}: Events ${JSON.stringify(events.map((e) => e[2]))}`, () => {
        const p = planHook(snap(h, [dep('web', '1')], jobs));
        assert.deepEqual(
          p.events.map((e) => [e.on === 'hook' ? 'hook' : e.on.deployment, e.type, e.reason]),
          events,
        );
      });

    it('plans nothing once the result is recorded: no Job, no Event, the same status, no release', () => {
      const first = planHook(
        snap(recorded('Running'), [dep('web', '1')], [job(nameOf('1'), { phase: 'Succeeded' })]),
      );
      const settled = planHook(
        snap(
          hook({ status: first.status }),
          [dep('web', '1')],
          [job(nameOf('1'), { phase: 'Succeeded', finalizer: false })],
        ),
      );
      assert.deepEqual(settled.status, first.status);
      assert.deepEqual([settled.create, settled.stop, settled.release, settled.events], [[], [], [], []]);
      assert.equal(settled.requeueAfterMs, undefined);
    });

    const progressing = (revision: string, updated: number, available: number) => {
      const d = dep('web', revision);
      d.spec.replicas = 3;
      d.status = { ...d.status, replicas: 3, updatedReplicas: updated, availableReplicas: available };
      return d;
    };
    it('does not rewrite the status as a rollout progresses replica by replica', () => {
      const first = planHook(snap(recorded('Succeeded'), [progressing('2', 1, 1)]));
      assert.equal(entry(first)?.rollout, 'Progressing');
      const later = planHook(snap(hook({ status: first.status }), [progressing('2', 3, 2)]));
      assert.deepEqual(later.status, first.status);
    });

    it('does not rewrite the status while a completed revision scales (a scale is not a rollout)', () => {
      const settled = planHook(snap(recorded('Succeeded'), [dep('web', '1')]));
      const scaling = planHook(snap(hook({ status: settled.status }), [progressing('1', 1, 1)]));
      assert.deepEqual(scaling.status, settled.status);
      assert.deepEqual([scaling.create, scaling.events], [[], []]);
    });
  });
});
