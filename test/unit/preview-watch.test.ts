import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statusOnly } from '../../src/controllers/preview/controller.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';

const repository: KubeObject = {
  metadata: {
    name: 'shop',
    namespace: 'ns',
    uid: 'r1',
    generation: 1,
    resourceVersion: '10',
    managedFields: [],
  },
  spec: { repository: 'acme/shop', template: 'web' },
  status: { deployed: 3 },
};
const changed = (o: { metadata?: object; spec?: object; status?: object }): KubeObject => ({
  metadata: { ...repository.metadata, resourceVersion: '11', ...o.metadata },
  spec: { ...repository.spec, ...o.spec },
  status: { ...repository.status, ...o.status },
});

describe('statusOnly (a repository update that starts no pass)', () => {
  const cases: { name: string; now: KubeObject; want: boolean }[] = [
    { name: 'the counts a pass wrote', now: changed({ status: { deployed: 4 } }), want: true },
    {
      name: 'the counts, with their managed fields',
      now: changed({ metadata: { managedFields: [{ manager: 'bosun' }] }, status: { deployed: 4 } }),
      want: true,
    },
    {
      name: 'a spec change',
      now: changed({ metadata: { generation: 2 }, spec: { template: 'api' } }),
      want: false,
    },
    {
      name: 'an annotation (the bench touches one)',
      now: changed({ metadata: { annotations: { a: 'b' } } }),
      want: false,
    },
    {
      name: 'a deletion',
      now: changed({ metadata: { deletionTimestamp: '2026-11-24T00:00:00Z' } }),
      want: false,
    },
  ];
  for (const c of cases)
    it(`${c.name}: ${c.want}`, () => {
      assert.equal(statusOnly(repository, c.now), c.want);
    });
});
