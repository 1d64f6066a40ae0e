// A cache transform trims every object before it is cached: from the first list, from watch
// events, and on delete; the manager refuses two different transforms for one informer.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { silentLogger } from '../../src/runtime/log.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { Metrics } from '../../src/runtime/metrics.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { type CacheEvent, type CacheTransform, WatchCache } from '../../src/runtime/watch-cache.ts';
import { testClient, testNamespace } from '../support/cluster.ts';

const dropData: CacheTransform = (o) => {
  o.metadata.annotations = { ...o.metadata.annotations, trimmed: String(Object.keys(o.data ?? {}).length) };
  delete o.data;
  return o;
};

const configMap = (namespace: string, name: string, data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, labels: { test: 'transform' } },
  data,
});

it('caches and hands out only the transformed objects', async (t) => {
  const ns = await testNamespace(t, 'transform');
  const client = await testClient();
  await client.create(Resources.configMaps, configMap(ns, 'listed', { a: 'x'.repeat(1000) }));
  const cache = new WatchCache(client, Resources.configMaps, {
    namespace: ns,
    labelSelector: 'test=transform',
    transform: dropData,
    log: silentLogger,
  });
  const events: CacheEvent<KubeObject>[] = [];
  cache.onEvent((e) => events.push(e));
  cache.start();
  t.after(() => cache.stop());
  await cache.synced;

  await client.create(Resources.configMaps, configMap(ns, 'watched', { a: '1', b: '2' }));
  await client.mergePatch(Resources.configMaps, ns, 'listed', { data: { c: '3' } });
  await client.delete(Resources.configMaps, ns, 'watched');
  await waitFor(
    async () => events.some((e) => e.type === 'deleted') || { pending: `${events.length} events` },
    {
      what: 'the delete event',
      timeoutMs: 30_000,
    },
  );

  const seen = events.flatMap((e) => (e.type === 'updated' ? [e.object, e.old] : [e.object]));
  assert.ok(seen.length >= 4, `events: ${events.map((e) => e.type).join(',')}`);
  for (const o of [...seen, ...cache.list()]) {
    assert.equal(o.data, undefined, `${o.metadata.name} carries no data`);
    assert.ok(o.metadata.annotations?.trimmed, `${o.metadata.name} went through the transform`);
  }
  assert.equal(cache.get(ns, 'listed')?.metadata.annotations?.trimmed, '2');
});

it('refuses one informer registered with two different transforms', async () => {
  const mgr = new Manager({
    client: await testClient(),
    log: silentLogger,
    metrics: new Metrics({ processMetrics: false }),
    namespaces: [],
  });
  const first = mgr.informer(Resources.configMaps, { transform: dropData });
  assert.equal(
    mgr.informer(Resources.configMaps, { transform: dropData }),
    first,
    'the same transform shares',
  );
  assert.throws(() => mgr.informer(Resources.configMaps), /registered twice with different transforms/);
  assert.throws(() => mgr.informer(Resources.configMaps, { transform: (o) => o }), /different transforms/);
});
