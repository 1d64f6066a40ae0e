// The purge on its own against the API server: rounds until nothing labelled is left, then the
// finalizer; and a purge started from a stale cached copy after the release (the preview is gone)
// counts as done instead of failing.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CLEANUP_FINALIZER, PREVIEW_LABEL } from '../../src/controllers/preview/labels.ts';
import type { PreviewObject } from '../../src/controllers/preview/model.ts';
import { Purger } from '../../src/controllers/preview/purge.ts';
import { Resources } from '../../src/runtime/kube-client.ts';
import { RestMapper } from '../../src/runtime/rest-mapper.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { getOrUndefined, installCrds } from '../support/operator.ts';
import { PREVIEWS, preview } from '../support/previews.ts';

it('purges in rounds, releases the finalizer, and a stale copy purged after the release is done too', async (t) => {
  await installCrds();
  const client = await testClient();
  const ns = await testNamespace(t, 'purge');
  const batches: number[] = [];
  const purger = new Purger({
    client,
    mapper: new RestMapper(client),
    batchSize: { observe: (n) => batches.push(n) },
    // No template, no Jobs or Deployments: only the built-in kinds are looked at.
    templates: { get: () => undefined },
    jobs: { listNamespace: () => [] },
    deployments: { listNamespace: () => [] },
  });
  const p = preview(ns, 'p');
  p.metadata.finalizers = [CLEANUP_FINALIZER];
  await client.create(PREVIEWS, p);
  await client.create(Resources.configMaps, {
    metadata: { name: 'p-env', namespace: ns, labels: { [PREVIEW_LABEL]: 'p' } },
    data: { a: 'b' },
  });
  await client.delete(PREVIEWS, ns, 'p');
  const stale = (await client.get(PREVIEWS, ns, 'p')) as PreviewObject;
  assert.ok(stale.metadata.deletionTimestamp);

  // The first round deletes the ConfigMap and so is not done; a later one finds nothing and releases.
  assert.equal(await purger.purge(stale), false, 'the first round found a labelled object');
  const latest = await waitFor(
    async () =>
      (await purger.purge((await client.get(PREVIEWS, ns, 'p')) as PreviewObject)) || { pending: 'left' },
    { what: 'a round that finds nothing left' },
  );
  assert.equal(latest, true);
  assert.equal(await getOrUndefined(client, PREVIEWS, ns, 'p'), undefined, 'released, the preview is gone');
  assert.equal(await getOrUndefined(client, Resources.configMaps, ns, 'p-env'), undefined);

  // The cache may still hold the copy with the finalizer: purging it again is done, not a 404.
  purger.forget(stale.metadata.uid as string);
  assert.equal(await purger.purge(stale), true);
  assert.ok(
    batches.every((n) => n === 1),
    `one preview per batch: ${batches}`,
  );
});
