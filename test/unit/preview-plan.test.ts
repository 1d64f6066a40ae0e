import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PreviewStatus } from '../../src/api/preview.ts';
import { type InitJob, planCapacity } from '../../src/controllers/preview/capacity.ts';
import {
  CLEANUP_FINALIZER,
  RESET_ANNOTATION,
  SKIP_CLEANUP_ANNOTATION,
} from '../../src/controllers/preview/labels.ts';
import {
  type PreviewGrants,
  type PreviewPlan,
  planPreview,
  RENDER_HASH_ANNOTATION,
} from '../../src/controllers/preview/lifecycle.ts';
import type {
  Caps,
  PreviewObject,
  RepositoryObject,
  TemplateObject,
} from '../../src/controllers/preview/model.ts';
import { jobHash } from '../../src/controllers/preview/render.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';

const NOW = new Date('2026-11-23T12:00:00Z');

function preview(
  name: string,
  opts: {
    branch?: string;
    pr?: number;
    created?: string;
    state?: 'Running' | 'Stopped';
    status?: PreviewStatus;
    annotations?: Record<string, string>;
    deleting?: boolean;
    finalizer?: boolean;
    commit?: string;
  } = {},
): PreviewObject {
  return {
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'Preview',
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      generation: 1,
      creationTimestamp: opts.created ?? '2026-11-23T10:00:00Z',
      finalizers: opts.finalizer === false ? [] : [CLEANUP_FINALIZER],
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      ...(opts.deleting ? { deletionTimestamp: '2026-11-23T11:59:00Z' } : {}),
    },
    spec: {
      repository: 'shop',
      branch: opts.branch ?? 'main',
      ...(opts.pr ? { pullRequest: opts.pr, targetBranch: 'main' } : {}),
      commit: opts.commit ?? 'abcdef0123',
      state: opts.state ?? 'Stopped',
    },
    ...(opts.status ? { status: opts.status } : {}),
  };
}

const admitted = (extra: PreviewStatus = {}): PreviewStatus => ({
  admittedAt: '2026-11-23T10:00:01Z',
  phase: 'Stopped',
  initStatus: 'ready',
  replicas: 0,
  ...extra,
});

const CAPS: Caps = { maxInitializing: 1, maxRunning: 1, maxDeployed: 2 };
const noDeployment = () => undefined;
const never = () => false;
const sorted = (s: Set<string>) => [...s].sort();

describe('planCapacity', () => {
  /** A preview asked to run, then deleted: its undeploy under way. */
  const undeployingRunning = (name: string, branch: string) =>
    preview(name, { branch, state: 'Running', status: admitted({ phase: 'Undeploying' }), deleting: true });
  const queuedForInit = preview('queued', {
    branch: 'b',
    status: admitted({ initStatus: 'todo', initQueuedAt: '2026-11-23T10:01:00Z' }),
  });
  const cases: {
    name: string;
    previews: PreviewObject[];
    caps?: Caps;
    /** The previews' initialization Jobs in the cache (none by default). */
    initJobs?: Record<string, InitJob>;
    /** The app Deployments' replicas by preview: spec, pods there (status), and terminating. */
    deployments?: Record<string, { spec: number; status: number; terminating?: number }>;
    /** admitAfter as `<admitted> after <undeployed>`. */
    want: Partial<Record<'admit' | 'admitAfter' | 'initialize' | 'run' | 'stop' | 'undeploy', string[]>>;
  }[] = [
    {
      name: 'admits the newest pending previews up to maxDeployed',
      previews: [
        preview('c', { created: '2026-11-23T10:03:00Z', branch: 'c' }),
        preview('a', { created: '2026-11-23T10:01:00Z', branch: 'a' }),
        preview('b', { created: '2026-11-23T10:02:00Z', branch: 'b' }),
      ],
      want: { admit: ['b', 'c'], undeploy: [] },
    },
    {
      name: 'a preview without its finalizer yet gets a slot (the act adds the finalizer first)',
      previews: [preview('a', { finalizer: false })],
      want: { admit: ['a'] },
    },
    {
      name: 'undeploys the least recently used idle preview, never the newest of a branch',
      previews: [
        preview('old-main', {
          created: '2026-11-23T09:00:00Z',
          status: admitted({ lastScaled: '2026-11-23T09:30:00Z' }),
        }),
        preview('new-main', {
          created: '2026-11-23T09:10:00Z',
          status: admitted({ lastScaled: '2026-11-23T09:20:00Z' }),
        }),
        preview('feature', { branch: 'f', created: '2026-11-23T11:00:00Z' }),
      ],
      want: { admit: ['feature'], admitAfter: ['feature after old-main'], undeploy: ['old-main'] },
    },
    {
      name: 'an older pending preview never undeploys a newer one: a burst keeps its newest, the rest waits',
      previews: [
        preview('pr1', { pr: 1, created: '2026-11-23T09:00:00Z' }),
        preview('pr2', {
          pr: 2,
          created: '2026-11-23T09:00:01Z',
          status: admitted({ lastScaled: '2026-11-23T09:02:00Z' }),
        }),
        preview('pr3', {
          pr: 3,
          created: '2026-11-23T09:00:02Z',
          status: admitted({ lastScaled: '2026-11-23T09:02:00Z' }),
        }),
      ],
      want: { admit: [], admitAfter: [], undeploy: [] },
    },
    {
      name: 'a newer pending preview undeploys an older one, even one that went idle after it arrived',
      previews: [
        preview('old', {
          pr: 1,
          created: '2026-11-23T09:00:00Z',
          status: admitted({ lastScaled: '2026-11-23T11:30:00Z' }),
        }),
        preview('main', { created: '2026-11-23T09:05:00Z', status: admitted() }),
        preview('new', { branch: 'f', created: '2026-11-23T11:00:00Z' }),
      ],
      want: { undeploy: ['old'], admitAfter: ['new after old'] },
    },
    {
      name: 'pull-request previews are not sticky',
      previews: [
        preview('pr1', { pr: 1, created: '2026-11-23T09:00:00Z', status: admitted() }),
        preview('main', { created: '2026-11-23T09:05:00Z', status: admitted() }),
        preview('feature', { branch: 'f', created: '2026-11-23T11:00:00Z' }),
      ],
      want: { undeploy: ['pr1'], admitAfter: ['feature after pr1'] },
    },
    {
      name: 'running, initializing and building previews are never undeployed: the new one waits',
      previews: [
        preview('a', {
          branch: 'x',
          created: '2026-11-23T09:00:00Z',
          state: 'Running',
          status: admitted({ phase: 'Running', replicas: 1 }),
        }),
        preview('a2', {
          branch: 'x',
          created: '2026-11-23T09:01:00Z',
          status: admitted({ phase: 'Initializing', initStatus: 'initializing' }),
        }),
        preview('b', { branch: 'y', created: '2026-11-23T11:00:00Z' }),
      ],
      want: { admit: [], undeploy: [] },
    },
    {
      name: 'previews being deleted free their deploy slot',
      previews: [
        preview('a', { branch: 'x', status: admitted(), deleting: true }),
        preview('b', { branch: 'y', status: admitted() }),
        preview('c', { branch: 'z' }),
      ],
      want: { admit: ['c'] },
    },
    {
      name: 'a preview being undeployed holds its run slot until its pods are gone',
      previews: [
        undeployingRunning('going', 'a'),
        undeployingRunning('gone', 'b'),
        preview('asks', { branch: 'c', state: 'Running', status: admitted({ initStatus: 'ready' }) }),
      ],
      caps: { maxInitializing: 1, maxRunning: 1, maxDeployed: 5 },
      deployments: { going: { spec: 0, status: 1 }, gone: { spec: 0, status: 0 } },
      want: { run: [], stop: [] },
    },
    {
      name: 'pods still terminating hold the run slot',
      previews: [
        preview('stopped', { branch: 'a', status: admitted({ phase: 'Stopping', initStatus: 'ready' }) }),
        preview('asks', { branch: 'c', state: 'Running', status: admitted({ initStatus: 'ready' }) }),
      ],
      caps: { maxInitializing: 1, maxRunning: 1, maxDeployed: 5 },
      deployments: { stopped: { spec: 0, status: 0, terminating: 1 } },
      want: { run: [] },
    },
    {
      name: 'a preview being undeployed whose pods are gone runs nothing down',
      previews: [
        undeployingRunning('gone', 'b'),
        preview('asks', { branch: 'c', state: 'Running', status: admitted({ initStatus: 'ready' }) }),
      ],
      caps: { maxInitializing: 1, maxRunning: 1, maxDeployed: 5 },
      deployments: { gone: { spec: 0, status: 0 } },
      want: { run: ['asks'] },
    },
    {
      name: 'a preview being undeployed holds its initialization slot while its Job runs',
      previews: [
        preview('going', { branch: 'a', status: admitted({ initStatus: 'dropping' }), deleting: true }),
        queuedForInit,
      ],
      caps: { maxInitializing: 1, maxRunning: 1, maxDeployed: 5 },
      initJobs: { going: 'running' },
      want: { initialize: [] },
    },
    {
      name: 'a preview being undeployed whose initialization Job finished holds no slot',
      previews: [
        preview('going', { branch: 'a', status: admitted({ initStatus: 'dropping' }), deleting: true }),
        queuedForInit,
      ],
      caps: { maxInitializing: 1, maxRunning: 1, maxDeployed: 5 },
      initJobs: { going: 'finished' },
      want: { initialize: ['queued'] },
    },
    {
      name: 'a stopped preview that cannot start (a bad template, a rejected app) takes no run slot',
      previews: [
        preview('bad', { branch: 'a', state: 'Running', status: admitted({ initStatus: 'ready' }) }),
        preview('rejected', {
          branch: 'b',
          state: 'Running',
          status: admitted({ initStatus: 'ready', rejectedHash: 'h' }),
        }),
        preview('fine', { branch: 'c', state: 'Running', status: admitted({ initStatus: 'ready' }) }),
      ],
      caps: { maxInitializing: 1, maxRunning: 1, maxDeployed: 5 },
      want: { run: ['fine'] },
    },
    {
      name: 'a blocked preview (bad template) gets no slot and takes none from others',
      previews: [
        preview('bad', { branch: 'bad', created: '2026-11-23T09:00:00Z' }),
        preview('good', { branch: 'g' }),
      ],
      caps: { ...CAPS, maxDeployed: 1 },
      want: { admit: ['good'] },
    },
    {
      name: 'initialization slots go to the first queued',
      previews: [
        preview('late', {
          branch: 'a',
          status: admitted({ initStatus: 'todo', initQueuedAt: '2026-11-23T10:05:00Z' }),
        }),
        preview('early', {
          branch: 'b',
          status: admitted({ initStatus: 'todo', initQueuedAt: '2026-11-23T10:01:00Z' }),
        }),
      ],
      want: { initialize: ['early'] },
    },
    {
      name: 'no initialization slot while maxInitializing Jobs run',
      previews: [
        preview('busy', { branch: 'a', status: admitted({ initStatus: 'initializing' }) }),
        queuedForInit,
      ],
      want: { initialize: [] },
    },
    {
      name: 'previews admitted in this pass initialize behind the queued ones, oldest first',
      previews: [
        preview('queued', {
          branch: 'q',
          status: admitted({ initStatus: 'todo', initQueuedAt: '2026-11-23T10:01:00Z' }),
        }),
        preview('new-b', { branch: 'b', created: '2026-11-23T11:02:00Z' }),
        preview('new-a', { branch: 'a', created: '2026-11-23T11:01:00Z' }),
        preview('new-c', { branch: 'c', created: '2026-11-23T11:03:00Z' }),
      ],
      caps: { maxInitializing: 2, maxRunning: 1, maxDeployed: 3 },
      want: { admit: ['new-b', 'new-c'], initialize: ['queued', 'new-b'] },
    },
    {
      name: 'a finished initialization Job frees its slot in the pass that records it',
      previews: [
        preview('done', { branch: 'a', status: admitted({ initStatus: 'initializing' }) }),
        queuedForInit,
      ],
      initJobs: { done: 'finished' },
      want: { initialize: ['queued'] },
    },
    {
      name: 'an initializing preview whose Job is not finished (or not seen yet) keeps its slot',
      previews: [
        preview('busy', { branch: 'a', status: admitted({ initStatus: 'initializing' }) }),
        preview('done', { branch: 'c', status: admitted({ initStatus: 'initializing' }) }),
        queuedForInit,
      ],
      caps: { maxInitializing: 1, maxRunning: 1, maxDeployed: 5 },
      initJobs: { done: 'finished' },
      want: { initialize: [] },
    },
    {
      name: 'orders by creation time, then by name, in ordinal order',
      previews: [
        preview('b-2', { created: '2026-11-23T10:00:00Z', branch: 'b2' }),
        preview('b10', { created: '2026-11-23T10:00:00Z', branch: 'b10' }),
        preview('B', { created: '2026-11-23T10:00:00Z', branch: 'B' }),
      ],
      caps: { maxInitializing: 1, maxRunning: 1, maxDeployed: 1 },
      want: { admit: ['b10'] },
    },
    {
      name: 'starting one more stops the least recently started; the new one waits for it',
      previews: [
        preview('running', {
          branch: 'a',
          state: 'Running',
          status: admitted({ phase: 'Running', replicas: 1, lastScaled: '2026-11-23T10:00:00Z' }),
        }),
        preview('wants', { branch: 'b', state: 'Running', status: admitted() }),
      ],
      want: { run: [], stop: ['running'] },
    },
    {
      name: 'a stopping preview still counts as running',
      previews: [
        preview('stopping', { branch: 'a', status: admitted({ phase: 'Stopping', replicas: 0 }) }),
        preview('wants', { branch: 'b', state: 'Running', status: admitted() }),
      ],
      want: { run: [], stop: [] },
    },
    {
      name: 'a run slot is granted when there is room',
      previews: [
        preview('a', { branch: 'a', state: 'Running', status: admitted() }),
        preview('b', { branch: 'b', state: 'Running', status: admitted() }),
      ],
      caps: { ...CAPS, maxRunning: 2 },
      want: { run: ['a', 'b'], stop: [] },
    },
    {
      name: 'lowering maxRunning stops the excess, least recently started first',
      previews: [
        preview('a', {
          branch: 'a',
          state: 'Running',
          status: admitted({ phase: 'Running', replicas: 1, lastScaled: '2026-11-23T10:00:00Z' }),
        }),
        preview('b', {
          branch: 'b',
          state: 'Running',
          status: admitted({ phase: 'Running', replicas: 1, lastScaled: '2026-11-23T11:00:00Z' }),
        }),
      ],
      want: { run: ['b'], stop: ['a'] },
    },
    {
      name: 'a crash-looping preview (pods not available) still counts as running',
      previews: [
        preview('crashing', {
          branch: 'a',
          state: 'Running',
          status: admitted({ phase: 'Starting', replicas: 1 }),
        }),
        preview('wants', { branch: 'b', state: 'Running', status: admitted() }),
      ],
      want: { run: [], stop: ['crashing'] },
    },
    {
      name: 'a Deployment still asking for pods counts as running (a restart between the status write and the scale-down)',
      previews: [
        preview('scaling-down', { branch: 'a', status: admitted({ phase: 'Stopped', replicas: 0 }) }),
        preview('wants', { branch: 'b', state: 'Running', status: admitted() }),
      ],
      deployments: { 'scaling-down': { spec: 1, status: 0 } },
      want: { run: [], stop: [] },
    },
    {
      name: 'pods still there count as running',
      previews: [
        preview('pods-left', { branch: 'a', status: admitted({ phase: 'Stopped', replicas: 0 }) }),
        preview('wants', { branch: 'b', state: 'Running', status: admitted() }),
      ],
      deployments: { 'pods-left': { spec: 0, status: 1 } },
      want: { run: [], stop: [] },
    },
    {
      name: 'a Deployment at 0 without pods frees the slot',
      previews: [
        preview('stopped', { branch: 'a', status: admitted({ phase: 'Stopped', replicas: 0 }) }),
        preview('wants', { branch: 'b', state: 'Running', status: admitted() }),
      ],
      deployments: { stopped: { spec: 0, status: 0 } },
      want: { run: ['wants'], stop: [] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const blocked = (p: PreviewObject) => p.metadata.name === 'bad';
      const initJob = (p: PreviewObject) => c.initJobs?.[p.metadata.name as string];
      const deployment = (p: PreviewObject): KubeObject | undefined => {
        const d = c.deployments?.[p.metadata.name as string];
        return (
          d && {
            metadata: { name: p.metadata.name },
            spec: { replicas: d.spec },
            status: { replicas: d.status, terminatingReplicas: d.terminating ?? 0 },
          }
        );
      };
      const g = planCapacity(c.previews, deployment, c.caps ?? CAPS, blocked, initJob);
      const got = { ...g, admitAfter: new Set([...g.admitAfter].map(([p, v]) => `${p} after ${v}`)) };
      for (const [k, v] of Object.entries(c.want))
        assert.deepEqual(sorted(got[k as keyof typeof c.want]), v.sort(), k);
    });
  }

  it('holds every cap under a burst of 100 previews', () => {
    const burst = Array.from({ length: 100 }, (_, i) =>
      preview(`p${String(i).padStart(3, '0')}`, {
        branch: `b${i}`,
        state: 'Running',
        created: `2026-11-23T10:00:${String(i % 60).padStart(2, '0')}Z`,
      }),
    );
    const g = planCapacity(
      burst,
      noDeployment,
      { maxInitializing: 20, maxRunning: 10, maxDeployed: 50 },
      never,
    );
    assert.equal(g.admit.size, 50);
    assert.equal(g.counts.pending, 50);
    assert.equal(g.initialize.size, 20, 'the newly admitted may start initializing at once, up to the cap');
    assert.ok(
      [...g.initialize].every((n) => g.admit.has(n)),
      'only admitted previews initialize',
    );
  });
});

// ---- planPreview ----

const template = (spec: Partial<TemplateObject['spec']> = {}): TemplateObject => ({
  metadata: { name: 'web', namespace: 'ns', resourceVersion: '1' },
  spec: {
    app: { port: 8080, template: { spec: { containers: [{ name: 'web' }] } } },
    ingress: { domain: 'preview.example.com' },
    build: {
      image: 'registry.local/${repository}:${commit}',
      template: { spec: { containers: [{ name: 'b', image: 'kaniko' }] } },
    },
    initialize: { template: { spec: { containers: [{ name: 'init' }] } } },
    cleanup: { template: { spec: { containers: [{ name: 'drop', image: 'postgres' }] } } },
    ...spec,
  } as TemplateObject['spec'],
});

const repository: RepositoryObject = {
  metadata: { name: 'shop', namespace: 'ns', generation: 1 },
  spec: { repository: 'acme/shop', template: 'web' },
};

const job = (name: string, outcome: 'Running' | 'Succeeded' | 'Failed'): KubeObject => ({
  metadata: { name, namespace: 'ns' },
  status:
    outcome === 'Running'
      ? {}
      : {
          conditions: [
            {
              type: outcome === 'Succeeded' ? 'Complete' : 'Failed',
              status: 'True',
              reason: outcome === 'Failed' ? 'BackoffLimitExceeded' : undefined,
            },
          ],
        },
});

const GRANTS: PreviewGrants = { admit: false, initialize: false, run: false, stop: false, undeploy: false };

function plan(
  p: PreviewObject,
  opts: {
    tpl?: TemplateObject | null;
    jobs?: KubeObject[];
    deployment?: KubeObject;
    grants?: Partial<PreviewGrants>;
    repo?: RepositoryObject | null;
    namespaceDeleting?: boolean;
  } = {},
): PreviewPlan {
  const tpl = opts.tpl === null ? undefined : (opts.tpl ?? template());
  return planPreview({
    preview: p,
    repository: opts.repo === null ? undefined : (opts.repo ?? repository),
    template: (n) => (tpl && n === tpl.metadata.name ? tpl : undefined),
    job: (n) => opts.jobs?.find((j) => j.metadata.name === n),
    deployment: opts.deployment,
    grants: { ...GRANTS, ...opts.grants },
    now: NOW,
    namespaceDeleting: opts.namespaceDeleting,
  });
}

const reason = (pl: PreviewPlan) => pl.status.conditions?.find((c) => c.type === 'Ready')?.reason;
const created = (pl: PreviewPlan) => pl.create.map((o) => o.metadata.name);
const events = (pl: PreviewPlan) => pl.events.map((e) => e.reason);
const deployment = (replicas: number, available: number, hash?: string): KubeObject => ({
  metadata: { name: 'p', namespace: 'ns', annotations: hash ? { [RENDER_HASH_ANNOTATION]: hash } : {} },
  spec: { replicas },
  status: { replicas: available, availableReplicas: available },
});

describe('planPreview', () => {
  it('adds the finalizer in the plan that admits the preview', () => {
    const pl = plan(preview('p', { finalizer: false }), { grants: { admit: true } });
    assert.equal(pl.addFinalizer, true);
    assert.equal(pl.status.phase, 'Building');
    assert.ok(pl.status.admittedAt);
    assert.deepEqual(created(pl), ['p-build-abcdef0']);
  });

  it('a preview that has its finalizer is not given it again', () => {
    assert.equal(plan(preview('p'), { grants: { admit: true } }).addFinalizer, undefined);
  });

  it('waits in Pending without a deploy slot', () => {
    const pl = plan(preview('p'));
    assert.equal(pl.status.phase, 'Pending');
    assert.equal(reason(pl), 'WaitingForCapacity');
    assert.equal(pl.status.url, undefined);
    assert.deepEqual(created(pl), []);
  });

  it('starts the build when admitted, and records it before the Job exists', () => {
    const pl = plan(preview('p'), { grants: { admit: true } });
    assert.equal(pl.status.phase, 'Building');
    assert.equal(pl.status.buildStatus, 'building');
    assert.equal(pl.status.buildCommit, 'abcdef0123');
    assert.equal(pl.status.admittedAt, '2026-11-23T12:00:00Z');
    assert.equal(pl.status.url, 'http://p.preview.example.com');
    assert.deepEqual(created(pl), ['p-build-abcdef0']);
    assert.deepEqual(events(pl), ['BuildStarted']);
  });

  it('a failed build is Failed with the Job reason, its Job kept', () => {
    const p = preview('p', {
      status: admitted({
        phase: 'Building',
        buildStatus: 'building',
        buildCommit: 'abcdef0123',
        buildAttempt: 0,
        initStatus: undefined,
      }),
    });
    const pl = plan(p, { jobs: [job('p-build-abcdef0', 'Failed')] });
    assert.equal(pl.status.phase, 'Failed');
    assert.equal(pl.status.buildStatus, 'error');
    assert.equal(reason(pl), 'BuildFailed');
    assert.deepEqual(pl.deleteJobs, []);
    assert.match(pl.events[0]?.note ?? '', /BackoffLimitExceeded/);
  });

  it('a reset after a failed build builds again under a new Job name', () => {
    const p = preview('p', {
      annotations: { [RESET_ANNOTATION]: 'x' },
      status: admitted({
        phase: 'Failed',
        buildStatus: 'error',
        buildCommit: 'abcdef0123',
        buildAttempt: 0,
        initStatus: undefined,
      }),
    });
    const pl = plan(p, { jobs: [job('p-build-abcdef0', 'Failed')] });
    assert.deepEqual(created(pl), ['p-build-abcdef0-1']);
    assert.equal(pl.status.resetToken, 'x');
  });

  it('after the build, applies the app at 0 replicas and queues initialization', () => {
    const p = preview('p', {
      status: admitted({
        phase: 'Building',
        buildStatus: 'building',
        buildCommit: 'abcdef0123',
        buildAttempt: 0,
        initStatus: undefined,
      }),
    });
    const pl = plan(p, { jobs: [job('p-build-abcdef0', 'Succeeded')] });
    assert.equal(pl.status.image, 'registry.local/acme/shop:abcdef0123');
    assert.equal(pl.status.initStatus, 'todo');
    assert.equal(pl.status.phase, 'Initializing');
    assert.equal(reason(pl), 'QueuedForInit');
    const kinds = pl.apply?.objects.map((o) => o.kind);
    assert.deepEqual(
      kinds,
      ['Service', 'Ingress', 'Deployment'],
      'the Deployment, which carries the hash, goes last',
    );
    const dep = pl.apply?.objects[2];
    assert.equal(dep?.spec.replicas, 0);
    assert.equal(dep?.spec.template.spec.containers[0].image, 'registry.local/acme/shop:abcdef0123');
  });

  const built = (extra: PreviewStatus) =>
    admitted({
      buildStatus: 'success',
      buildCommit: 'abcdef0123',
      buildAttempt: 0,
      deployedCommit: 'abcdef0123',
      ...extra,
    });

  it('initializes only under its grant', () => {
    const p = preview('p', { status: built({ initStatus: 'todo', initAttempt: 0, phase: 'Initializing' }) });
    assert.deepEqual(created(plan(p)), []);
    const pl = plan(p, { grants: { initialize: true } });
    assert.deepEqual(created(pl), ['p-init-0']);
    assert.equal(pl.status.initStatus, 'initializing');
  });

  it('a preview admitted with an initialization slot queues and starts it in one pass', () => {
    const noBuild = template({ build: undefined });
    const repo = { ...repository, spec: { ...repository.spec, image: 'registry.local/shop:1' } };
    const p = preview('p', { status: {} });
    const pl = plan(p, { tpl: noBuild, repo, grants: { admit: true, initialize: true } });
    assert.equal(pl.status.admittedAt, '2026-11-23T12:00:00Z');
    assert.equal(pl.status.initStatus, 'initializing');
    assert.ok(pl.status.initQueuedAt, 'queued, then started');
    assert.deepEqual(created(pl), ['p-init-0']);
    const waits = plan(p, { tpl: noBuild, repo, grants: { admit: true } });
    assert.equal(waits.status.initStatus, 'todo');
    assert.deepEqual(created(waits), []);
    const building = plan(p, { grants: { admit: true, initialize: true } });
    assert.equal(building.status.initStatus, undefined, 'a build comes first; the slot stays unused');
    assert.deepEqual(created(building), ['p-build-abcdef0']);
  });

  it('a failed initialization is Failed, its Job kept for the logs', () => {
    const p = preview('p', {
      status: built({ initStatus: 'initializing', initAttempt: 0, initJobName: 'p-init-0' }),
    });
    const pl = plan(p, { jobs: [job('p-init-0', 'Failed')] });
    assert.equal(pl.status.initStatus, 'failed');
    assert.equal(pl.status.phase, 'Failed');
    assert.equal(reason(pl), 'InitFailed');
    assert.deepEqual(pl.deleteJobs, []);
  });

  it('a reset re-queues initialization as a new attempt and stops the app', () => {
    const p = preview('p', {
      state: 'Running',
      annotations: { [RESET_ANNOTATION]: '2026-11-23T10:00:00Z' },
      status: built({
        initStatus: 'ready',
        initAttempt: 0,
        initJobName: 'p-init-0',
        replicas: 1,
        phase: 'Running',
      }),
    });
    const pl = plan(p, { grants: { run: true }, deployment: deployment(1, 1) });
    assert.deepEqual(pl.deleteJobs, [], 'the finished attempt stays for its logs');
    assert.equal(pl.status.initStatus, 'todo');
    assert.equal(pl.status.initAttempt, 1);
    assert.equal(pl.status.replicas, 0);
    assert.equal(pl.status.resetToken, '2026-11-23T10:00:00Z');
  });

  describe('an earlier initialization attempt still running is stopped', () => {
    const running = job('p-init-0', 'Running');
    const cases: [string, PreviewObject, KubeObject[], string[]][] = [
      [
        'by the reset',
        preview('p', {
          annotations: { [RESET_ANNOTATION]: 'r' },
          status: built({ initStatus: 'initializing', initAttempt: 0, initJobName: 'p-init-0' }),
        }),
        [running],
        ['p-init-0'],
      ],
      [
        'after a crash that lost the reset’s delete',
        preview('p', {
          annotations: { [RESET_ANNOTATION]: 'r' },
          status: built({ initStatus: 'todo', initAttempt: 1, initJobName: 'p-init-0', resetToken: 'r' }),
        }),
        [running],
        ['p-init-0'],
      ],
      [
        'not twice while it is being deleted',
        preview('p', { status: built({ initStatus: 'todo', initAttempt: 1, initJobName: 'p-init-0' }) }),
        [{ ...running, metadata: { ...running.metadata, deletionTimestamp: 'x' } }],
        [],
      ],
      [
        'not the current attempt',
        preview('p', {
          status: built({ initStatus: 'initializing', initAttempt: 1, initJobName: 'p-init-1' }),
        }),
        [job('p-init-1', 'Running')],
        [],
      ],
    ];
    for (const [name, p, jobs, want] of cases)
      it(name, () =>
        assert.deepEqual(
          plan(p, { jobs, deployment: deployment(0, 0) }).deleteJobs.map((j) => j.name),
          want,
        ),
      );
  });

  it('stays Stopping while its pods terminate', () => {
    const p = preview('p', { status: built({ initStatus: 'ready', replicas: 0, phase: 'Stopping' }) });
    const terminating = { ...deployment(0, 0), status: { replicas: 0, terminatingReplicas: 1 } };
    assert.equal(plan(p, { deployment: terminating }).status.phase, 'Stopping');
    assert.equal(plan(p, { deployment: deployment(0, 0) }).status.phase, 'Stopped');
  });

  it('is Stopped only once its Deployment is seen: the plan that creates it says Deploying', () => {
    const noInit = template({ initialize: undefined });
    const p = preview('p', { status: built({ phase: 'Building' }) });
    const first = plan(p, { tpl: noInit });
    assert.equal(
      first.apply?.objects.some((o) => o.kind === 'Deployment'),
      true,
    );
    assert.equal(first.status.initStatus, 'ready');
    assert.equal(first.status.phase, 'Pending');
    assert.equal(reason(first), 'Deploying');
    const seen = plan(preview('p', { status: first.status }), { tpl: noInit, deployment: deployment(0, 0) });
    assert.equal(seen.status.phase, 'Stopped');
    assert.equal(reason(seen), 'Stopped');
    const asked = plan(preview('p', { state: 'Running', status: first.status }), {
      tpl: noInit,
      grants: { run: true },
    });
    assert.equal(asked.status.phase, 'Starting', 'scaled up before it exists is Starting, as after');
  });

  it('runs when asked and granted, Running once available', () => {
    const p = preview('p', { state: 'Running', status: built({ initStatus: 'ready' }) });
    const starting = plan(p, { grants: { run: true }, deployment: deployment(0, 0) });
    assert.equal(starting.status.replicas, 1);
    assert.equal(starting.status.phase, 'Starting');
    assert.equal(starting.status.lastScaled, '2026-11-23T12:00:00Z');
    const running = plan(
      preview('p', { state: 'Running', status: built({ initStatus: 'ready', replicas: 1 }) }),
      {
        grants: { run: true },
        deployment: deployment(1, 1),
      },
    );
    assert.equal(running.status.phase, 'Running');
    assert.equal(reason(running), 'Running');
  });

  it('waits for a run slot when not granted', () => {
    const pl = plan(preview('p', { state: 'Running', status: built({ initStatus: 'ready' }) }), {
      deployment: deployment(0, 0),
    });
    assert.equal(pl.status.replicas, 0);
    assert.equal(reason(pl), 'WaitingForCapacity');
  });

  it('a capacity stop sets spec.state and scales down', () => {
    const p = preview('p', {
      state: 'Running',
      status: built({ initStatus: 'ready', replicas: 1, phase: 'Running' }),
    });
    const pl = plan(p, { grants: { run: true, stop: true }, deployment: deployment(1, 1, 'h') });
    assert.equal(pl.stop, true);
    assert.equal(pl.status.replicas, 0);
    assert.equal(pl.status.phase, 'Stopping');
    assert.deepEqual(events(pl), ['StoppedForCapacity']);
  });

  it('a new commit rebuilds while the previous one keeps serving', () => {
    const p = preview('p', {
      state: 'Running',
      commit: '1234567aaa',
      status: built({ initStatus: 'ready', replicas: 1, phase: 'Running' }),
    });
    const pl = plan(p, { grants: { run: true }, deployment: deployment(1, 1) });
    assert.deepEqual(created(pl), ['p-build-1234567']);
    assert.equal(pl.status.phase, 'Running');
    assert.equal(reason(pl), 'Running');
    const builtCondition = pl.status.conditions?.find((c) => c.type === 'Built');
    assert.equal(builtCondition?.status, 'Unknown');
    assert.equal(builtCondition?.reason, 'Building');
    assert.equal(pl.apply, undefined);
    assert.equal(pl.status.deployedCommit, 'abcdef0123', 'the old commit still serves');
  });

  it('a stop during a rebuild stops the app of the previous commit', () => {
    const p = preview('p', {
      state: 'Stopped',
      commit: '1234567aaa',
      status: built({
        initStatus: 'ready',
        replicas: 1,
        phase: 'Running',
        buildCommit: '1234567aaa',
        buildStatus: 'building',
      }),
    });
    const pl = plan(p, { deployment: deployment(1, 1, 'h'), jobs: [job('p-build-1234567', 'Running')] });
    assert.equal(pl.scale, 0);
    assert.equal(pl.status.phase, 'Stopping');
  });

  it('re-applies nothing when the Deployment carries the hash of the rendered resources', () => {
    const p = preview('p', { status: built({ initStatus: 'ready' }) });
    const first = plan(p, { deployment: deployment(0, 0) });
    assert.ok(first.apply);
    const again = plan(p, { deployment: deployment(0, 0, first.apply?.hash) });
    assert.equal(again.apply, undefined);
    assert.equal(again.scale, undefined);
  });

  it('rejected resources are not re-applied until they change', () => {
    const p = preview('p', { status: built({ initStatus: 'ready' }) });
    const hash = plan(p, { deployment: deployment(0, 0) }).apply?.hash;
    const pl = plan(preview('p', { status: built({ initStatus: 'ready', rejectedHash: hash }) }), {
      deployment: deployment(0, 0),
    });
    assert.equal(pl.apply, undefined);
    assert.equal(reason(pl), 'ApplyRejected');
  });

  it('a reset while the app is rejected stays requested until the app applies', () => {
    const p = (extra: PreviewStatus) =>
      preview('p', {
        annotations: { [RESET_ANNOTATION]: 'r1' },
        status: built({ initStatus: 'ready', initAttempt: 0, ...extra }),
      });
    const hash = plan(p({}), { deployment: deployment(0, 0) }).apply?.hash;
    const rejected = plan(p({ rejectedHash: hash }), { deployment: deployment(0, 0) });
    assert.equal(rejected.status.resetToken, undefined, 'not carried out, so not recorded');
    assert.equal(rejected.status.initStatus, 'ready');
    const fixed = plan(p({ rejectedHash: 'an older render' }), { deployment: deployment(0, 0) });
    assert.equal(fixed.status.resetToken, 'r1');
    assert.equal(fixed.status.initStatus, 'todo');
    assert.equal(fixed.status.initAttempt, 1);
  });

  describe('a preview that cannot be rendered still stops', () => {
    const running = (state: 'Running' | 'Stopped') =>
      preview('p', { state, status: built({ initStatus: 'ready', replicas: 1, phase: 'Running' }) });
    const cases: [string, PreviewObject, Parameters<typeof plan>[1], number | undefined][] = [
      ['its template is gone and spec.state is Stopped', running('Stopped'), { tpl: null }, 0],
      ['its repository is gone and spec.state is Stopped', running('Stopped'), { repo: null }, 0],
      [
        'its template is gone and maxRunning stops it',
        running('Running'),
        { tpl: null, grants: { stop: true } },
        0,
      ],
      [
        'its template is gone and it may keep running',
        running('Running'),
        { tpl: null, grants: { run: true } },
        undefined,
      ],
    ];
    for (const [name, p, opts, scale] of cases)
      it(name, () => {
        const pl = plan(p, { deployment: deployment(1, 1), ...opts });
        assert.equal(pl.scale, scale);
        assert.equal(pl.status.replicas, scale ?? 1);
        assert.equal(pl.stop, opts?.grants?.stop);
        assert.ok(reason(pl) === 'TemplateNotFound' || reason(pl) === 'RepositoryNotFound');
      });
    it('when its app is rejected and spec.state is Stopped', () => {
      const hash = plan(running('Stopped'), { deployment: deployment(1, 1) }).apply?.hash;
      const p = preview('p', {
        state: 'Stopped',
        status: built({ initStatus: 'ready', replicas: 1, phase: 'Running', rejectedHash: hash }),
      });
      const pl = plan(p, { deployment: deployment(1, 1) });
      assert.equal(reason(pl), 'ApplyRejected');
      assert.equal(pl.scale, 0);
    });
  });

  const invalidCases: [string, () => PreviewPlan, string][] = [
    [
      'unknown variable',
      () =>
        plan(preview('p'), {
          tpl: template({
            build: { image: 'r/${nope}', template: { spec: { containers: [{ name: 'b', image: 'x' }] } } },
          }),
          grants: { admit: true },
        }),
      'InvalidTemplate',
    ],
    [
      'missing template',
      () => plan(preview('p'), { tpl: null, grants: { admit: true } }),
      'TemplateNotFound',
    ],
    [
      'missing repository',
      () => plan(preview('p'), { repo: null, grants: { admit: true } }),
      'RepositoryNotFound',
    ],
    [
      'a container without an image and no ${image}',
      () =>
        plan(preview('p', { status: admitted({ initStatus: undefined }) }), {
          tpl: template({ build: undefined }),
        }),
      'InvalidTemplate',
    ],
  ];
  for (const [name, run, want] of invalidCases) {
    it(`reports ${name} as a condition and one Event, creating nothing`, () => {
      const pl = run();
      assert.equal(reason(pl), want);
      assert.deepEqual(created(pl), []);
      assert.equal(pl.apply, undefined);
      assert.deepEqual(events(pl), [want]);
    });
  }

  describe('undeploy', () => {
    const deleting = (status: PreviewStatus, annotations?: Record<string, string>) =>
      preview('p', { deleting: true, status: { ...status, template: 'web' }, annotations });
    it('stops the app and starts the cleanup Job', () => {
      const pl = plan(deleting(built({ replicas: 1 })), { deployment: deployment(1, 1) });
      assert.equal(pl.status.phase, 'Undeploying');
      assert.equal(pl.scale, 0);
      assert.deepEqual(created(pl), ['p-cleanup']);
      assert.equal(pl.purge, undefined);
    });
    it('purges once the cleanup Job succeeded', () => {
      const pl = plan(deleting(built({ cleanupStatus: 'running' })), {
        jobs: [job('p-cleanup', 'Succeeded')],
      });
      assert.equal(pl.purge, true);
      assert.equal(pl.status.cleanupStatus, 'succeeded');
    });
    it('a failed cleanup holds the finalizer and says how out', () => {
      const pl = plan(deleting(built({ cleanupStatus: 'running' })), { jobs: [job('p-cleanup', 'Failed')] });
      assert.equal(pl.purge, undefined);
      assert.equal(reason(pl), 'CleanupFailed');
      assert.match(pl.status.conditions?.[0]?.message ?? '', new RegExp(SKIP_CLEANUP_ANNOTATION));
    });
    it('in a namespace being deleted, a cleanup that cannot run no longer holds the undeploy', () => {
      for (const [what, status, opts] of [
        ['its template gone', built({}), { tpl: null }],
        ['its Job refused', built({ cleanupStatus: 'failed', rejectedHash: 'x' }), {}],
        ['not started yet', built({}), {}],
      ] as const) {
        const held = plan(deleting(status), opts);
        assert.equal(held.purge, undefined, what);
        const pl = plan(deleting(status), { ...opts, namespaceDeleting: true });
        assert.equal(pl.purge, true, what);
        assert.deepEqual(created(pl), [], what);
        assert.match(
          pl.status.conditions?.[0]?.message ?? '',
          /is being deleted, where no cleanup Job can run/,
        );
      }
    });
    it('skip-cleanup purges at once', () => {
      const pl = plan(deleting(built({}), { [SKIP_CLEANUP_ANNOTATION]: 'true' }));
      assert.equal(pl.purge, true);
      assert.deepEqual(created(pl), []);
    });
    it('a preview that was never admitted has nothing to clean up', () => {
      const pl = plan(preview('p', { deleting: true }));
      assert.equal(pl.purge, true);
    });
    it('a cleanup Job the API server rejected is not created again until it changes', () => {
      const job = plan(deleting(built({}))).create[0] as KubeObject;
      const rejected = built({ cleanupStatus: 'failed', rejectedHash: jobHash(job) });
      const again = plan(deleting(rejected));
      assert.deepEqual(created(again), []);
      assert.equal(reason(again), 'CleanupFailed');
      assert.equal(again.purge, undefined);
      const changed = plan(deleting(rejected), {
        tpl: template({ cleanup: { template: { spec: { containers: [{ name: 'drop', image: 'psql' }] } } } }),
      });
      assert.deepEqual(created(changed), ['p-cleanup'], 'a changed template is tried');
    });
    it('a deleted repository does not block the cleanup', () => {
      const pl = plan(deleting(built({})), { repo: null });
      assert.deepEqual(created(pl), ['p-cleanup']);
    });
    const busyCases: [string, PreviewStatus, KubeObject[], { deleteJobs: string[]; created: string[] }][] = [
      [
        'a running initialization is stopped before the cleanup starts',
        built({ initStatus: 'initializing', initJobName: 'p-init-0' }),
        [job('p-init-0', 'Running')],
        { deleteJobs: ['p-init-0'], created: [] },
      ],
      [
        'a running build is stopped before the cleanup starts',
        built({ buildStatus: 'building', buildJobName: 'p-build-abcdef0' }),
        [job('p-build-abcdef0', 'Running')],
        { deleteJobs: ['p-build-abcdef0'], created: [] },
      ],
      [
        'a Job being stopped is waited for, not deleted again',
        built({ initStatus: 'initializing', initJobName: 'p-init-0' }),
        [{ ...job('p-init-0', 'Running'), metadata: { name: 'p-init-0', deletionTimestamp: 'x' } }],
        { deleteJobs: [], created: [] },
      ],
      [
        'finished Jobs stay for their logs; the cleanup starts',
        built({ initStatus: 'failed', initJobName: 'p-init-0', buildJobName: 'p-build-abcdef0' }),
        [job('p-init-0', 'Failed'), job('p-build-abcdef0', 'Succeeded')],
        { deleteJobs: [], created: ['p-cleanup'] },
      ],
      [
        'a Job that is gone holds nothing back',
        built({ initStatus: 'initializing', initJobName: 'p-init-0' }),
        [],
        { deleteJobs: [], created: ['p-cleanup'] },
      ],
    ];
    for (const [name, status, jobs, want] of busyCases) {
      it(name, () => {
        const pl = plan(deleting(status), { jobs });
        assert.deepEqual({ deleteJobs: pl.deleteJobs.map((j) => j.name), created: created(pl) }, want);
        assert.equal(pl.purge, undefined);
        if (!want.created.length)
          assert.match(pl.status.conditions?.[0]?.message ?? '', /before the cleanup/);
      });
    }
  });
});
