import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundedName, labelValue } from '../../src/api/names.ts';
import { matchesSelector } from '../../src/api/selector.ts';

describe('boundedName', () => {
  it('keeps short names readable', () => {
    assert.equal(boundedName(['migrate', 'shop', '3']), 'migrate-shop-3');
  });
  it('truncates long names to 63 characters with a hash that keeps them distinct', () => {
    const a = boundedName(['h'.repeat(40), 'd'.repeat(40), '1']);
    const b = boundedName(['h'.repeat(40), 'd'.repeat(40), '2']);
    assert.equal(a.length, 63);
    assert.notEqual(a, b);
    assert.match(a, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
  it('is deterministic', () => {
    assert.equal(boundedName(['x'.repeat(100)]), boundedName(['x'.repeat(100)]));
  });
});

describe('labelValue', () => {
  it('fits 63 characters and ends alphanumeric', () => {
    const v = labelValue(`${'a'.repeat(60)}----${'b'.repeat(30)}`);
    assert.ok(v.length <= 63);
    assert.match(v, /^[a-z0-9].*[a-z0-9]$/);
  });
});

describe('matchesSelector', () => {
  const labels = { app: 'shop', tier: 'web' };
  const cases: [string, Parameters<typeof matchesSelector>[0], boolean][] = [
    ['matchLabels hit', { matchLabels: { app: 'shop' } }, true],
    ['matchLabels miss', { matchLabels: { app: 'cart' } }, false],
    ['In', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] }, true],
    ['NotIn', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }, false],
    [
      'NotIn on a missing key',
      { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] },
      true,
    ],
    ['Exists', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    [
      'both must hold',
      { matchLabels: { app: 'shop' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['api'] }] },
      false,
    ],
  ];
  for (const [name, selector, want] of cases)
    it(name, () => assert.equal(matchesSelector(selector, labels), want));
});
