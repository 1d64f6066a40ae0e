// planDaemonJob as table tests: snapshots in, decisions out, with a fixed clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shortHash } from '../../src/api/names.ts';
import {
  type DaemonJobObject,
  nodeResultLabel,
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
  // One try per node unless a test says otherwise.
  spec: { template, backoffLimit: 0, ...spec } as DaemonJobObject['spec'],
  ...(status ? { status } : {}),
});
const runStatus = (extra: object = {}) => ({ templateHash: hash, startTime: RUN_START, ...extra });

type PodState = 'Running' | 'Succeeded' | 'Failed' | 'Deleting';
interface PodOptions {
  hash?: string;
  uid?: string;
  attempt?: number;
  /** Created, and for a finished pod finished, this many seconds ago. */
  age?: number;
  finalizer?: boolean;
  restarts?: number;
}
const pod = (node: string, state: PodState, o: PodOptions = {}): KubeObject => ({
  metadata: {
    name: `dj-${node}${o.attempt ? `-${o.attempt}` : ''}`,
    annotations: { 'bosun.dev/node': node },
    labels: { 'bosun.dev/template-hash': o.hash ?? hash, 'bosun.dev/attempt': String(o.attempt ?? 0) },
    creationTimestamp: ago(o.age ?? 60),
    ownerReferences: [
      {
        apiVersion: 'bosun.dev/v1alpha1',
        kind: 'DaemonJob',
        name: 'dj',
        uid: o.uid ?? 'u',
        controller: true,
      },
    ],
    ...(o.finalizer === false ? {} : { finalizers: ['bosun.dev/node-result'] }),
    ...(state === 'Deleting' ? { deletionTimestamp: ago(1) } : {}),
  },
  status: {
    phase: state === 'Deleting' ? 'Running' : state,
    containerStatuses: [
      {
        name: 'c',
        restartCount: o.restarts ?? 0,
        state:
          state === 'Succeeded' || state === 'Failed'
            ? {
                terminated: {
                  exitCode: state === 'Failed' ? 1 : 0,
                  reason: state === 'Failed' ? 'Error' : 'Completed',
                  finishedAt: ago(o.age ?? 60),
                },
              }
            : { running: {} },
      },
    ],
  },
});

const plan = (s: Partial<Snapshot> & { daemonJob: DaemonJobObject }): Plan =>
  planDaemonJob({ nodes: [], pods: [], now: NOW, ...s });
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

  it('respects maxParallel, counting pods of an older template that still run', () => {
    const p = plan({
      daemonJob: daemonJob({ maxParallel: 2 }),
      nodes: nodes4,
      pods: [pod('n1', 'Running', { hash: 'old' })],
    });
    assert.deepEqual(started(p), ['n1']);
  });

  it('records results and completes; a recorded node is never started again', () => {
    const p = plan({
      daemonJob: daemonJob({}, runStatus({ nodeResults: { n1: 'Succeeded', n2: 'Succeeded' } })),
      nodes: nodes4,
      pods: [pod('n3', 'Succeeded'), pod('n4', 'Succeeded')],
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
      pods: [pod('n1', 'Failed')],
    });
    assert.deepEqual(p.start, []);
    assert.equal(p.status.phase, 'Failed');
    assert.deepEqual(p.status.failedNodes, [
      {
        node: 'n1',
        reason: 'BackoffLimitExceeded',
        message: '1 pod(s) failed, the last (dj-n1) with Error: exit code 1',
      },
    ]);
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
  // Each row: the status the snapshot read, the pods, the nodes → the pods released.
  const cases: [string, object | undefined, KubeObject[], KubeObject[], string[]][] = [
    [
      'a finished pod whose result is not yet in the status read: kept',
      runStatus(),
      [pod('n1', 'Succeeded')],
      [node('n1')],
      [],
    ],
    [
      'a finished pod whose result the status read holds: released',
      runStatus({ nodeResults: { n1: 'Succeeded' } }),
      [pod('n1', 'Succeeded')],
      [node('n1')],
      ['dj-n1'],
    ],
    ['a running pod: kept', runStatus(), [pod('n1', 'Running')], [node('n1')], []],
    [
      'a finished pod of an older template: released',
      runStatus(),
      [pod('n1', 'Succeeded', { hash: 'old' })],
      [node('n1')],
      ['dj-n1'],
    ],
    [
      'a pod of a deleted DaemonJob of the same name: released',
      runStatus(),
      [pod('n1', 'Running', { uid: 'gone' })],
      [node('n1')],
      ['dj-n1'],
    ],
    ['a finished pod whose node is gone: released', runStatus(), [pod('gone', 'Failed')], [], ['dj-gone']],
    [
      'a pod being deleted whose node is gone: released',
      runStatus(),
      [pod('gone', 'Deleting')],
      [],
      ['dj-gone'],
    ],
  ];
  for (const [name, status, pods, nodes, want] of cases)
    it(name, () => assert.deepEqual(plan({ daemonJob: daemonJob({}, status), pods, nodes }).release, want));

  it('a pod of a deleted DaemonJob of the same name counts for nothing', () => {
    const p = plan({
      daemonJob: daemonJob({ maxParallel: 1 }),
      nodes: [node('n1')],
      pods: [pod('n1', 'Succeeded', { uid: 'gone' })],
    });
    assert.deepEqual(started(p), ['n1']);
    assert.equal(p.status.nodeResults, undefined);
  });

  it('a reconcile that reads the DaemonJob from before the last status write does not start a node again (TTL 0)', () => {
    // The API server's pods, with ttlSecondsAfterFinished: 0: a finished pod goes once released.
    let pods = [pod('n1', 'Succeeded')];
    const reconcile = (status: object | undefined) => {
      const p = plan({
        daemonJob: daemonJob({ ttlSecondsAfterFinished: 0 }, status),
        nodes: [node('n1')],
        pods,
      });
      pods = pods.filter((x) => !p.release.includes(x.metadata.name as string));
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

describe('planDaemonJob: deleting a pod only once the status read holds its result', () => {
  // A status write that fails (409) after a delete would leave the next reconcile a deleted try
  // (PodDeleted) and a fresh retry budget, or no NodeDeleted report: each row plans from the status
  // before the write, then from the status the plan wrote.
  const onFailure = { template: { spec: { ...template.spec, restartPolicy: 'OnFailure' } } };
  const onFailureHash = templateHash(onFailure.template);
  const cases: [string, Record<string, unknown>, string, KubeObject[], KubeObject[]][] = [
    [
      'OnFailure restarts past backoffLimit',
      { backoffLimit: 2, ...onFailure },
      onFailureHash,
      [node('n1')],
      [pod('n1', 'Running', { restarts: 3, hash: onFailureHash })],
    ],
    [
      'activeDeadlineSeconds passed',
      { activeDeadlineSeconds: 30 },
      hash,
      [node('n1')],
      [pod('n1', 'Running', { age: 60 })],
    ],
    ['node not Ready too long', {}, hash, [node('n1', { downFor: 400 })], [pod('n1', 'Running')]],
    ['node deleted', {}, hash, [node('n1')], [pod('n1', 'Succeeded'), pod('gone', 'Running')]],
  ];
  for (const [name, spec, runHash, nodes, pods] of cases)
    it(name, () => {
      const before = daemonJob(spec, { templateHash: runHash, startTime: RUN_START });
      const first = plan({ daemonJob: before, nodes, pods });
      assert.deepEqual(first.remove, [], 'not yet');
      const after = plan({ daemonJob: daemonJob(spec, first.status), nodes, pods });
      assert.equal(after.remove.length, 1, 'once the status read holds it');
      assert.deepEqual(after.start, []);
      assert.deepEqual(after.status.failedNodes, first.status.failedNodes);
    });
});

describe('planDaemonJob: nodes that go away', () => {
  it('deletes the pod of a node deleted mid-run and reports NodeDeleted only', () => {
    const status = runStatus({ nodeResults: { n1: 'Succeeded' } });
    const first = plan({
      daemonJob: daemonJob({}, status),
      nodes: [node('n1')],
      pods: [pod('gone', 'Running')],
    });
    assert.deepEqual(first.remove, [], 'not before the status read holds the report');
    assert.equal(first.status.phase, 'Complete');
    assert.deepEqual(
      first.status.failedNodes?.map((f) => f.reason),
      ['NodeDeleted'],
    );
    assert.deepEqual(reasons(first), ['NodeDeleted', 'Completed']);
    const recorded = plan({
      daemonJob: daemonJob({}, first.status),
      nodes: [node('n1')],
      pods: [pod('gone', 'Running')],
    });
    assert.deepEqual(recorded.remove, ['dj-gone']);
    assert.deepEqual(reasons(recorded), []);
    // The next reconcile sees the pod being deleted: still no NodeFailed, no result, no second report.
    const next = plan({
      daemonJob: daemonJob({}, first.status),
      nodes: [node('n1')],
      pods: [pod('gone', 'Deleting')],
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
      pods: [pod('n1', 'Failed')],
    });
    assert.equal(p.status.failedNodes?.length, 50);
    assert.deepEqual(p.status.failedNodes?.[0], {
      node: 'n1',
      reason: 'BackoffLimitExceeded',
      message: '1 pod(s) failed, the last (dj-n1) with Error: exit code 1',
    });
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
    // Each round: start what is new, let every pod succeed, record, release (TTL deletes them).
    const runToCompletion = () => {
      const starting = plan({ daemonJob: daemonJob({}, status), nodes });
      status = starting.status;
      const pods = starting.start.map((s) => pod(s.node, 'Succeeded'));
      status = plan({ daemonJob: daemonJob({}, status), nodes, pods }).status;
      return plan({ daemonJob: daemonJob({}, status), nodes, pods }).status;
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
    it(`a node that dies while its pod runs, ${name}`, () => {
      const p = plan({
        daemonJob: daemonJob(spec, runStatus({ nodeResults: { n1: 'Succeeded' } })),
        nodes: [node('n1'), node('n2', { downFor })],
        pods: [pod('n2', 'Running')],
      });
      assert.deepEqual(p.status.notReady, gaveUp ? undefined : ['n2']);
      if (gaveUp) {
        assert.equal(p.status.phase, 'Failed');
        assert.equal(p.status.nodeResults?.n2, 'Failed');
        assert.deepEqual(p.remove, [], 'not before the status read holds the failure');
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

  it('a pod deleted because its node was not Ready is recorded as NodeNotReady, not PodDeleted', () => {
    const p = plan({
      daemonJob: daemonJob({}, runStatus()),
      nodes: [node('n1', { downFor: 400 })],
      pods: [pod('n1', 'Deleting')],
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
        pods: [pod('b', 'Succeeded', { hash: specHash })],
      });
      assert.equal(p.status.desired, runs ? 3 : 2);
      assert.deepEqual(started(p), runs ? [late.metadata.name] : []);
    });
});

describe('planDaemonJob: retries, deadlines and the TTL', () => {
  const retrying = (pods: KubeObject[], spec: Record<string, unknown> = {}) =>
    plan({ daemonJob: daemonJob({ backoffLimit: 2, ...spec }, runStatus()), nodes: [node('n1')], pods });

  // Each row: the node's pods (age = seconds since the try failed) → the try started, or the wait.
  const cases: [string, KubeObject[], number | undefined, number | undefined][] = [
    [
      'first try failed 11 s ago: second try (10 s backoff)',
      [pod('n1', 'Failed', { age: 11 })],
      1,
      undefined,
    ],
    ['first try failed 4 s ago: waits 6 s more', [pod('n1', 'Failed', { age: 4 })], undefined, 6000],
    [
      'second try failed 15 s ago: waits for the 20 s backoff',
      [pod('n1', 'Failed', { age: 60 }), pod('n1', 'Failed', { attempt: 1, age: 15 })],
      undefined,
      5000,
    ],
    [
      'a try deleted before it finished counts as failed',
      [pod('n1', 'Failed', { age: 60 }), pod('n1', 'Deleting', { attempt: 1 })],
      undefined,
      19_000,
    ],
  ];
  for (const [name, pods, attempt, wait] of cases)
    it(name, () => {
      const p = retrying(pods);
      assert.deepEqual(
        p.start.map((s) => [s.name, s.attempt]),
        attempt === undefined ? [] : [[`dj-n1-${hash.slice(0, 6)}-${attempt}`, attempt]],
      );
      assert.equal(p.requeueAfterMs, wait);
      assert.deepEqual([p.status.phase, p.status.active, p.status.failed], ['Running', 1, 0]);
    });

  it('fails the node with BackoffLimitExceeded after backoffLimit + 1 failed tries', () => {
    const tries = [0, 1, 2].map((attempt) => pod('n1', 'Failed', { attempt, age: 100 - attempt }));
    const p = retrying(tries);
    assert.deepEqual(p.start, []);
    assert.equal(p.status.phase, 'Failed');
    assert.match(
      p.status.failedNodes?.[0]?.message ?? '',
      /^3 pod\(s\) failed, the last \(dj-n1-2\) with Error/,
    );
    assert.deepEqual(p.release, [], 'kept until the status read holds the result');
    const next = retrying(tries.map((t) => t));
    assert.deepEqual(next.release, []);
    const recorded = plan({
      daemonJob: daemonJob({ backoffLimit: 2 }, p.status),
      nodes: [node('n1')],
      pods: tries,
    });
    assert.deepEqual(recorded.release, ['dj-n1', 'dj-n1-1', 'dj-n1-2'], 'every try released');
  });

  it('a retry keeps its slot under maxParallel', () => {
    const p = plan({
      daemonJob: daemonJob({ backoffLimit: 1, maxParallel: 1 }, runStatus()),
      nodes: [node('n1'), node('n2')],
      pods: [pod('n1', 'Failed', { age: 30 })],
    });
    assert.deepEqual(started(p), ['n1']);
    assert.equal(p.start[0]?.attempt, 1);
  });

  it('with restartPolicy OnFailure, restarts past backoffLimit fail the node and delete the pod', () => {
    const onFailure = { template: { spec: { ...template.spec, restartPolicy: 'OnFailure' } } };
    const p = plan({
      daemonJob: daemonJob(
        { backoffLimit: 2, ...onFailure },
        { ...runStatus(), templateHash: templateHash(onFailure.template) },
      ),
      nodes: [node('n1')],
      pods: [pod('n1', 'Running', { restarts: 3, hash: templateHash(onFailure.template) })],
    });
    assert.equal(p.status.failedNodes?.[0]?.reason, 'BackoffLimitExceeded');
    assert.deepEqual(p.remove, [], 'not before the status read holds the failure');
  });

  it('activeDeadlineSeconds covers every try of a node: past it, the running pod goes and the node fails', () => {
    const running = retrying(
      [pod('n1', 'Failed', { age: 50 }), pod('n1', 'Running', { attempt: 1, age: 30 })],
      {
        activeDeadlineSeconds: 40,
      },
    );
    assert.equal(running.status.failedNodes?.[0]?.reason, 'DeadlineExceeded');
    assert.deepEqual(running.remove, [], 'not before the status read holds the failure');
    const within = retrying([pod('n1', 'Failed', { age: 15 })], { activeDeadlineSeconds: 40 });
    assert.deepEqual(
      within.start.map((s) => s.activeDeadlineSeconds),
      [25],
      'the next try gets what is left of the deadline',
    );
    const fresh = plan({ daemonJob: daemonJob({ activeDeadlineSeconds: 40 }), nodes: [node('n1')] });
    assert.equal(fresh.start[0]?.activeDeadlineSeconds, 40);
  });

  it('ttlSecondsAfterFinished deletes a finished pod once its result is recorded and the TTL passed', () => {
    const status = runStatus({ nodeResults: { n1: 'Succeeded', n2: 'Succeeded' } });
    const p = plan({
      daemonJob: daemonJob({ ttlSecondsAfterFinished: 30 }, status),
      nodes: [node('n1'), node('n2')],
      pods: [pod('n1', 'Succeeded', { age: 40 }), pod('n2', 'Succeeded', { age: 10, finalizer: false })],
    });
    assert.deepEqual(p.remove, ['dj-n1']);
    assert.deepEqual(p.release, ['dj-n1']);
    assert.equal(p.requeueAfterMs, 20_000, 'looks again when the second one is due');
    const unrecorded = plan({
      daemonJob: daemonJob({ ttlSecondsAfterFinished: 0 }, runStatus()),
      nodes: [node('n1')],
      pods: [pod('n1', 'Succeeded', { age: 40 })],
    });
    assert.deepEqual(unrecorded.remove, [], 'not before the status read holds the result');
  });

  it('names each try of a node apart, and the same try the same way every time', () => {
    const first = plan({ daemonJob: daemonJob(), nodes: [node('n1')] });
    const again = plan({ daemonJob: daemonJob(), nodes: [node('n1')] });
    assert.deepEqual(first.start, again.start);
    assert.equal(first.start[0]?.name, `dj-n1-${hash.slice(0, 6)}-0`);
  });
});

describe('planDaemonJob: labelNodes', () => {
  const key = 'daemonjob.bosun.dev/ns.dj';
  // Each row: labelNodes, the nodes' results and labels → the nodes to label.
  const cases: [string, boolean, Record<string, string>, Record<string, Record<string, string>>, string[]][] =
    [
      ['off: no label', false, { n1: 'Succeeded' }, {}, []],
      ['labels a node that succeeded', true, { n1: 'Succeeded', n2: 'Failed' }, {}, ['n1']],
      ['not again once it carries this run’s hash', true, { n1: 'Succeeded' }, { n1: { [key]: hash } }, []],
      [
        'again when it carries an older run’s hash',
        true,
        { n1: 'Succeeded' },
        { n1: { [key]: 'old' } },
        ['n1'],
      ],
    ];
  for (const [name, labelNodes, nodeResults, labels, want] of cases)
    it(name, () => {
      const p = plan({
        daemonJob: daemonJob({ labelNodes }, runStatus({ nodeResults })),
        nodes: ['n1', 'n2'].map((n) => node(n, { labels: labels[n] ?? {} })),
      });
      assert.deepEqual(p.labelNodes, want);
    });

  it('a DaemonJob of the same name in another namespace has a key of its own', () => {
    // That one's label on n1 does not count as this one's, nor the other way round: no ping-pong.
    const p = plan({
      daemonJob: daemonJob({ labelNodes: true }, runStatus({ nodeResults: { n1: 'Succeeded' } })),
      nodes: [
        node('n1', { labels: { 'daemonjob.bosun.dev/other.dj': hash, 'daemonjob.bosun.dev/dj': hash } }),
      ],
    });
    assert.deepEqual(p.labelNodes, ['n1']);
  });

  // Each row: namespace, name → the key; the part after the '/' has at most 63 characters.
  const long = 'a'.repeat(70);
  const keys: [string, string, string][] = [
    ['ns', 'dj', 'daemonjob.bosun.dev/ns.dj'],
    ['team-a', 'disk.setup', 'daemonjob.bosun.dev/team-a.disk.setup'],
    ['a', long.slice(0, 61), `daemonjob.bosun.dev/a.${long.slice(0, 61)}`],
    [
      'a',
      long.slice(0, 62),
      `daemonjob.bosun.dev/a.${long.slice(0, 52)}-${shortHash(`a.${long.slice(0, 62)}`)}`,
    ],
    [
      'b',
      long.slice(0, 62),
      `daemonjob.bosun.dev/b.${long.slice(0, 52)}-${shortHash(`b.${long.slice(0, 62)}`)}`,
    ],
  ];
  for (const [namespace, name, want] of keys)
    it(`the key of ${namespace}/${name.length > 20 ? `${name.slice(0, 4)}… (${name.length})` : name}`, () => {
      const key = nodeResultLabel(namespace, name);
      assert.equal(key, want);
      assert.match(key.split('/')[1] as string, /^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$/);
    });
});

describe('planDaemonJob: per-node Jobs of a Bosun upgraded mid-run', () => {
  type JobState = 'Running' | 'Complete' | 'Failed' | 'Deleting';
  const job = (node: string, state: JobState, o: { hash?: string; uid?: string } = {}): KubeObject => ({
    metadata: {
      name: `job-${node}`,
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
                lastTransitionTime: ago(10),
                ...(state === 'Failed'
                  ? { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }
                  : {}),
              },
            ],
          }
        : {},
  });
  interface Row {
    name: string;
    status?: object;
    jobs: KubeObject[];
    spec?: Record<string, unknown>;
    want: { start: string[]; results?: Record<string, string>; releaseJobs: string[]; active: number };
  }
  const rows: Row[] = [
    {
      name: 'a running Job is its node’s try: no second pod, and it holds a maxParallel slot',
      spec: { maxParallel: 2 },
      jobs: [job('n1', 'Running')],
      want: { start: ['n2'], releaseJobs: [], active: 2 },
    },
    {
      name: 'a running Job of an older template holds a slot and keeps its finalizer',
      spec: { maxParallel: 1 },
      jobs: [job('n1', 'Running', { hash: 'old' })],
      want: { start: [], releaseJobs: [], active: 0 },
    },
    {
      name: 'a Job that completed: recorded, finalizer kept until the status read holds it',
      jobs: [job('n1', 'Complete')],
      want: { start: ['n2', 'n3'], results: { n1: 'Succeeded' }, releaseJobs: [], active: 2 },
    },
    {
      name: 'a Job that failed: the node failed with the Job’s reason',
      jobs: [job('n1', 'Failed')],
      want: { start: ['n2', 'n3'], results: { n1: 'Failed' }, releaseJobs: [], active: 2 },
    },
    {
      name: 'a finished Job whose result the status read holds: released',
      status: { nodeResults: { n1: 'Succeeded' } },
      jobs: [job('n1', 'Complete')],
      want: { start: ['n2', 'n3'], results: { n1: 'Succeeded' }, releaseJobs: ['job-n1'], active: 2 },
    },
    {
      name: 'Jobs of an older template, of a deleted DaemonJob, of a gone node, or deleted: released',
      jobs: [
        job('n1', 'Complete', { hash: 'old' }),
        {
          ...job('n2', 'Running', { uid: 'gone' }),
          metadata: { ...job('n2', 'Running', { uid: 'gone' }).metadata, name: 'job-other' },
        },
        job('gone', 'Running'),
        job('n3', 'Deleting'),
      ],
      want: {
        start: ['n1', 'n2', 'n3'],
        releaseJobs: ['job-n1', 'job-other', 'job-gone', 'job-n3'],
        active: 3,
      },
    },
  ];
  for (const { name, status, jobs, spec, want } of rows)
    it(name, () => {
      const p = plan({
        daemonJob: daemonJob(spec, runStatus(status)),
        nodes: ['n1', 'n2', 'n3'].map((n) => node(n)),
        legacyJobs: jobs,
      });
      assert.deepEqual(started(p), want.start);
      assert.deepEqual(p.status.nodeResults, want.results);
      assert.deepEqual(p.releaseJobs, want.releaseJobs);
      assert.equal(p.status.active, want.active);
    });

  it('a failed Job is reported with its reason', () => {
    const p = plan({
      daemonJob: daemonJob({}, runStatus()),
      nodes: [node('n1')],
      legacyJobs: [job('n1', 'Failed')],
    });
    assert.deepEqual(p.status.failedNodes, [
      {
        node: 'n1',
        reason: 'BackoffLimitExceeded',
        message: 'Job job-n1 failed with BackoffLimitExceeded: Job has reached the specified backoff limit',
      },
    ]);
    assert.equal(p.status.phase, 'Failed');
  });
});
