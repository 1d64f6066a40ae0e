// The OpenAPI document is well-formed: schemas compile strictly, references resolve, every path
// parameter is declared, operation ids are unique, and changes are marked as needing operate.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { openApiDocument } from '../../src/server/api/openapi.ts';

interface Op {
  operationId: string;
  parameters?: { name: string; in: string }[];
  'x-bosun-scope'?: string;
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
}
const paths = openApiDocument.paths as unknown as Record<string, Record<string, Op>>;
const ops = Object.entries(paths).flatMap(([path, m]) =>
  Object.entries(m).map(([method, op]) => ({ path, method, op })),
);

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and its component schemas compile in strict mode', () => {
    assert.equal(openApiDocument.openapi, '3.1.0');
    const ajv = new Ajv2020({ strict: true, validateFormats: false });
    ajv.addKeyword('example');
    for (const [name, schema] of Object.entries(openApiDocument.components.schemas))
      ajv.addSchema(schema as object, `#/components/schemas/${name}`);
    for (const name of Object.keys(openApiDocument.components.schemas))
      assert.ok(ajv.getSchema(`#/components/schemas/${name}`), name);
  });

  it('every reference resolves and every operation is complete', () => {
    const text = JSON.stringify(openApiDocument);
    for (const [, ref] of text.matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g))
      assert.ok(ref && ref in openApiDocument.components.schemas, `unresolved $ref ${ref}`);
    const ids = ops.map((o) => o.op.operationId);
    assert.equal(new Set(ids).size, ids.length, 'unique operation ids');
    for (const { path, method, op } of ops) {
      const declared = (op.parameters ?? [])
        .filter((p) => p.in === 'path')
        .map((p) => p.name)
        .sort();
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      assert.deepEqual(declared, inPath, `${method} ${path}: path parameters`);
      assert.ok(
        Object.keys(op.responses).some((c) => c.startsWith('2')),
        `${method} ${path}: a success response`,
      );
      if (method !== 'get') {
        assert.equal(op['x-bosun-scope'], 'operate', `${method} ${path} needs operate`);
        assert.ok(op.responses['401'] && op.responses['403'], `${method} ${path}: 401 and 403 documented`);
      }
    }
  });
});
