// The operator runtime on the real control plane: watch-cache recovery, leader election, shutdown.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readState, restartComponent } from '../../src/dev/cluster.ts';
import { Controller } from '../../src/runtime/controller.ts';
import { EventRecorder } from '../../src/runtime/events.ts';
import { type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { silentLogger } from '../../src/runtime/log.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { Metrics } from '../../src/runtime/metrics.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { type CacheEvent, WatchCache } from '../../src/runtime/watch-cache.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { startOperator } from '../support/operator.ts';

// Labelled, so that caches can leave out the kube-root-ca.crt ConfigMap every namespace gets.
const configMap = (namespace: string, name: string, value = '1') => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, labels: { test: 'cache' } },
  data: { value },
});
const selected = { labelSelector: 'test=cache' };

async function etcd(path: string, body: unknown) {
  const state = readState();
  const res = await fetch(`http://127.0.0.1:${state?.ports.etcd}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<{ header: { revision: string } }>;
}

/** Asserts the cache holds exactly what the server has. */
async function assertConverged(cache: WatchCache, namespace: string) {
  const client = await testClient();
  await waitFor(
    async () => {
      const server = (await client.list(Resources.configMaps, namespace, selected)).items
        .map((o) => `${o.metadata.name}=${o.data?.value}`)
        .sort();
      const cached = cache
        .list()
        .map((o) => `${o.metadata.name}=${o.data?.value}`)
        .sort();
      return (
        JSON.stringify(server) === JSON.stringify(cached) || {
          pending: `server ${server.join(',')} cache ${cached.join(',')}`,
        }
      );
    },
    { what: 'the cache to match the server', timeoutMs: 60_000 },
  );
}

describe('watch cache', () => {
  it('converges after kube-apiserver is killed and restarted mid-stream', async (t) => {
    const ns = await testNamespace(t, 'cache');
    const client = await testClient();
    for (let i = 0; i < 5; i++) await client.create(Resources.configMaps, configMap(ns, `cm-${i}`));
    const cache = new WatchCache(client, Resources.configMaps, {
      namespace: ns,
      ...selected,
      log: silentLogger,
    });
    t.after(() => cache.stop());
    cache.start();
    await cache.synced;
    assert.equal(cache.size, 5);

    await restartComponent('kube-apiserver', { start: false });
    await restartComponent('kube-apiserver');
    await waitFor(() => client.list(Resources.configMaps, ns), {
      what: 'the API server back',
      timeoutMs: 60_000,
    });
    await client.mergePatch(Resources.configMaps, ns, 'cm-0', { data: { value: '2' } });
    await client.delete(Resources.configMaps, ns, 'cm-1');
    await client.create(Resources.configMaps, configMap(ns, 'cm-new'));
    await assertConverged(cache, ns);
    assert.ok(cache.stats.watches >= 2, 'the watch was resumed');
  });

  it('lists again after etcd compaction makes its resourceVersion expire (410 Gone), dropping deleted objects', async (t) => {
    const ns = await testNamespace(t, 'gone');
    const client = await testClient();
    for (let i = 0; i < 5; i++) await client.create(Resources.configMaps, configMap(ns, `cm-${i}`));
    const cache = new WatchCache(client, Resources.configMaps, {
      namespace: ns,
      ...selected,
      log: silentLogger,
    });
    const deleted: string[] = [];
    cache.onEvent((e: CacheEvent<KubeObject>) => {
      if (e.type === 'deleted') deleted.push(e.object.metadata.name as string);
    });
    t.after(() => cache.stop());
    cache.start();
    await cache.synced;

    cache.stop(); // a disconnected watch: it keeps its resourceVersion
    await client.mergePatch(Resources.configMaps, ns, 'cm-0', { data: { value: 'changed' } });
    await client.delete(Resources.configMaps, ns, 'cm-1');
    await client.delete(Resources.configMaps, ns, 'cm-2');
    const { header } = await etcd('/v3/kv/range', { key: Buffer.from('/').toString('base64') });
    await etcd('/v3/kv/compaction', { revision: header.revision, physical: true });
    // A restarted API server starts its watch cache at etcd's current revision: older ones are gone.
    await restartComponent('kube-apiserver');
    cache.start();
    await assertConverged(cache, ns);
    assert.ok(cache.stats.relists >= 1, 'the cache listed again after 410 Gone');
    assert.deepEqual(deleted.sort(), ['cm-1', 'cm-2'], 'objects deleted meanwhile were reported deleted');
  });
});

describe('events', () => {
  it('aggregates a repeated event into one Event with a series count', async (t) => {
    const ns = await testNamespace(t, 'events');
    const client = await testClient();
    const cm = await client.create(Resources.configMaps, configMap(ns, 'subject'));
    const recorder = new EventRecorder(client, silentLogger);
    for (let i = 0; i < 3; i++)
      await recorder.record(
        { ...cm, apiVersion: 'v1', kind: 'ConfigMap' },
        'Warning',
        'Broken',
        'the same problem',
      );
    await recorder.record({ ...cm, apiVersion: 'v1', kind: 'ConfigMap' }, 'Normal', 'Fixed', 'another event');
    const events = (await client.list(Resources.events, ns, { fieldSelector: 'regarding.name=subject' }))
      .items;
    const broken = events.filter((e) => e.reason === 'Broken');
    assert.equal(broken.length, 1, 'one Event object for the repeats');
    assert.equal(broken[0]?.series?.count, 3);
    assert.equal(broken[0]?.reportingController, 'bosun.dev/operator');
    assert.equal(events.filter((e) => e.reason === 'Fixed').length, 1);

    // Recorded at once, not awaited one by one: still one Event, counted five times.
    await Promise.all(
      Array.from({ length: 5 }, () =>
        recorder.record({ ...cm, apiVersion: 'v1', kind: 'ConfigMap' }, 'Warning', 'Flapping', 'at once'),
      ),
    );
    const flapping = (
      await client.list(Resources.events, ns, { fieldSelector: 'regarding.name=subject' })
    ).items.filter((e) => e.reason === 'Flapping');
    assert.equal(flapping.length, 1, 'one Event object for records made at once');
    assert.equal(flapping[0]?.series?.count, 5);
  });
});

describe('leader election', () => {
  const leaderOf = (logs: Record<string, unknown>[]) => logs.some((l) => l.msg === 'became leader');

  it('lets exactly one of two operators reconcile; kill -9 hands over within the lease, SIGTERM at once', async (t) => {
    const ns = await testNamespace(t, 'le');
    const client = await testClient();
    const args = ['--leader-elect', `--leader-election-namespace=${ns}`];
    const a = await startOperator(t, { namespaces: [ns], args });
    const b = await startOperator(t, { namespaces: [ns], args });
    await waitFor(async () => leaderOf(a.logs) || leaderOf(b.logs), { what: 'a leader', timeoutMs: 30_000 });
    const [leader, standby] = leaderOf(a.logs) ? [a, b] : [b, a];
    await client.create(Resources.configMaps, configMap(ns, 'touch'));
    await client.apply(Resources.deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns, labels: { app: 'web' } },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'w', image: 'w' }] } },
      },
    });
    await client.apply(
      { group: 'bosun.dev', version: 'v1alpha1', plural: 'deploymenthooks', namespaced: true },
      {
        apiVersion: 'bosun.dev/v1alpha1',
        kind: 'DeploymentHook',
        metadata: { name: 'h', namespace: ns },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: { spec: { spec: { containers: [{ name: 'm', image: 'm' }] } } },
        },
      },
    );
    const reconciles = async (op: typeof a) =>
      Number(
        /controller_runtime_reconcile_total\{controller="deploymenthook",result="success"\} (\d+)/.exec(
          await op.metrics(),
        )?.[1] ?? 0,
      );
    await waitFor(async () => (await reconciles(leader)) > 0, { what: 'the leader to reconcile' });
    assert.equal(await reconciles(standby), 0, 'the standby does not reconcile');
    assert.equal(leaderOf(standby.logs), false);

    const killed = Date.now();
    await leader.kill('SIGKILL');
    await waitFor(async () => leaderOf(standby.logs), {
      what: 'the standby to take over',
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    const takeover = Date.now() - killed;
    t.diagnostic(`takeover after kill -9: ${takeover} ms`);
    assert.ok(takeover <= 15_000 + 2_000 + 1_000, `took over in ${takeover} ms (lease 15 s + one 2 s retry)`);

    // A third replica; the current leader stops gracefully and releases the lease.
    const c = await startOperator(t, { namespaces: [ns], args });
    const stopped = Date.now();
    assert.equal(await standby.kill('SIGTERM'), 0, 'graceful stop exits 0');
    await waitFor(async () => leaderOf(c.logs), {
      what: 'the third replica to take over',
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    const handover = Date.now() - stopped;
    t.diagnostic(`handover after SIGTERM: ${handover} ms`);
    assert.ok(handover < 5_000, `released lease taken over in ${handover} ms`);
    const lease = await client.get(Resources.leases, ns, 'bosun-operator');
    assert.match(lease.spec.holderIdentity, /_/);
    assert.ok(lease.spec.leaseTransitions >= 2);
  });

  it('a leader whose API connection freezes stops before a standby can take over', async (t) => {
    const ns = await testNamespace(t, 'freeze');
    const client = await testClient();
    const args = ['--leader-elect', `--leader-election-namespace=${ns}`];
    const a = await startOperator(t, { namespaces: [ns], args });
    await waitFor(async () => leaderOf(a.logs), { what: 'a leader', timeoutMs: 30_000 });
    const b = await startOperator(t, { namespaces: [ns], args });
    let exitedAt = 0;
    void a.exited.then(() => {
      exitedAt = Date.now();
    });

    // A standby takes over no earlier than a lease duration after the last renewal it saw.
    const lease = await client.get(Resources.leases, ns, 'bosun-operator');
    const renewedAt = Date.parse(lease.spec.renewTime);
    const takeoverFrom = renewedAt + lease.spec.leaseDurationSeconds * 1000;

    const apiserver = readState()?.components['kube-apiserver'].pid as number;
    const thaw = () => {
      try {
        process.kill(apiserver, 'SIGCONT');
      } catch {
        // already gone
      }
    };
    t.after(thaw);
    process.kill(apiserver, 'SIGSTOP');
    const frozenAt = Date.now();
    try {
      await waitFor(async () => exitedAt > 0, {
        what: 'the leader to exit while the API server is frozen',
        timeoutMs: 20_000,
        intervalMs: 50,
      });
    } finally {
      thaw();
    }
    t.diagnostic(
      `leader exited ${exitedAt - frozenAt} ms into the freeze, ${exitedAt - renewedAt} ms after its last renewal seen`,
    );
    assert.ok(
      exitedAt < takeoverFrom,
      `the leader exited ${exitedAt - takeoverFrom} ms after a standby could have taken over`,
    );
    assert.equal(await a.exited, 1);
    assert.ok(
      a.logs.some((l) => l.msg === 'lost leadership' && /could not renew/.test(String(l.reason))),
      'the leader says why it stopped',
    );
    await waitFor(async () => leaderOf(b.logs), { what: 'the standby to take over', timeoutMs: 60_000 });
  });
});

describe('shutdown', () => {
  it('finishes in-flight reconciles, then stops', async (t) => {
    const ns = await testNamespace(t, 'stop');
    const client = await testClient();
    const metrics = new Metrics({ processMetrics: false });
    const mgr = new Manager({ client, log: silentLogger, metrics, namespaces: [ns] });
    const finished: string[] = [];
    let started = 0;
    const controller = new Controller({
      name: 'slow',
      workers: 2,
      metrics,
      log: silentLogger,
      reconcile: async (_ctx, key) => {
        started++;
        await new Promise((r) => setTimeout(r, 2000));
        finished.push(key);
        return undefined;
      },
    });
    controller.watch(mgr.informer(Resources.configMaps, selected), (e) => [e.object.metadata.name as string]);
    mgr.add(controller);
    await mgr.start();
    t.after(() => mgr.stop());
    await client.create(Resources.configMaps, configMap(ns, 'a'));
    await client.create(Resources.configMaps, configMap(ns, 'b'));
    await waitFor(async () => started === 2 || { pending: `${started} started` }, {
      what: 'two reconciles in flight',
    });
    await mgr.stop();
    assert.deepEqual(finished.sort(), ['a', 'b'], 'both in-flight reconciles finished before stop returned');
  });

  it('exits 0 on SIGTERM and releases its lease', async (t) => {
    const ns = await testNamespace(t, 'term');
    const client = await testClient();
    const op = await startOperator(t, {
      namespaces: [ns],
      args: ['--leader-elect', `--leader-election-namespace=${ns}`],
    });
    await waitFor(async () => op.logs.some((l) => l.msg === 'became leader'), { what: 'leadership' });
    assert.equal(await op.kill('SIGTERM'), 0);
    const lease = await client.get(Resources.leases, ns, 'bosun-operator');
    assert.equal(lease.spec.holderIdentity ?? '', '', 'the lease was released');
    assert.ok(op.logs.some((l) => l.msg === 'stopped'));
  });
});
