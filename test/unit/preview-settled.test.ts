import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextBatch, type Planned } from '../../src/controllers/preview/batch.ts';
import { CLEANUP_FINALIZER } from '../../src/controllers/preview/labels.ts';
import {
  type PreviewGrants,
  type PreviewPlan,
  planPreview,
  RENDER_HASH_ANNOTATION,
} from '../../src/controllers/preview/lifecycle.ts';
import type { PreviewObject, RepositoryObject, TemplateObject } from '../../src/controllers/preview/model.ts';
import { type PassSnapshot, planPass } from '../../src/controllers/preview/pass.ts';
import {
  isEmptyPlan,
  newReads,
  noting,
  type PassInputs,
  type Reads,
  SettledPreviews,
} from '../../src/controllers/preview/settled.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';

const NOW = new Date('2026-11-23T12:00:00Z');
const GRANTS: PreviewGrants = { admit: true, initialize: true, run: false, stop: false, undeploy: false };

const template: TemplateObject = {
  metadata: { name: 'web', namespace: 'ns', uid: 't', generation: 1, resourceVersion: '7' },
  spec: {
    app: { port: 8080, template: { spec: { containers: [{ name: 'web' }] } } },
    initialize: { template: { spec: { containers: [{ name: 'init' }] } } },
  } as TemplateObject['spec'],
};
const repository: RepositoryObject = {
  metadata: { name: 'shop', namespace: 'ns', uid: 'r', generation: 1, resourceVersion: '3' },
  spec: { repository: 'acme/shop', template: 'web', image: 'registry.example/shop:1' },
};

/**
 * A preview planned (and its plans carried out) until its plan is empty: a settled preview,
 * initialized and stopped, or initializing while its Job runs.
 */
function settle(initJob: 'finished' | 'running' = 'finished'): {
  preview: PreviewObject;
  jobs: Map<string, KubeObject>;
  deployment: KubeObject;
} {
  let preview: PreviewObject = {
    metadata: {
      name: 'p',
      namespace: 'ns',
      uid: 'u',
      generation: 1,
      resourceVersion: '1',
      creationTimestamp: '2026-11-23T10:00:00Z',
      finalizers: [CLEANUP_FINALIZER],
    },
    spec: { repository: 'shop', branch: 'main', commit: 'abcdef0123', state: 'Stopped' },
  };
  const jobs = new Map<string, KubeObject>();
  let deployment: KubeObject = { metadata: { name: 'p', namespace: 'ns' } };
  for (let pass = 0; pass < 10; pass++) {
    const plan = planOf(preview, jobs, deployment);
    if (isEmptyPlan(preview, plan)) {
      assert.equal(preview.status?.phase, initJob === 'finished' ? 'Stopped' : 'Initializing');
      return { preview, jobs, deployment };
    }
    for (const j of plan.create)
      jobs.set(j.metadata.name as string, {
        ...j,
        metadata: { ...j.metadata, resourceVersion: '5' },
        status: initJob === 'finished' ? { conditions: [{ type: 'Complete', status: 'True' }] } : {},
      });
    const app = plan.apply?.objects.find((o) => o.kind === 'Deployment');
    if (app) deployment = app;
    preview = { ...preview, status: plan.status };
  }
  throw new Error('the preview never settled');
}

function planOf(
  preview: PreviewObject,
  jobs: Map<string, KubeObject>,
  deployment: KubeObject,
  reads: Reads = newReads(),
  grants = GRANTS,
): PreviewPlan {
  return planPreview({
    preview,
    repository,
    template: noting(reads.templates, (n) => (n === 'web' ? template : undefined)),
    job: noting(reads.jobs, (n) => jobs.get(n)),
    deployment,
    grants,
    now: NOW,
  });
}

describe('isEmptyPlan', () => {
  const { preview, jobs, deployment } = settle();
  const empty = planOf(preview, jobs, deployment);
  const cases: { name: string; plan: PreviewPlan; want: boolean }[] = [
    { name: 'a settled preview has nothing to do', plan: empty, want: true },
    {
      name: 'a status change is something to do',
      plan: { ...empty, status: { ...empty.status, phase: 'Starting' } },
      want: false,
    },
    {
      name: 'a status field set to undefined is no change',
      plan: { ...empty, status: { ...empty.status, rejectedHash: undefined } },
      want: true,
    },
    {
      name: 'an Event',
      plan: { ...empty, events: [{ type: 'Normal', reason: 'Started', note: 'x' }] },
      want: false,
    },
    { name: 'a Job to create', plan: { ...empty, create: [{ metadata: { name: 'j' } }] }, want: false },
    { name: 'a Job to delete', plan: { ...empty, deleteJobs: [{ name: 'j' }] }, want: false },
    { name: 'scaling', plan: { ...empty, scale: 0 }, want: false },
    { name: 'an apply', plan: { ...empty, apply: { objects: [], hash: 'h' } }, want: false },
    { name: 'a capacity stop', plan: { ...empty, stop: true }, want: false },
    { name: 'a capacity undeploy', plan: { ...empty, undeploy: true }, want: false },
    { name: 'a purge', plan: { ...empty, purge: true }, want: false },
    { name: 'the finalizer', plan: { ...empty, addFinalizer: true }, want: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(isEmptyPlan(preview, c.plan), c.want));
});

describe('SettledPreviews', () => {
  const { preview, jobs, deployment } = settle('running');
  const inputsOf = (state: { jobs: Map<string, KubeObject>; repository?: string }): PassInputs => ({
    repository: state.repository ?? 'r/1',
    template: (t) => (t === 'web' ? template : undefined),
    job: (j) => state.jobs.get(j),
  });
  /** Plans the settled preview once and records it, as a pass does. */
  function recorded(settled: SettledPreviews, inputs: PassInputs) {
    const reads = newReads();
    const plan = planOf(preview, jobs, deployment, reads);
    settled.planned('u', isEmptyPlan(preview, plan), { preview, deployment, granted: 3, reads }, inputs);
  }

  it('notes every template and Job a plan looked up, once', () => {
    const reads = newReads();
    planOf(preview, jobs, deployment, reads);
    assert.deepEqual(reads.templates, ['web']);
    assert.deepEqual(reads.jobs, [...jobs.keys()]);
  });

  it('skips a preview only while nothing its empty plan read has changed', () => {
    const settled = new SettledPreviews();
    const inputs = inputsOf({ jobs });
    recorded(settled, inputs);
    const unchanged = (
      p: PreviewObject,
      d: KubeObject | undefined,
      granted: number,
      i: PassInputs = inputs,
    ) => settled.unchanged('u', p, d, granted, i);
    assert.equal(unchanged(preview, deployment, 3), true);

    const [initJob] = [...jobs.keys()] as [string];
    const moved = new Map(jobs);
    moved.set(initJob, { ...(jobs.get(initJob) as KubeObject), metadata: { resourceVersion: '9' } });
    assert.equal(
      unchanged(preview, deployment, 3, inputsOf({ jobs: moved })),
      false,
      'a Job it read changed',
    );
    assert.equal(
      unchanged(preview, deployment, 3, inputsOf({ jobs: new Map() })),
      false,
      'a Job it read is gone',
    );
    assert.equal(unchanged(preview, deployment, 4), false, 'grants');
    assert.equal(
      unchanged(preview, deployment, 3, inputsOf({ jobs, repository: 'r/2' })),
      false,
      'repository spec',
    );
    const edited = { ...preview, metadata: { ...preview.metadata, resourceVersion: '2' } };
    assert.equal(unchanged(edited, deployment, 3), false, 'the preview changed');
    const scaled = { ...deployment, metadata: { ...deployment.metadata, resourceVersion: '8' } };
    assert.equal(unchanged(preview, scaled, 3), false, 'its Deployment changed');
    assert.equal(unchanged(preview, undefined, 3), false, 'its Deployment is gone');
    const relisted = { ...preview, metadata: { ...preview.metadata } };
    assert.equal(
      unchanged(relisted, deployment, 3),
      true,
      'a copy of the same version (a relist) is the same',
    );
  });

  it('forgets a preview whose plan had something to do, and a deleted one', () => {
    const settled = new SettledPreviews();
    const inputs = inputsOf({ jobs });
    const seen = { preview, deployment, granted: 3, reads: newReads() };
    settled.planned('u', true, seen, inputs);
    settled.planned('u', false, seen, inputs);
    assert.equal(settled.unchanged('u', preview, deployment, 3, inputs), false);
    settled.planned('u', true, seen, inputs);
    settled.forget('u');
    assert.equal(settled.size, 0);
  });

  it('a settled preview whose Deployment lost the render hash has something to do again', () => {
    const stale = { ...deployment, metadata: { ...deployment.metadata, annotations: {} } };
    assert.equal(isEmptyPlan(preview, planOf(preview, jobs, stale)), false);
    assert.ok(deployment.metadata.annotations?.[RENDER_HASH_ANNOTATION]);
  });
});

describe('planPass', () => {
  const { preview, jobs, deployment } = settle();
  const snapshot = (repo: RepositoryObject): PassSnapshot => ({
    namespace: 'ns',
    repository: repo,
    previews: [preview],
    caps: { maxDeployed: 10, maxRunning: 6, maxInitializing: 2 },
    deployment: () => deployment,
    job: (n) => jobs.get(n),
    template: (n) => (n === 'web' ? template : undefined),
    now: NOW,
  });
  const withMetadata = (m: Partial<RepositoryObject['metadata']>): RepositoryObject => ({
    ...repository,
    metadata: { ...repository.metadata, ...m },
  });
  const cases: { name: string; repository: RepositoryObject; planned: boolean }[] = [
    { name: 'nothing changed', repository, planned: false },
    {
      name: "the repository's status or metadata changed (a pass wrote its counts)",
      repository: withMetadata({ resourceVersion: '4', annotations: { touched: 'yes' } }),
      planned: false,
    },
    { name: "the repository's spec changed", repository: withMetadata({ generation: 2 }), planned: true },
    { name: 'the repository was re-created', repository: withMetadata({ uid: 'r2' }), planned: true },
  ];
  for (const c of cases)
    it(`a settled preview is ${c.planned ? '' : 'not '}planned again when ${c.name}`, () => {
      const settled = new SettledPreviews();
      const first = planPass(snapshot(repository), settled);
      assert.deepEqual([first.planned, first.plans.length, settled.size], [1, 0, 1], 'planned once, settled');
      const again = planPass(snapshot(c.repository), settled);
      assert.deepEqual([again.planned, again.plans.length], [c.planned ? 1 : 0, 0]);
    });
});

/** A first pass under maxDeployed 1 over `other` and a new preview q, made like the settled one. */
function passWithNewcomer(
  other: PreviewObject,
  deployment?: KubeObject,
  jobs = new Map<string, KubeObject>(),
) {
  const { preview } = settle();
  const fresh: PreviewObject = {
    ...preview,
    metadata: { ...preview.metadata, name: 'q', uid: 'q1', creationTimestamp: '2026-11-23T12:00:01Z' },
    status: undefined,
  };
  return planPass(
    {
      namespace: 'ns',
      repository,
      previews: [other, fresh],
      caps: { maxDeployed: 1, maxRunning: 6, maxInitializing: 2 },
      deployment: (p) => (p === other ? deployment : undefined),
      job: (n) => jobs.get(n),
      template: (n) => (n === 'web' ? template : undefined),
      now: NOW,
    },
    new SettledPreviews(),
  );
}

describe('planPass over a preview being deleted', () => {
  const { preview, jobs, deployment } = settle();
  const deleting = {
    ...preview,
    metadata: { ...preview.metadata, deletionTimestamp: '2026-11-23T12:00:00Z' },
  };
  const pass = passWithNewcomer(deleting, deployment, jobs);
  it('leaves it to its own undeploy key: it is not planned', () => {
    assert.deepEqual(
      pass.plans.map((p) => p.preview.metadata.name),
      ['q'],
    );
    assert.equal(pass.planned, 1);
  });
  it('counts its slot as free at once', () => {
    assert.deepEqual([...pass.grants.admit], ['q']);
  });
});

describe('planPass when a new preview makes room', () => {
  const settledPreview = settle().preview;
  // A pull-request preview: not the sticky newest of a branch, so it may be undeployed.
  const idle = { ...settledPreview, spec: { ...settledPreview.spec, pullRequest: 1, targetBranch: 'main' } };
  const pass = passWithNewcomer(idle);
  const [undeploy, admit] = pass.plans;
  it('undeploys the idle one and admits the new one after it', () => {
    assert.equal(undeploy?.plan.undeploy, true);
    assert.equal(admit?.after, 'p');
    assert.ok(admit?.plan.status.admittedAt);
  });
  it('has the plan of a preview that waits ready, should the undeploy not go through', () => {
    assert.equal(admit?.orElse?.status.admittedAt, undefined);
    assert.equal(admit?.orElse?.status.phase, 'Pending');
  });
});

describe('nextBatch', () => {
  const planned = (name: string, kind: 'new' | 'admitted' | 'deleting' | 'undeploy'): Planned => ({
    preview: {
      metadata: {
        name,
        ...(kind === 'deleting' ? { deletionTimestamp: '2026-11-23T12:00:00Z' } : {}),
      },
      spec: { repository: 'shop', branch: name, commit: 'abcdef0123' },
      ...(kind === 'new' ? {} : { status: { admittedAt: '2026-11-23T11:00:00Z' } }),
    },
    plan: {
      status: {},
      create: [],
      deleteJobs: [],
      events: [],
      ...(kind === 'undeploy' ? { undeploy: true } : {}),
    },
  });
  const names = (b: Planned[]) => b.map((p) => p.preview.metadata.name as string);
  const plans = [
    planned('new-1', 'new'),
    planned('adm-1', 'admitted'),
    planned('new-2', 'new'),
    planned('del-1', 'deleting'),
    planned('adm-2', 'admitted'),
    planned('und-1', 'undeploy'),
  ];
  const cases: { name: string; limit: number; want: string[]; more: boolean }[] = [
    {
      name: 'everything when it fits, undeploys first (admissions may wait for them)',
      limit: 6,
      want: ['del-1', 'und-1', 'adm-1', 'adm-2', 'new-1', 'new-2'],
      more: false,
    },
    {
      name: 'undeploys first, then admitted previews, new ones last, each in list order',
      limit: 5,
      want: ['del-1', 'und-1', 'adm-1', 'adm-2', 'new-1'],
      more: true,
    },
    { name: 'a small batch', limit: 1, want: ['del-1'], more: true },
  ];
  for (const c of cases)
    it(c.name, () => {
      const { batch, more } = nextBatch(plans, c.limit);
      assert.deepEqual(names(batch), c.want);
      assert.equal(more, c.more);
    });
});
