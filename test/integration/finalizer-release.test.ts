// Releasing a result finalizer from a cached snapshot: a status (or any other) change since the
// read must not make it fail, but a finalizer list changed since the read must not be overwritten,
// nor a newer object of the same name released.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { releaseFinalizer } from '../../src/runtime/ownership.ts';
import { testClient, testNamespace } from '../support/cluster.ts';

const OURS = 'bosun.dev/node-result';
const OTHER = 'example.com/other';

it('releases a finalizer from a snapshot older than the object, unless its finalizers changed or the object was replaced', async (t) => {
  const client = await testClient();
  const ns = await testNamespace(t, 'finalizers');
  const cm = (name: string) => ({ metadata: { name, namespace: ns, finalizers: [OURS] }, data: { v: '1' } });
  const finalizersOf = async (name: string) =>
    (await client.get(Resources.configMaps, ns, name)).metadata.finalizers ?? [];
  t.after(async () => {
    for (const name of ['data-changed', 'finalizers-changed', 'replaced'])
      await client
        .mergePatch(Resources.configMaps, ns, name, { metadata: { finalizers: null } })
        .catch(() => {});
  });

  // Data changed after the read (as a kubelet's status write would): the release still goes through.
  const stale = await client.create(Resources.configMaps, cm('data-changed'));
  await client.mergePatch(Resources.configMaps, ns, 'data-changed', { data: { v: '2' } });
  await releaseFinalizer(client, Resources.configMaps, OURS, [stale], () => true);
  assert.deepEqual(await finalizersOf('data-changed'), []);

  // Another finalizer added after the read: nothing is written, the newer list stays whole.
  const before = await client.create(Resources.configMaps, cm('finalizers-changed'));
  await client.mergePatch(Resources.configMaps, ns, 'finalizers-changed', {
    metadata: { finalizers: [OURS, OTHER] },
  });
  await releaseFinalizer(client, Resources.configMaps, OURS, [before], () => true);
  assert.deepEqual(await finalizersOf('finalizers-changed'), [OURS, OTHER]);

  // Deleted and created again under the same name since the read, with the same finalizers (a
  // DaemonJob's pod of the same run): the newer object keeps its finalizer.
  const old: KubeObject = await client.create(Resources.configMaps, cm('replaced'));
  await client.mergePatch(Resources.configMaps, ns, 'replaced', { metadata: { finalizers: null } });
  await client.delete(Resources.configMaps, ns, 'replaced');
  const newer: KubeObject = await client.create(Resources.configMaps, cm('replaced'));
  assert.notEqual(newer.metadata.uid, old.metadata.uid);
  await releaseFinalizer(client, Resources.configMaps, OURS, [old], () => true);
  assert.deepEqual(await finalizersOf('replaced'), [OURS]);
});
