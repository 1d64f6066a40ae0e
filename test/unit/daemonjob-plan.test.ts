// planDaemonJob as table tests: snapshots in, decisions out, with a fixed clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type DaemonJobObject,
  type Plan,
  planDaemonJob,
  type Snapshot,
  templateHash,
} from '../../src/controllers/daemonjob/plan.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';

const NOW = new Date('2026-06-01T00:00:00Z');
const RUN_START = '2026-05-31T00:00:00Z';
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();
const template = { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } };
const hash = templateHash(template);

interface NodeOptions {
  labels?: Record<string, string>;
  /** Not Ready since this many seconds ago. */
  downFor?: number;
  created?: string;
}
const node = (name: string, o: NodeOptions = {}): KubeObject => ({
  metadata: { name, labels: o.labels ?? {}, creationTimestamp: o.created ?? '2026-01-01T00:00:00Z' },
  spec: {},
  status: {
    conditions: [
      o.downFor === undefined
        ? { type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }
        : { type: 'Ready', status: 'False', lastTransitionTime: ago(o.downFor) },
    ],
  },
});

const daemonJob = (spec: Record<string, unknown> = {}, status?: object, generation = 1): DaemonJobObject => ({
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'DaemonJob',
  metadata: { name: 'dj', namespace: 'ns', uid: 'u', generation },
  spec: { template, ...spec } as DaemonJobObject['spec'],
  ...(status ? { status } : {}),
});
const runStatus = (extra: object = {}) => ({ templateHash: hash, startTime: RUN_START, ...extra });

type JobState = 'Running' | 'Complete' | 'Failed' | 'Deleting';
const job = (node: string, state: JobState, o: { hash?: string; uid?: string } = {}): KubeObject => ({
  metadata: {
    name: `dj-${node}`,
    annotations: { 'bosun.dev/node': node },
    labels: { 'bosun.dev/template-hash': o.hash ?? hash },
    ownerReferences: [
      {
        apiVersion: 'bosun.dev/v1alpha1',
        kind: 'DaemonJob',
        name: 'dj',
        uid: o.uid ?? 'u',
        controller: true,
      },
    ],
    finalizers: ['bosun.dev/node-result'],
    ...(state === 'Deleting' ? { deletionTimestamp: ago(1) } : {}),
  },
  status:
    state === 'Complete' || state === 'Failed'
      ? {
          conditions: [
            {
              type: state,
              status: 'True',
              ...(state === 'Failed' ? { reason: 'BackoffLimitExceeded' } : {}),
            },
          ],
        }
      : {},
});

const plan = (s: Partial<Snapshot> & { daemonJob: DaemonJobObject }): Plan =>
  planDaemonJob({ nodes: [], jobs: [], now: NOW, ...s });
const started = (p: Plan) => p.start.map((s) => s.node);
const reasons = (p: Plan) => p.events.map((e) => e.reason);
const nodes4 = ['n1', 'n2', 'n3', 'n4'].map((n) => node(n));

describe('planDaemonJob: starting nodes', () => {
  it('starts every eligible node when there is no limit', () => {
    const p = plan({ daemonJob: daemonJob(), nodes: nodes4 });
    assert.deepEqual(started(p), ['n1', 'n2', 'n3', 'n4']);
    assert.equal(p.status.phase, 'Running');
    assert.equal(p.status.active, 4);
  });

  it('respects maxParallel, counting Jobs of an older template that still run', () => {
    const p = plan({
      daemonJob: daemonJob({ maxParallel: 2 }),
      nodes: nodes4,
      jobs: [job('n1', 'Running', { hash: 'old' })],
    });
    assert.deepEqual(started(p), ['n1']);
  });

  it('records results and completes; a recorded node is never started again', () => {
    const p = plan({
      daemonJob: daemonJob({}, runStatus({ nodeResults: { n1: 'Succeeded', n2: 'Succeeded' } })),
      nodes: nodes4,
      jobs: [job('n3', 'Complete'), job('n4', 'Complete')],
    });
    assert.deepEqual(p.start, []);
    assert.equal(p.status.phase, 'Complete');
    assert.deepEqual(p.status.nodeResults, {
      n1: 'Succeeded',
      n2: 'Succeeded',
      n3: 'Succeeded',
      n4: 'Succeeded',
    });
    assert.ok(reasons(p).includes('Completed'));
  });

  it('FailFast starts nothing after a failure and ends Failed', () => {
    const p = plan({
      daemonJob: daemonJob({ maxParallel: 1, failurePolicy: 'FailFast' }),
      nodes: nodes4,
      jobs: [job('n1', 'Failed')],
    });
    assert.deepEqual(p.start, []);
    assert.equal(p.status.phase, 'Failed');
    assert.deepEqual(p.status.failedNodes, [{ node: 'n1', reason: 'BackoffLimitExceeded' }]);
  });

  it('a template change starts a new run that forgets the old results', () => {
    const status = {
      templateHash: 'old',
      startTime: RUN_START,
      nodeResults: { n1: 'Succeeded' },
      phase: 'Complete',
    };
    const p = plan({ daemonJob: daemonJob({}, status), nodes: [node('n1')] });
    assert.deepEqual(started(p), ['n1']);
    assert.equal(p.status.templateHash, hash);
  });
});

describe('planDaemonJob: releasing result finalizers', () => {
  // Each row: the status the snapshot read, the Jobs, the nodes → the Jobs released.
  const cases: [string, object | undefined, KubeObject[], KubeObject[], string[]][] = [
    [
      'a finished Job whose result is not yet in the status read: kept',
      runStatus(),
      [job('n1', 'Complete')],
      [node('n1')],
      [],
    ],
    [
      'a finished Job whose result the status read holds: released',
      runStatus({ nodeResults: { n1: 'Succeeded' } }),
      [job('n1', 'Complete')],
      [node('n1')],
      ['dj-n1'],
    ],
    ['a running Job: kept', runStatus(), [job('n1', 'Running')], [node('n1')], []],
    [
      'a finished Job of an older template: released',
      runStatus(),
      [job('n1', 'Complete', { hash: 'old' })],
      [node('n1')],
      ['dj-n1'],
    ],
    [
      'a Job of a deleted DaemonJob of the same name: released',
      runStatus(),
      [job('n1', 'Running', { uid: 'gone' })],
      [node('n1')],
      ['dj-n1'],
    ],
    ['a finished Job whose node is gone: released', runStatus(), [job('gone', 'Failed')], [], ['dj-gone']],
    [
      'a Job being deleted whose node is gone: released',
      runStatus(),
      [job('gone', 'Deleting')],
      [],
      ['dj-gone'],
    ],
  ];
  for (const [name, status, jobs, nodes, want] of cases)
    it(name, () => assert.deepEqual(plan({ daemonJob: daemonJob({}, status), jobs, nodes }).release, want));

  it('a Job of a deleted DaemonJob of the same name counts for nothing', () => {
    const p = plan({
      daemonJob: daemonJob({ maxParallel: 1 }),
      nodes: [node('n1')],
      jobs: [job('n1', 'Complete', { uid: 'gone' })],
    });
    assert.deepEqual(started(p), ['n1']);
    assert.equal(p.status.nodeResults, undefined);
  });

  it('a reconcile that reads the DaemonJob from before the last status write does not start a node again (TTL 0)', () => {
    // The API server's Jobs, with ttlSecondsAfterFinished: 0: a finished Job goes once released.
    let jobs = [job('n1', 'Complete')];
    const reconcile = (status: object | undefined) => {
      const p = plan({
        daemonJob: daemonJob({ ttlSecondsAfterFinished: 0 }, status),
        nodes: [node('n1')],
        jobs,
      });
      jobs = jobs.filter((j) => !p.release.includes(j.metadata.name as string));
      return p;
    };
    const before = runStatus({ active: 1 });
    const first = reconcile(before);
    assert.equal(first.status.nodeResults?.n1, 'Succeeded');
    // The cache has not seen that write yet: the same DaemonJob again.
    const stale = reconcile(before);
    assert.deepEqual(started(stale), [], 'n1 ran once; it must not start again');
    const fresh = reconcile(first.status);
    assert.deepEqual(fresh.release, ['dj-n1']);
    assert.deepEqual(started(reconcile(first.status)), []);
  });
});

describe('planDaemonJob: nodes that go away', () => {
  it('deletes the Job of a node deleted mid-run and reports NodeDeleted only', () => {
    const status = runStatus({ nodeResults: { n1: 'Succeeded' } });
    const first = plan({
      daemonJob: daemonJob({}, status),
      nodes: [node('n1')],
      jobs: [job('gone', 'Running')],
    });
    assert.deepEqual(first.remove, ['dj-gone']);
    assert.equal(first.status.phase, 'Complete');
    assert.deepEqual(
      first.status.failedNodes?.map((f) => f.reason),
      ['NodeDeleted'],
    );
    assert.deepEqual(reasons(first), ['NodeDeleted', 'Completed']);
    // The next reconcile sees the Job being deleted: still no NodeFailed, no result, no second report.
    const next = plan({
      daemonJob: daemonJob({}, first.status),
      nodes: [node('n1')],
      jobs: [job('gone', 'Deleting')],
    });
    assert.deepEqual(reasons(next), []);
    assert.deepEqual(next.status.nodeResults, { n1: 'Succeeded' });
    assert.deepEqual(
      next.status.failedNodes?.map((f) => f.reason),
      ['NodeDeleted'],
    );
    assert.equal(next.status.failed, 0);
  });

  it('lists failures of the run before nodes deleted mid-run, within the 50 listed', () => {
    const deleted = Array.from({ length: 50 }, (_, i) => ({ node: `gone-${i}`, reason: 'NodeDeleted' }));
    const p = plan({
      daemonJob: daemonJob({}, runStatus({ failedNodes: deleted })),
      nodes: [node('n1')],
      jobs: [job('n1', 'Failed')],
    });
    assert.equal(p.status.failedNodes?.length, 50);
    assert.deepEqual(p.status.failedNodes?.[0], { node: 'n1', reason: 'BackoffLimitExceeded' });
  });

  it('forgets the results of nodes that no longer exist', () => {
    const status = runStatus({ nodeResults: { n1: 'Succeeded', gone: 'Failed' } });
    const p = plan({ daemonJob: daemonJob({}, status), nodes: [node('n1')] });
    assert.deepEqual(p.status.nodeResults, { n1: 'Succeeded' });
  });

  it('stays small under node churn: 5,000 nodes, 10 rounds replacing 1,000', (t) => {
    // Cloud-style names (40 characters), as on EC2.
    let serial = 0;
    const fresh = (count: number) =>
      Array.from({ length: count }, () => {
        serial++;
        return node(
          `ip-10-${serial >> 16}-${(serial >> 8) & 255}-${serial & 255}.eu-west-1.compute.internal`,
        );
      });
    let nodes = fresh(5000);
    let status: object | undefined;
    // Each round: start what is new, let every Job succeed, record, release (TTL deletes them).
    const runToCompletion = () => {
      const starting = plan({ daemonJob: daemonJob({}, status), nodes });
      status = starting.status;
      const jobs = starting.start.map((s) => job(s.node, 'Complete'));
      status = plan({ daemonJob: daemonJob({}, status), nodes, jobs }).status;
      return plan({ daemonJob: daemonJob({}, status), nodes, jobs }).status;
    };
    let last = runToCompletion();
    for (let round = 0; round < 10; round++) {
      nodes = [...nodes.slice(1000), ...fresh(1000)];
      last = runToCompletion();
    }
    assert.equal(last.phase, 'Complete');
    assert.equal(last.succeeded, 5000);
    assert.deepEqual(
      Object.keys(last.nodeResults ?? {}).sort(),
      nodes.map((n) => n.metadata.name).sort(),
      'only nodes that exist',
    );
    const bytes = JSON.stringify(last).length;
    t.diagnostic(`status at 5,000 nodes after 10,000 replaced: ${bytes} bytes`);
    assert.ok(bytes < 400_000, `${bytes} bytes, etcd refuses objects over 1.5 MB`);
  });
});

describe('planDaemonJob: nodes that are not Ready (timeout 300 s unless set)', () => {
  const notReadyCases: [string, Record<string, unknown>, number, boolean][] = [
    ['default timeout, 299 s down: still waited for', {}, 299, false],
    ['default timeout, 300 s down: failed', {}, 300, true],
    ['notReadyTimeoutSeconds 60, 61 s down: failed', { notReadyTimeoutSeconds: 60 }, 61, true],
    ['notReadyTimeoutSeconds 600, 500 s down: still waited for', { notReadyTimeoutSeconds: 600 }, 500, false],
  ];
  for (const [name, spec, downFor, gaveUp] of notReadyCases) {
    it(`a node that dies while its Job runs, ${name}`, () => {
      const p = plan({
        daemonJob: daemonJob(spec, runStatus({ nodeResults: { n1: 'Succeeded' } })),
        nodes: [node('n1'), node('n2', { downFor })],
        jobs: [job('n2', 'Running')],
      });
      assert.deepEqual(p.status.notReady, gaveUp ? undefined : ['n2']);
      if (gaveUp) {
        assert.equal(p.status.phase, 'Failed');
        assert.equal(p.status.nodeResults?.n2, 'Failed');
        assert.deepEqual(p.remove, ['dj-n2']);
        assert.equal(p.status.failedNodes?.[0]?.reason, 'NodeNotReady');
        assert.ok(reasons(p).includes('NodeNotReady'));
        assert.equal(p.requeueAfterMs, undefined);
      } else {
        assert.equal(p.status.phase, 'Running');
        assert.equal(p.status.active, 1);
        assert.deepEqual(p.remove, []);
        const timeout = (spec.notReadyTimeoutSeconds as number | undefined) ?? 300;
        assert.equal(p.requeueAfterMs, (timeout - downFor) * 1000, 'looks again when the timeout comes');
      }
    });
  }

  it('a Job deleted because its node was not Ready is recorded as NodeNotReady, not JobDeleted', () => {
    const p = plan({
      daemonJob: daemonJob({}, runStatus()),
      nodes: [node('n1', { downFor: 400 })],
      jobs: [job('n1', 'Deleting')],
    });
    assert.deepEqual(
      p.status.failedNodes?.map((f) => f.reason),
      ['NodeNotReady'],
    );
  });

  it('a node never started counts as failed while down too long, and runs when it is Ready again', () => {
    const down = plan({
      daemonJob: daemonJob({}, runStatus({ nodeResults: { n1: 'Succeeded' } })),
      nodes: [node('n1'), node('n2', { downFor: 301 })],
    });
    assert.equal(down.status.phase, 'Failed');
    assert.deepEqual([down.status.failed, down.status.pending], [1, 0]);
    assert.deepEqual(down.status.failedNodes, [
      { node: 'n2', reason: 'NodeNotReady', message: 'node n2 has not been Ready for 300s' },
    ]);
    assert.deepEqual(down.status.nodeResults, { n1: 'Succeeded' }, 'not recorded');
    assert.deepEqual(reasons(down), ['NodeNotReady', 'Failed']);
    const stillDown = plan({
      daemonJob: daemonJob({}, down.status),
      nodes: [node('n1'), node('n2', { downFor: 400 })],
    });
    assert.deepEqual(reasons(stillDown), [], 'reported once');
    const back = plan({ daemonJob: daemonJob({}, down.status), nodes: [node('n1'), node('n2')] });
    assert.deepEqual(started(back), ['n2']);
    assert.equal(back.status.phase, 'Running');
    assert.equal(back.status.failedNodes, undefined);
  });
});

describe('planDaemonJob: a template Kubernetes rejects', () => {
  const rejected =
    'Kubernetes rejected the per-node Job: spec.template.spec.containers[0].name: Invalid value: "Bad_Name"';
  const first = plan({ daemonJob: daemonJob(), nodes: nodes4, rejected });

  it('is reported as the Failed condition and an Event, and starts nothing', () => {
    assert.deepEqual(first.start, []);
    assert.equal(first.status.phase, 'Failed');
    const failed = first.status.conditions?.find((c) => c.type === 'Failed');
    assert.deepEqual(
      [failed?.status, failed?.reason, failed?.message],
      ['True', 'InvalidTemplate', rejected],
    );
    assert.ok(reasons(first).includes('InvalidTemplate'));
  });

  const cases: [string, DaemonJobObject, boolean][] = [
    ['same template and generation: not tried again', daemonJob({}, first.status), false],
    ['spec changed (new generation): tried again', daemonJob({}, first.status, 2), true],
    [
      'template changed: tried again',
      daemonJob({ template: { ...template, metadata: { labels: { v: '2' } } } }, first.status),
      true,
    ],
  ];
  for (const [name, dj, retries] of cases)
    it(name, () => {
      const p = plan({ daemonJob: dj, nodes: nodes4 });
      assert.equal(p.start.length, retries ? 4 : 0);
      if (!retries) {
        assert.deepEqual(p.status, first.status, 'the status stays as written');
        assert.deepEqual(reasons(p), [], 'no Event again');
      }
    });
});

describe('planDaemonJob: newNodes', () => {
  const pool = { labels: { pool: 'a' } };
  const spec = (newNodes: string) => ({
    newNodes,
    maxParallel: 1,
    template: { spec: { ...template.spec, nodeSelector: { pool: 'a' } } },
  });
  const specHash = templateHash(spec('Run').template);
  const runStarted = { templateHash: specHash, startTime: RUN_START };

  it('Ignore records the nodes eligible when the run starts', () => {
    const p = plan({
      daemonJob: daemonJob(spec('Ignore')),
      nodes: [node('a', pool), node('b', pool), node('c')],
    });
    assert.deepEqual(started(p), ['a']);
    assert.deepEqual(p.status.nodeResults, { a: 'Pending', b: 'Pending' });
  });

  // Each row: newNodes, the node that was not part of the run at its start → does it run?
  const cases: [string, string, KubeObject, boolean][] = [
    ['Ignore', 'created after the run started', node('late', { ...pool, created: ago(60) }), false],
    ['Ignore', 'created before the run but labelled after it started', node('relabelled', pool), false],
    ['Run', 'created before the run but labelled after it started', node('relabelled', pool), true],
    ['Run', 'created after the run started', node('late', { ...pool, created: ago(60) }), true],
  ];
  for (const [newNodes, what, late, runs] of cases)
    it(`${newNodes}: a node ${what} ${runs ? 'runs' : 'does not run'}`, () => {
      const status = {
        ...runStarted,
        nodeResults: newNodes === 'Ignore' ? { a: 'Succeeded', b: 'Pending' } : { a: 'Succeeded' },
      };
      const p = plan({
        daemonJob: daemonJob(spec(newNodes), status),
        nodes: [node('a', pool), node('b', pool), late],
        jobs: [job('b', 'Complete', { hash: specHash })],
      });
      assert.equal(p.status.desired, runs ? 3 : 2);
      assert.deepEqual(started(p), runs ? [late.metadata.name] : []);
    });
});
