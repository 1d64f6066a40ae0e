import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sameJson, setCondition } from '../../src/runtime/status.ts';

describe('sameJson', () => {
  const cases: [string, unknown, unknown, boolean][] = [
    ['equal scalars', 1, 1, true],
    ['different scalars', 1, '1', false],
    ['undefined field is a missing field', { a: 1, b: undefined }, { a: 1 }, true],
    ['missing on the other side', { a: 1 }, { a: 1, b: undefined }, true],
    ['null is not missing', { a: null }, {}, false],
    ['nested difference', { a: { b: [1, 2] } }, { a: { b: [1, 3] } }, false],
    ['array length', [1], [1, 1], false],
    ['array vs object', [], {}, false],
    ['extra field', { a: 1 }, { a: 1, c: 2 }, false],
  ];
  for (const [name, a, b, want] of cases) it(name, () => assert.equal(sameJson(a, b), want));
});

describe('setCondition', () => {
  const now = new Date('2026-11-23T12:00:00.123Z');
  it('keeps the transition time while the status holds, and returns the same list when unchanged', () => {
    const first = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'A', message: 'm' }, now);
    assert.equal(first[0]?.lastTransitionTime, '2026-11-23T12:00:00Z');
    const later = new Date('2026-11-23T13:00:00Z');
    assert.equal(
      setCondition(first, { type: 'Ready', status: 'False', reason: 'A', message: 'm' }, later),
      first,
    );
    const reason = setCondition(first, { type: 'Ready', status: 'False', reason: 'B', message: 'm' }, later);
    assert.equal(reason[0]?.lastTransitionTime, '2026-11-23T12:00:00Z');
    const flipped = setCondition(first, { type: 'Ready', status: 'True', reason: 'B', message: 'm' }, later);
    assert.equal(flipped[0]?.lastTransitionTime, '2026-11-23T13:00:00Z');
  });
});
