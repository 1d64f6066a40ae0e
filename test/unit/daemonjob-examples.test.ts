// Every example DaemonJob passes the schema `kubectl apply` checks, so the docs never show a
// manifest the API server would refuse.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { daemonJobSpec } from '../../src/api/daemonjob.ts';
import { validate } from '../../src/api/schema.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';

describe('examples/daemonjob', () => {
  const dir = new URL('../../examples/daemonjob/', import.meta.url);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')))
    it(`${file}: every DaemonJob is a valid spec`, () => {
      const jobs = parseAllDocuments(readFileSync(new URL(file, dir), 'utf8'))
        .map((d) => d.toJSON() as KubeObject)
        .filter((o) => o?.kind === 'DaemonJob');
      assert.ok(jobs.length > 0);
      for (const j of jobs) assert.deepEqual(validate(daemonJobSpec, j.spec), [], j.metadata.name);
    });

  it('a spec with an unknown field is not valid (the check can fail)', () => {
    const errors = validate(daemonJobSpec, { labelNode: true, template: { spec: { containers: [] } } });
    assert.notDeepEqual(errors, []);
  });
});
