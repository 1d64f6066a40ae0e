// The act on its own against the API server: a capacity undeploy deletes only the version of the
// preview its plan was made from, so a start in between is not undone by a stale decision.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Counter } from 'prom-client';
import { actOnPreview } from '../../src/controllers/preview/act.ts';
import type { PreviewObject } from '../../src/controllers/preview/model.ts';
import { EventRecorder } from '../../src/runtime/events.ts';
import { isConflict } from '../../src/runtime/kube-client.ts';
import { silentLogger } from '../../src/runtime/log.ts';
import { OwnWrites } from '../../src/runtime/own-writes.ts';
import { RestMapper } from '../../src/runtime/rest-mapper.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { getOrUndefined, installCrds } from '../support/operator.ts';
import { PREVIEWS, preview } from '../support/previews.ts';

it('a capacity undeploy planned on an idle preview that was started since deletes nothing', async (t) => {
  await installCrds();
  const ns = await testNamespace(t, 'act');
  const client = await testClient();
  await client.create(PREVIEWS, preview(ns, 'idle', { pullRequest: 1 }));
  // The copy a pass planned the undeploy on; then someone starts the preview.
  const planned = (await client.get(PREVIEWS, ns, 'idle')) as PreviewObject;
  await client.mergePatch(PREVIEWS, ns, 'idle', { spec: { state: 'Running' } });

  const deps = {
    mgr: { client, events: new EventRecorder(client, silentLogger) },
    mapper: new RestMapper(client),
    expectations: new OwnWrites(),
    transitions: new Counter({
      name: 'test_transitions_total',
      help: 'test',
      labelNames: ['reason'],
      registers: [],
    }),
  };
  const ctx = { log: silentLogger, reconcileId: 'test', signal: new AbortController().signal };
  const plan = { status: planned.status ?? {}, undeploy: true, create: [], deleteJobs: [], events: [] };
  await assert.rejects(actOnPreview(deps, ctx, planned, plan), isConflict, 'the delete is refused');

  const after = (await getOrUndefined(client, PREVIEWS, ns, 'idle')) as PreviewObject | undefined;
  assert.ok(after && !after.metadata.deletionTimestamp, 'not deleted');
  assert.equal(after.spec.state, 'Running');
});
