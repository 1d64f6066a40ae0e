import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PreviewObject } from '../../src/controllers/preview/model.ts';
import { kindKey, selector, stillToLookAt } from '../../src/controllers/preview/purge.ts';
import { type ResourceRef, Resources } from '../../src/runtime/kube-client.ts';

const configMaps: ResourceRef = { group: '', version: 'v1', plural: 'configmaps', namespaced: true };
const kinds = [Resources.jobs, Resources.deployments, Resources.replicaSets, Resources.pods, configMaps];
const keys = (...refs: ResourceRef[]) => refs.map(kindKey).sort();

describe('stillToLookAt', () => {
  const cases: { name: string; found: number[]; want: string[] }[] = [
    { name: 'nothing was found: the purge is done', found: [0, 0, 0, 0, 0], want: [] },
    {
      name: 'a Job: its pods too, which the Job controller may have been creating',
      found: [1, 0, 0, 0, 0],
      want: keys(Resources.jobs, Resources.pods),
    },
    {
      name: 'a Deployment: its ReplicaSets and their pods too',
      found: [0, 1, 0, 0, 0],
      want: keys(Resources.deployments, Resources.replicaSets, Resources.pods),
    },
    {
      name: 'a ConfigMap held by a finalizer: only ConfigMaps',
      found: [0, 0, 0, 0, 2],
      want: keys(configMaps),
    },
    {
      name: 'pods alone (their owners already gone)',
      found: [0, 0, 0, 3, 0],
      want: keys(Resources.pods),
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      assert.deepEqual([...stillToLookAt(kinds, c.found)].sort(), c.want);
    });
});

describe('selector', () => {
  const named = (name: string) => ({ metadata: { name }, spec: {} }) as PreviewObject;
  const long = 'x'.repeat(70);
  const cases: { name: string; previews: string[]; want: RegExp }[] = [
    { name: 'one preview: an equality', previews: ['p'], want: /^bosun\.dev\/preview=p$/ },
    { name: 'several: a set', previews: ['p', 'q'], want: /^bosun\.dev\/preview in \(p,q\)$/ },
    {
      name: 'a name longer than a label value: the value the children carry',
      previews: [long, 'q'],
      want: /^bosun\.dev\/preview in \(x{54}-[0-9a-f]{8},q\)$/,
    },
  ];
  for (const c of cases) it(c.name, () => assert.match(selector(c.previews.map(named)), c.want));
});
