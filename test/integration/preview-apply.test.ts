// A pass does not wait for the applies it starts: while the API server takes its time over one
// preview's Service, the repository's other previews go on through their lifecycle, and the slow
// preview's resources are not applied a second time meanwhile.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PREVIEW_LABEL } from '../../src/controllers/preview/labels.ts';
import { slowWebhook, testClient, testNamespace } from '../support/cluster.ts';
import { installCrds, metricValue, startOperator } from '../support/operator.ts';
import {
  PREVIEW_REPOSITORIES,
  PREVIEW_TEMPLATES,
  PREVIEWS,
  phase,
  preview,
  repository,
  template,
  waitPreview,
} from '../support/previews.ts';

const SERVICES = { group: '', version: 'v1', plural: 'services', namespaced: true };

describe('Preview applies', () => {
  it('a preview whose Service the API server holds does not hold back the others of its repository', async (t) => {
    await installCrds();
    const ns = await testNamespace(t, 'apply');
    const client = await testClient();
    await client.create(
      PREVIEW_TEMPLATES,
      template(ns, 'web', {
        build: undefined,
        initialize: { template: { spec: { containers: [{ name: 'init', image: 'seed' }] } } },
        app: { port: 8080, template: { spec: { containers: [{ name: 'web', image: 'web' }] } } },
        ingress: undefined,
        cleanup: undefined,
        resources: [],
      }),
    );
    await client.create(PREVIEW_REPOSITORIES, repository(ns, 'shop', { capacity: { maxInitializing: 2 } }));
    const webhook = await slowWebhook(t, client, ns, {
      resource: 'services',
      labels: { [PREVIEW_LABEL]: 'shop-slow' },
      probe: () =>
        client.create(
          SERVICES,
          {
            metadata: { name: 'probe', namespace: ns, labels: { [PREVIEW_LABEL]: 'shop-slow' } },
            spec: { ports: [{ port: 80 }] },
          },
          { dryRun: 'All' },
        ),
    });
    const operator = await startOperator(t, { namespaces: [ns] });

    await client.create(PREVIEWS, preview(ns, 'shop-slow', { branch: 'slow' }));
    await waitPreview(client, ns, 'shop-slow', () => webhook.holding === 1, 'its Service create held');
    await client.create(PREVIEWS, preview(ns, 'shop-quick', { branch: 'quick' }));
    await waitPreview(
      client,
      ns,
      'shop-quick',
      phase('Stopped'),
      'deployed while the other one waits',
      20_000,
    );

    assert.equal(webhook.holding, 1, 'the slow Service is still held');
    assert.equal(webhook.received, 1, 'and was not applied again meanwhile');
    const slow = await client.get(PREVIEWS, ns, 'shop-slow');
    assert.notEqual(slow.status?.phase, 'Stopped');
    assert.equal(await metricValue(operator, 'bosun_preview_applies_pending'), 1);

    webhook.release();
    await waitPreview(client, ns, 'shop-slow', phase('Stopped'), 'deployed once its Service is created');
    assert.equal(webhook.received, 1, 'one apply of the slow Service in all');
    assert.equal(await metricValue(operator, 'bosun_preview_applies_pending'), 0);
  });
});
