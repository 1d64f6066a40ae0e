// Every example PreviewTemplate, PreviewRepository and Preview passes the schema `kubectl apply`
// checks, so the docs never show a manifest the API server would refuse.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { previewSpec } from '../../src/api/preview.ts';
import { previewRepositorySpec } from '../../src/api/preview-repository.ts';
import { previewTemplateSpec } from '../../src/api/preview-template.ts';
import { validate } from '../../src/api/schema.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';

const SPECS: Record<string, (spec: unknown) => string[]> = {
  PreviewTemplate: (spec) => validate(previewTemplateSpec, spec),
  PreviewRepository: (spec) => validate(previewRepositorySpec, spec),
  Preview: (spec) => validate(previewSpec, spec),
};

describe('examples/preview', () => {
  const dir = new URL('../../examples/preview/', import.meta.url);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')))
    it(`${file}: every preview kind is a valid spec`, () => {
      const objects = parseAllDocuments(readFileSync(new URL(file, dir), 'utf8'))
        .map((d) => d.toJSON() as KubeObject)
        .filter((o) => o && (o.kind as string) in SPECS);
      assert.ok(objects.some((o) => o.kind === 'PreviewTemplate'));
      assert.ok(objects.some((o) => o.kind === 'PreviewRepository'));
      for (const o of objects)
        assert.deepEqual(SPECS[o.kind as string]?.(o.spec), [], `${o.kind} ${o.metadata.name}`);
    });

  it('a template with an unknown field is not valid (the check can fail)', () => {
    assert.notDeepEqual(validate(previewTemplateSpec, { app: { port: 80 }, appp: {} }), []);
  });
});
