import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { deploymentHookSpec } from '../../src/api/deploymenthook.ts';
import { validate } from '../../src/api/schema.ts';
import { generatedFiles } from '../../src/cli/generate.ts';

const container = { name: 'm', image: 'x' };

describe('DeploymentHook spec validation (the runtime side of the CRD schema)', () => {
  const cases: [string, unknown, RegExp | null][] = [
    [
      'a PodTemplate by name',
      { selector: { matchLabels: { app: 'a' } }, template: { name: 'migrations' } },
      null,
    ],
    [
      'an inline template',
      { selector: { matchLabels: { app: 'a' } }, template: { spec: { spec: { containers: [container] } } } },
      null,
    ],
    [
      'both name and spec',
      {
        selector: { matchLabels: { app: 'a' } },
        template: { name: 'x', spec: { spec: { containers: [container] } } },
      },
      /exactly one of template.name/,
    ],
    [
      'neither name nor spec',
      { selector: { matchLabels: { app: 'a' } }, template: {} },
      /exactly one of template.name/,
    ],
    [
      'unknown concurrencyPolicy',
      { selector: { matchLabels: { app: 'a' } }, template: { name: 'x' }, concurrencyPolicy: 'Sometimes' },
      /concurrencyPolicy: must be one of Forbid, Replace, Allow/,
    ],
    [
      'negative backoffLimit',
      { selector: { matchLabels: { app: 'a' } }, template: { name: 'x' }, backoffLimit: -1 },
      /backoffLimit: must be at least 0/,
    ],
    ['empty selector', { selector: {}, template: { name: 'x' } }, /selector must not be empty/],
    ['missing selector', { template: { name: 'x' } }, /selector: required/],
    [
      'unknown field',
      { selector: { matchLabels: { app: 'a' } }, template: { name: 'x' }, retries: 3 },
      /retries: unknown field/,
    ],
  ];
  for (const [name, spec, want] of cases) {
    it(name, () => {
      const errors = validate(deploymentHookSpec, spec, 'spec');
      if (want === null) assert.deepEqual(errors, []);
      else assert.match(errors.join('\n'), want);
    });
  }
});

describe('generated files', () => {
  for (const [path, text] of Object.entries(generatedFiles())) {
    it(`${path} is committed and up to date (run \`npm run generate\` after changing src/api)`, () => {
      assert.equal(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'), text);
    });
  }
});
