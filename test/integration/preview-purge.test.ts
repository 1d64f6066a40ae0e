// The purge on its own against the API server: rounds until nothing labelled is left, then the
// finalizer; a purge started from a stale cached copy after the release (the preview is gone)
// counts as done instead of failing; and a role without collection deletes purges one by one.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CLEANUP_FINALIZER, PREVIEW_LABEL } from '../../src/controllers/preview/labels.ts';
import type { PreviewObject } from '../../src/controllers/preview/model.ts';
import { Purger } from '../../src/controllers/preview/purge.ts';
import { type KubeClient, Resources } from '../../src/runtime/kube-client.ts';
import { RestMapper } from '../../src/runtime/rest-mapper.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { serviceAccountClient, testClient, testNamespace } from '../support/cluster.ts';
import { getOrUndefined, installCrds } from '../support/operator.ts';
import { PREVIEWS, preview } from '../support/previews.ts';

const purger = (client: KubeClient, batches: number[] = []) =>
  new Purger({
    client,
    mapper: new RestMapper(client),
    batchSize: { observe: (n) => batches.push(n) },
    // No template, no Jobs or Deployments: only the built-in kinds are looked at.
    templates: { get: () => undefined },
    jobs: { listNamespace: () => [] },
    deployments: { listNamespace: () => [] },
  });

/** A preview being deleted, held by the cleanup finalizer, with one labelled ConfigMap. */
async function deletedPreview(client: KubeClient, ns: string, name: string): Promise<PreviewObject> {
  const p = preview(ns, name);
  p.metadata.finalizers = [CLEANUP_FINALIZER];
  await client.create(PREVIEWS, p);
  await client.create(Resources.configMaps, {
    metadata: { name: `${name}-env`, namespace: ns, labels: { [PREVIEW_LABEL]: name } },
    data: { a: 'b' },
  });
  await client.delete(PREVIEWS, ns, name);
  const deleted = (await client.get(PREVIEWS, ns, name)) as PreviewObject;
  assert.ok(deleted.metadata.deletionTimestamp);
  return deleted;
}

/** Purges until released; the rounds it took. */
async function purgeUntilReleased(client: KubeClient, purge: Purger, ns: string, name: string) {
  let rounds = 0;
  await waitFor(
    async () => {
      rounds++;
      return (
        (await purge.purge((await client.get(PREVIEWS, ns, name)) as PreviewObject)) || { pending: 'left' }
      );
    },
    { what: `${name}'s purge to find nothing left` },
  );
  return rounds;
}

it('purges in rounds, releases the finalizer, and a stale copy purged after the release is done too', async (t) => {
  await installCrds();
  const client = await testClient();
  const ns = await testNamespace(t, 'purge');
  const batches: number[] = [];
  const purge = purger(client, batches);
  const stale = await deletedPreview(client, ns, 'p');

  // The first round deletes the ConfigMap and so is not done; a later one finds nothing and releases.
  assert.equal(await purge.purge(stale), false, 'the first round found a labelled object');
  await purgeUntilReleased(client, purge, ns, 'p');
  assert.equal(await getOrUndefined(client, PREVIEWS, ns, 'p'), undefined, 'released, the preview is gone');
  assert.equal(await getOrUndefined(client, Resources.configMaps, ns, 'p-env'), undefined);

  // The cache may still hold the copy with the finalizer: purging it again is done, not a 404.
  purge.forget(stale.metadata.uid as string);
  assert.equal(await purge.purge(stale), true);
  assert.ok(
    batches.every((n) => n === 1),
    `one preview per batch: ${batches}`,
  );
});

it('a role that grants delete but not deletecollection purges one object at a time', async (t) => {
  await installCrds();
  const admin = await testClient();
  const ns = await testNamespace(t, 'purge-rbac');
  const kinds = {
    '': ['pods', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims'],
    apps: ['deployments', 'replicasets'],
    batch: ['jobs'],
    'networking.k8s.io': ['ingresses'],
  };
  const rbac = (plural: string) => ({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural,
    namespaced: true,
  });
  await admin.create(rbac('roles'), {
    metadata: { name: 'purge-one-by-one', namespace: ns },
    rules: [
      ...Object.entries(kinds).map(([group, resources]) => ({
        apiGroups: [group],
        resources,
        verbs: ['list', 'delete'],
      })),
      { apiGroups: ['bosun.dev'], resources: ['previews'], verbs: ['get', 'patch'] },
    ],
  });
  await admin.create(rbac('rolebindings'), {
    metadata: { name: 'purge-one-by-one', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'purge-one-by-one' },
    subjects: [{ kind: 'ServiceAccount', name: 'purger', namespace: ns }],
  });
  const { client } = await serviceAccountClient(ns, 'purger');
  await deletedPreview(admin, ns, 'p');
  await purgeUntilReleased(client, purger(client), ns, 'p');
  assert.equal(await getOrUndefined(admin, PREVIEWS, ns, 'p'), undefined, 'released, the preview is gone');
  assert.equal(await getOrUndefined(admin, Resources.configMaps, ns, 'p-env'), undefined);
});
