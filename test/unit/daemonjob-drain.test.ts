// Cordon and drain in planDaemonJob, as table tests: nodes (with their cordon and marks), the pods on
// the nodes being drained and the status in; cordons, evictions, uncordons and starts out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { daemonJobSpec } from '../../src/api/daemonjob.ts';
import { validate } from '../../src/api/schema.ts';
import { drainStep, drainTargets } from '../../src/controllers/daemonjob/drain.ts';
import {
  type DaemonJobObject,
  type Plan,
  planDaemonJob,
  type Snapshot,
  templateHash,
} from '../../src/controllers/daemonjob/plan.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';
import { perNodePod } from '../support/daemonjob-pods.ts';

const NOW = new Date('2026-06-01T00:00:00Z');
const NOW_ISO = '2026-06-01T00:00:00Z';
const ago = (seconds: number) =>
  new Date(NOW.getTime() - seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const template = { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } };
const hash = templateHash(template);
const OURS = 'ns.dj';
const BY = 'daemonjob.bosun.dev/cordoned-by';
const LEFT = 'daemonjob.bosun.dev/left-cordoned';

interface NodeOptions {
  unschedulable?: boolean;
  /** cordoned-by */
  by?: string;
  left?: string;
}
const node = (name: string, o: NodeOptions = {}): KubeObject => ({
  metadata: {
    name,
    labels: {},
    annotations: { ...(o.by ? { [BY]: o.by } : {}), ...(o.left ? { [LEFT]: o.left } : {}) },
    creationTimestamp: '2026-01-01T00:00:00Z',
  },
  spec: o.unschedulable ? { unschedulable: true } : {},
  status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
});
/** A node this DaemonJob cordoned. */
const ours = (name: string, o: NodeOptions = {}) => node(name, { unschedulable: true, by: OURS, ...o });

const daemonJob = (spec: Record<string, unknown>, status: object = {}): DaemonJobObject => ({
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'DaemonJob',
  metadata: { name: 'dj', namespace: 'ns', uid: 'u', generation: 1 },
  spec: { template, backoffLimit: 0, ...spec } as DaemonJobObject['spec'],
  status: { templateHash: hash, startTime: ago(3600), ...status },
});

/** A per-node pod of this DaemonJob on `node`. */
const nodePod = (node: string, phase: 'Running' | 'Succeeded' | 'Failed'): KubeObject =>
  perNodePod({ node, phase, hash, name: `dj-${node}`, created: ago(60), finished: ago(30) });

interface OtherPod {
  owner?: 'ReplicaSet' | 'DaemonSet' | 'DaemonJob';
  phase?: string;
  mirror?: boolean;
  emptyDir?: boolean;
  deleting?: boolean;
}
/** A pod of someone else on a node being drained. */
const other = (name: string, o: OtherPod = {}): KubeObject => ({
  metadata: {
    name,
    namespace: 'apps',
    ...(o.owner
      ? { ownerReferences: [{ apiVersion: 'x', kind: o.owner, name: 'o', uid: 'o', controller: true }] }
      : {}),
    ...(o.mirror ? { annotations: { 'kubernetes.io/config.mirror': 'x' } } : {}),
    ...(o.deleting ? { deletionTimestamp: ago(1) } : {}),
  },
  spec: o.emptyDir ? { volumes: [{ name: 'scratch', emptyDir: {} }] } : {},
  status: { phase: o.phase ?? 'Running' },
});

const plan = (s: Partial<Snapshot> & { daemonJob: DaemonJobObject }): Plan =>
  planDaemonJob({ nodes: [], pods: [], now: NOW, ...s });
const started = (p: Plan) => p.start.map((s) => s.node);
const reasons = (p: Plan) => p.events.map((e) => e.reason);
const drainAll = { drain: { ignoreDaemonSets: true, timeoutSeconds: 600 } };

describe('drainStep: what draining a node evicts, skips and refuses', () => {
  const cases: {
    name: string;
    pods: KubeObject[];
    drain?: object;
    evict: string[];
    terminating?: number;
    refused?: number;
  }[] = [
    {
      name: 'evicts managed pods; leaves mirror, finished, DaemonJob and (ignored) DaemonSet pods',
      pods: [
        other('web', { owner: 'ReplicaSet' }),
        other('static', { owner: 'ReplicaSet', mirror: true }),
        other('done', { owner: 'ReplicaSet', phase: 'Succeeded' }),
        other('agent', { owner: 'DaemonSet' }),
        other('setup', { owner: 'DaemonJob' }),
      ],
      drain: { ignoreDaemonSets: true },
      evict: ['web'],
    },
    {
      name: 'waits for terminating pods without evicting them again',
      pods: [other('web', { owner: 'ReplicaSet', deleting: true })],
      evict: [],
      terminating: 1,
    },
    {
      name: 'refuses DaemonSet pods, pods without a controller and emptyDir data unless told',
      pods: [
        other('agent', { owner: 'DaemonSet' }),
        other('bare'),
        other('cache', { owner: 'ReplicaSet', emptyDir: true }),
      ],
      evict: [],
      refused: 3,
    },
    {
      name: 'evicts emptyDir pods with deleteEmptyDirData',
      pods: [other('cache', { owner: 'ReplicaSet', emptyDir: true })],
      drain: { deleteEmptyDirData: true },
      evict: ['cache'],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const step = drainStep(c.pods, c.drain ?? {});
      assert.deepEqual(
        step.evict.map((e) => e.name),
        c.evict,
      );
      assert.equal(step.terminating, c.terminating ?? 0);
      assert.equal(step.refused.length, c.refused ?? 0);
    });
});

describe('planDaemonJob: cordon and drain', () => {
  it('cordon alone: cordons one node at a time by default and starts its pod in the same plan', () => {
    const p = plan({ daemonJob: daemonJob({ cordon: true }), nodes: [node('n1'), node('n2'), node('n3')] });
    assert.deepEqual(p.cordon, ['n1']);
    assert.deepEqual(started(p), ['n1']);
    assert.equal(p.status.draining, undefined);
    assert.ok(reasons(p).includes('NodeCordoned'));
  });

  it('drain: cordons first and waits for the pod list before starting, recording when the drain began', () => {
    const p = plan({ daemonJob: daemonJob(drainAll), nodes: [node('n1'), node('n2')] });
    assert.deepEqual(p.cordon, ['n1']);
    assert.deepEqual(p.start, []);
    assert.deepEqual(p.status.draining, { n1: NOW_ISO });
    assert.equal(p.status.pending, 2);
    assert.ok((p.requeueAfterMs ?? Infinity) <= 2000);
  });

  it('evicts what is left on a node being drained and keeps the drain start', () => {
    const p = plan({
      daemonJob: daemonJob(drainAll, { draining: { n1: ago(30) } }),
      nodes: [ours('n1'), node('n2')],
      nodePods: {
        n1: [other('web', { owner: 'ReplicaSet' }), other('gone', { owner: 'ReplicaSet', deleting: true })],
      },
    });
    assert.deepEqual(p.evict, [{ node: 'n1', namespace: 'apps', name: 'web' }]);
    assert.deepEqual(p.cordon, []);
    assert.deepEqual(p.start, []);
    assert.deepEqual(p.status.draining, { n1: ago(30) });
  });

  it('starts the pod once only pods that stay are left; the node leaves status.draining', () => {
    const p = plan({
      daemonJob: daemonJob(drainAll, { draining: { n1: ago(30) } }),
      nodes: [ours('n1'), node('n2')],
      nodePods: { n1: [other('agent', { owner: 'DaemonSet' }), other('static', { mirror: true })] },
    });
    assert.deepEqual(started(p), ['n1']);
    assert.deepEqual(p.evict, []);
    assert.equal(p.status.draining, undefined);
    assert.equal(p.status.active, 1);
  });

  it('a refused drain warns and waits; past drain.timeoutSeconds the node fails and stays cordoned, holding its slot', () => {
    const refusing = { n1: [other('agent', { owner: 'DaemonSet' })] };
    const waiting = plan({
      daemonJob: daemonJob({ drain: { timeoutSeconds: 60 } }, { draining: { n1: ago(30) } }),
      nodes: [ours('n1'), node('n2')],
      nodePods: refusing,
    });
    assert.ok(reasons(waiting).includes('DrainRefused'));
    assert.deepEqual(waiting.start, []);
    const p = plan({
      daemonJob: daemonJob({ drain: { timeoutSeconds: 60 } }, { draining: { n1: ago(61) } }),
      nodes: [ours('n1'), node('n2')],
      nodePods: refusing,
    });
    assert.equal(p.status.nodeResults?.n1, 'Failed');
    assert.equal(p.status.failedNodes?.[0]?.reason, 'DrainTimeout');
    assert.match(p.status.failedNodes?.[0]?.message ?? '', /apps\/agent/);
    assert.deepEqual(p.markLeft, [{ node: 'n1', reason: 'DrainTimeout' }]);
    assert.deepEqual(p.status.cordonedNodes, ['n1']);
    assert.deepEqual(p.uncordon, []);
    assert.ok(reasons(p).includes('NodeLeftCordoned'));
    assert.deepEqual(p.cordon, [], 'maxParallel 1: the failed node keeps the only slot');
  });

  it('a failed pod leaves its node cordoned and marked; once marked, no second Warning', () => {
    const first = plan({
      daemonJob: daemonJob({ cordon: true, maxParallel: 2 }),
      nodes: [ours('n1'), node('n2'), node('n3')],
      pods: [nodePod('n1', 'Failed')],
    });
    assert.equal(first.status.nodeResults?.n1, 'Failed');
    assert.deepEqual(first.markLeft, [{ node: 'n1', reason: 'BackoffLimitExceeded' }]);
    assert.deepEqual(first.cordon, ['n2'], 'one slot left of two');
    const later = plan({
      daemonJob: daemonJob({ cordon: true, maxParallel: 2 }, { nodeResults: { n1: 'Failed' } }),
      nodes: [ours('n1', { left: 'BackoffLimitExceeded' }), ours('n2'), node('n3')],
      pods: [nodePod('n1', 'Failed'), nodePod('n2', 'Running')],
    });
    assert.deepEqual(later.markLeft, []);
    assert.ok(!reasons(later).includes('NodeLeftCordoned'));
    assert.deepEqual(later.status.cordonedNodes, ['n1']);
    assert.deepEqual(later.cordon, []);
  });

  it('uncordons a node it cordoned after its pod succeeded, and takes the next once that shows', () => {
    const p = plan({
      daemonJob: daemonJob({ cordon: true }),
      nodes: [ours('n1'), node('n2')],
      pods: [nodePod('n1', 'Succeeded')],
    });
    assert.deepEqual(p.uncordon, ['n1']);
    assert.deepEqual(p.cordon, [], 'n1 is still out until the uncordon lands');
    const next = plan({
      daemonJob: daemonJob({ cordon: true }, { nodeResults: { n1: 'Succeeded' } }),
      nodes: [node('n1'), node('n2')],
      pods: [nodePod('n1', 'Succeeded')],
    });
    assert.deepEqual(next.uncordon, []);
    assert.deepEqual(next.cordon, ['n2']);
    assert.deepEqual(started(next), ['n2']);
  });

  it('never uncordons a node someone else cordoned, and waits for a node another DaemonJob holds', () => {
    const person = plan({
      daemonJob: daemonJob({ cordon: true }),
      nodes: [node('n1', { unschedulable: true }), node('n2')],
    });
    assert.deepEqual(person.cordon, [], 'already cordoned: used as it is');
    assert.deepEqual(started(person), ['n1']);
    const after = plan({
      daemonJob: daemonJob({ cordon: true }),
      nodes: [node('n1', { unschedulable: true }), node('n2')],
      pods: [nodePod('n1', 'Succeeded')],
    });
    assert.deepEqual(after.uncordon, []);
    const lost = plan({
      daemonJob: daemonJob({ cordon: true }, { draining: { n1: ago(1) } }),
      nodes: [node('n1', { unschedulable: true, by: 'ns.other' }), node('n2', { unschedulable: true })],
    });
    assert.deepEqual(started(lost), ['n2'], 'n1 went to another DaemonJob first: let go');
    const held = plan({
      daemonJob: daemonJob({ cordon: true }),
      nodes: [node('n1', { unschedulable: true, by: 'ns.other' }), node('n2')],
    });
    assert.deepEqual(started(held), ['n2']);
  });

  it('a failed node a person uncordoned loses its marks and frees its slot', () => {
    const p = plan({
      daemonJob: daemonJob(
        { cordon: true },
        { nodeResults: { n1: 'Failed' }, failedNodes: [{ node: 'n1', reason: 'BackoffLimitExceeded' }] },
      ),
      nodes: [node('n1', { by: OURS, left: 'BackoffLimitExceeded' }), node('n2')],
      pods: [nodePod('n1', 'Failed')],
    });
    assert.deepEqual(p.uncordon, ['n1']);
    assert.equal(p.status.cordonedNodes, undefined);
    assert.deepEqual(p.cordon, ['n2']);
  });

  it('maxParallel counts nodes being drained, running and left cordoned', () => {
    const p = plan({
      daemonJob: daemonJob(
        { ...drainAll, maxParallel: 3 },
        { draining: { n1: ago(5) }, nodeResults: { n3: 'Failed' } },
      ),
      nodes: [ours('n1'), ours('n2'), ours('n3', { left: 'Error' }), node('n4'), node('n5')],
      pods: [nodePod('n2', 'Running'), nodePod('n3', 'Failed')],
      nodePods: { n1: [other('web', { owner: 'ReplicaSet' })] },
    });
    assert.deepEqual(p.cordon, []);
    assert.deepEqual(p.start, []);
    assert.deepEqual(
      p.evict.map((e) => e.name),
      ['web'],
    );
  });

  it('a restarted operator continues a drain from the node it cordoned, without the status', () => {
    const p = plan({ daemonJob: daemonJob(drainAll), nodes: [ours('n1'), node('n2')], nodePods: { n1: [] } });
    assert.deepEqual(p.cordon, []);
    assert.deepEqual(started(p), ['n1']);
    const listing = plan({ daemonJob: daemonJob(drainAll), nodes: [ours('n1'), node('n2')] });
    assert.deepEqual(listing.status.draining, { n1: NOW_ISO }, 'not listed yet: still draining');
  });

  it('suspend lets go of nodes taken but not started: uncordoned, not left out', () => {
    const p = plan({
      daemonJob: daemonJob({ ...drainAll, suspend: true }, { draining: { n1: ago(5) } }),
      nodes: [ours('n1'), node('n2')],
      nodePods: { n1: [other('web', { owner: 'ReplicaSet' })] },
    });
    assert.deepEqual(p.uncordon, ['n1']);
    assert.deepEqual(p.evict, []);
    assert.equal(p.status.draining, undefined);
  });

  it('without cordon any more, uncordons the nodes it holds but leaves failed ones cordoned', () => {
    const p = plan({
      daemonJob: daemonJob({}, { nodeResults: { n2: 'Failed' } }),
      nodes: [ours('n1'), ours('n2', { left: 'Error' })],
      pods: [nodePod('n2', 'Failed')],
    });
    assert.deepEqual(p.uncordon, ['n1']);
    assert.deepEqual(p.status.cordonedNodes, ['n2']);
  });

  it('a node no longer eligible is uncordoned unless it was left cordoned after a failure', () => {
    const dj = daemonJob({
      cordon: true,
      template: { ...template, spec: { ...template.spec, nodeSelector: { pool: 'x' } } },
    });
    const p = plan({ daemonJob: dj, nodes: [ours('n1'), ours('n2', { left: 'Error' })] });
    assert.deepEqual(p.uncordon, ['n1']);
    assert.deepEqual(p.status.cordonedNodes, ['n2']);
  });
});

describe('planDaemonJob: a cordon lost, and nodes left cordoned by an earlier run', () => {
  const web = { n1: [other('web', { owner: 'ReplicaSet' })] };
  const cases: {
    name: string;
    snap: Partial<Snapshot> & { daemonJob: DaemonJobObject };
    cordon: string[];
    uncordon?: string[];
    start?: string[];
    evict?: string[];
    draining?: Record<string, string>;
    cordonedNodes?: string[];
  }[] = [
    {
      name: 'a node in status.draining without our mark and schedulable (the cordon got a 409) is taken again: cordoned, nothing evicted',
      snap: {
        daemonJob: daemonJob(drainAll, { draining: { n1: ago(30) } }),
        nodes: [node('n1'), node('n2')],
        nodePods: web,
      },
      cordon: ['n1'],
      draining: { n1: NOW_ISO },
    },
    {
      name: 'a node a person had cordoned and uncordons during its drain is taken again, with our mark',
      snap: {
        daemonJob: daemonJob(drainAll, { draining: { n1: ago(30) } }),
        nodes: [node('n1'), node('n2')],
        nodePods: { n1: [] },
      },
      cordon: ['n1'],
      draining: { n1: NOW_ISO },
    },
    {
      name: 'a node a person cordoned stays in status.draining and is drained',
      snap: {
        daemonJob: daemonJob(drainAll, { draining: { n1: ago(30) } }),
        nodes: [node('n1', { unschedulable: true }), node('n2')],
        nodePods: web,
      },
      cordon: [],
      evict: ['web'],
      draining: { n1: ago(30) },
    },
    {
      name: 'a new run leaves a node left cordoned by an earlier failure alone; with maxParallel 1 it keeps the slot',
      snap: {
        daemonJob: daemonJob({ cordon: true }),
        nodes: [ours('n1', { left: 'BackoffLimitExceeded' }), node('n2')],
      },
      cordon: [],
      cordonedNodes: ['n1'],
    },
    {
      name: 'with drain, a left-cordoned node of an earlier run is neither drained nor started; other slots go on',
      snap: {
        daemonJob: daemonJob({ ...drainAll, maxParallel: 2 }),
        nodes: [ours('n1', { left: 'DrainTimeout' }), node('n2')],
        nodePods: web,
      },
      cordon: ['n2'],
      draining: { n2: NOW_ISO },
      cordonedNodes: ['n1'],
    },
    {
      name: 'a left-cordoned node a person uncordoned loses its marks and frees its slot; the run takes it later',
      snap: {
        daemonJob: daemonJob({ cordon: true }),
        nodes: [node('n1', { by: OURS, left: 'BackoffLimitExceeded' }), node('n2')],
      },
      cordon: ['n2'],
      uncordon: ['n1'],
      start: ['n2'],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const p = plan(c.snap);
      assert.deepEqual(p.cordon, c.cordon);
      assert.deepEqual(p.uncordon, c.uncordon ?? []);
      assert.deepEqual(started(p), c.start ?? []);
      assert.deepEqual(
        p.evict.map((e) => e.name),
        c.evict ?? [],
      );
      assert.deepEqual(p.status.draining, c.draining);
      assert.deepEqual(p.status.cordonedNodes, c.cordonedNodes);
    });
});

describe('drainTargets: the nodes whose pods are listed for a drain', () => {
  const cases: {
    name: string;
    nodes: KubeObject[];
    status?: object;
    podNodes?: string[];
    targets: string[];
  }[] = [
    {
      name: 'nodes in status.draining, ours or not',
      nodes: [ours('n1'), node('n2', { unschedulable: true }), node('n3')],
      status: { draining: { n1: ago(5), n2: ago(5) } },
      targets: ['n1', 'n2'],
    },
    {
      name: 'ours without status.draining (a lost status write) while it may still be drained',
      nodes: [ours('n1'), node('n2')],
      targets: ['n1'],
    },
    {
      name: 'not ours once its pod of the run exists, it has a result, or it was left cordoned',
      nodes: [ours('n1'), ours('n2'), ours('n3', { left: 'Error' }), ours('n4')],
      status: { nodeResults: { n2: 'Succeeded', n4: 'Pending' } },
      podNodes: ['n1'],
      targets: ['n4'],
    },
    {
      name: "another DaemonJob's nodes are not listed",
      nodes: [node('n1', { unschedulable: true, by: 'ns.other' })],
      targets: [],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const targets = drainTargets(daemonJob(drainAll).spec, OURS, c.nodes, c.status, new Set(c.podNodes));
      assert.deepEqual(targets, c.targets);
    });
});

describe('DaemonJob schema: drain', () => {
  it('rejects drain with cordon: false, saying what to fix', () => {
    const spec = { template, drain: {}, cordon: false };
    assert.match(validate(daemonJobSpec, spec).join('\n'), /drain cordons the node first/);
    assert.deepEqual(validate(daemonJobSpec, { template, drain: { timeoutSeconds: 60 } }), []);
  });
});
