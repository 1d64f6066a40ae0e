import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kindKey, stillToLookAt } from '../../src/controllers/preview/purge.ts';
import type { ResourceRef } from '../../src/runtime/kube-client.ts';

const core = (plural: string): ResourceRef => ({ group: '', version: 'v1', plural, namespaced: true });
const kinds = [core('services'), core('configmaps'), core('secrets')];

describe('stillToLookAt', () => {
  const cases: { name: string; found: number[]; want: string[] }[] = [
    { name: 'nothing was found: nothing to list again', found: [0, 0, 0], want: [] },
    { name: 'a Service deleted at once: Services once more', found: [1, 0, 0], want: ['services.'] },
    {
      name: 'a ConfigMap held by a finalizer and a Secret',
      found: [0, 2, 1],
      want: ['configmaps.', 'secrets.'],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      assert.deepEqual([...stillToLookAt(kinds, c.found)].sort(), c.want);
      assert.equal(kindKey(core('pods')), 'pods.');
    });
});
