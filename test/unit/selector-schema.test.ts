// The runtime side of the label selector schema: the same rules the CRD gives kubectl apply.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labelSelectorSchema } from '../../src/api/common.ts';
import { validate } from '../../src/api/schema.ts';
import { isLabelKey, isLabelValue } from '../../src/api/selector.ts';

describe('label selector validation', () => {
  const cases: [string, unknown, RegExp | null][] = [
    ['matchLabels', { matchLabels: { app: 'shop', 'example.com/tier': 'web' } }, null],
    ['In with values', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] }, null],
    ['Exists without values', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, null],
    ['an empty label value', { matchLabels: { app: '' } }, null],
    [
      'In without values',
      { matchExpressions: [{ key: 'tier', operator: 'In' }] },
      /values must list at least one value for operator In and NotIn/,
    ],
    [
      'NotIn with an empty list',
      { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: [] }] },
      /values must list at least one value/,
    ],
    [
      'Exists with values',
      { matchExpressions: [{ key: 'tier', operator: 'Exists', values: ['web'] }] },
      /values must be empty for operator Exists and DoesNotExist/,
    ],
    [
      'DoesNotExist with values',
      { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist', values: ['web'] }] },
      /values must be empty/,
    ],
    [
      'a key with a space',
      { matchExpressions: [{ key: 'my tier', operator: 'Exists' }] },
      /key: must be a label key/,
    ],
    [
      'a matchLabels key with a space',
      { matchLabels: { 'my app': 'shop' } },
      /matchLabels key must be a label key/,
    ],
    ['a value with a space', { matchLabels: { app: 'my shop' } }, /matchLabels.app: must be a label value/],
    [
      'a value that ends with a dash',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web-'] }] },
      /values\[0\]: must be a label value/,
    ],
    ['a 64-character value', { matchLabels: { app: 'a'.repeat(64) } }, /at most 63 characters/],
  ];
  for (const [name, selector, want] of cases)
    it(name, () => {
      const errors = validate(labelSelectorSchema, selector, 'selector');
      if (want === null) assert.deepEqual(errors, []);
      else assert.match(errors.join('\n'), want);
    });
});

describe('label syntax', () => {
  const keys: [string, boolean][] = [
    ['app', true],
    ['app.kubernetes.io/name', true],
    ['A_b-c.d', true],
    ['', false],
    ['-app', false],
    ['app-', false],
    ['Example.com/app', false],
    ['example.com/', false],
    [`x/${'a'.repeat(64)}`, false],
    ['a/b/c', false],
  ];
  for (const [key, ok] of keys)
    it(`key ${JSON.stringify(key.slice(0, 20))} is ${ok ? 'valid' : 'invalid'}`, () =>
      assert.equal(isLabelKey(key), ok));
  const values: [string, boolean][] = [
    ['', true],
    ['v1.2_3-x', true],
    ['.v', false],
    ['a b', false],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
  ];
  for (const [value, ok] of values)
    it(`value ${JSON.stringify(value.slice(0, 20))} is ${ok ? 'valid' : 'invalid'}`, () =>
      assert.equal(isLabelValue(value), ok));
});
