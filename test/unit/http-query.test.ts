// Filters, stable order and paging of GET /api/v1/previews, and their bad inputs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '../../src/server/api/errors.ts';
import {
  decodeContinue,
  matches,
  paginate,
  parseEventsQuery,
  parseListQuery,
} from '../../src/server/api/query.ts';
import type { PreviewView } from '../../src/server/api/views.ts';

function view(name: string, createdAt: string, extra: Partial<PreviewView> = {}): PreviewView {
  return {
    namespace: 'ns',
    name,
    repository: 'shop',
    forgeRepository: 'acme/shop',
    branch: 'main',
    targetBranch: null,
    pullRequest: null,
    commit: 'abcdef0123',
    state: 'Stopped',
    phase: 'Stopped',
    initStatus: null,
    buildStatus: null,
    url: null,
    createdAt,
    lastScaled: null,
    ready: null,
    links: { commit: null, pullRequest: null },
    ...extra,
  };
}

describe('parseListQuery', () => {
  it('reads filters, limit and continue', () => {
    const { filters, page } = parseListQuery({
      repository: 'shop',
      pullRequest: '12',
      phase: 'Running',
      limit: '5',
    });
    assert.deepEqual(filters, { repository: 'shop', pullRequest: 12, phase: 'Running' });
    assert.equal(page.limit, 5);
    assert.equal(parseListQuery({}).page.limit, 100);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['unknown parameter', { colour: 'red' }, /unknown query parameter "colour"/],
    ['repeated parameter', { branch: ['a', 'b'] }, /given once/],
    ['pullRequest not a number', { pullRequest: 'x' }, /pullRequest must be a positive integer/],
    ['pullRequest zero', { pullRequest: '0' }, /positive integer/],
    ['unknown phase', { phase: 'Sleeping' }, /phase must be one of Pending/],
    ['limit zero', { limit: '0' }, /limit must be an integer from 1 to 1000/],
    ['limit too large', { limit: '1001' }, /limit/],
    ['limit fraction', { limit: '1.5' }, /limit/],
    ['continue garbage', { continue: '%%%' }, /continue must be a token/],
    ['continue of another shape', { continue: Buffer.from('{"a":1}').toString('base64url') }, /continue/],
  ];
  for (const [what, query, message] of bad)
    it(`400 for ${what}`, () => {
      assert.throws(
        () => parseListQuery(query),
        (e) => e instanceof HttpError && e.code === 400 && message.test(e.message),
      );
    });

  it('events accept namespace and repository only', () => {
    assert.deepEqual(parseEventsQuery({ namespace: 'a', repository: 'b' }), {
      namespace: 'a',
      repository: 'b',
    });
    assert.throws(() => parseEventsQuery({ limit: '3' }), /unknown query parameter "limit"/);
  });
});

describe('matches', () => {
  const v = view('shop-feature-x-abcdef0', 't', { branch: 'feature/X' });
  it('q matches a part of the name or branch, or the start of the commit', () => {
    assert.ok(matches(v, { q: 'feature' }));
    assert.ok(matches(v, { q: 'feature/x' }));
    assert.ok(matches(v, { q: 'abcd' }));
    assert.ok(!matches(v, { q: 'cdef01' }), 'commit matches only by prefix');
    assert.ok(!matches(v, { q: 'nothing' }));
  });
  it('each filter is exact', () => {
    assert.ok(matches(v, { namespace: 'ns', repository: 'shop', branch: 'feature/X', phase: 'Stopped' }));
    assert.ok(!matches(v, { branch: 'feature' }));
    assert.ok(!matches(v, { pullRequest: 1 }));
    assert.ok(!matches(v, { namespace: 'other' }));
  });
});

describe('paginate', () => {
  const views = [
    view('b-old', '2026-01-01T00:00:00Z'),
    view('pr-new', '2026-01-03T00:00:00Z', { pullRequest: 2 }),
    view('b-new', '2026-01-03T00:00:00Z'),
    view('pr-old', '2026-01-01T00:00:00Z', { pullRequest: 1 }),
    view('b-new2', '2026-01-03T00:00:00Z'),
  ];

  it('orders branches first, then pull requests, newest first, ties by name', () => {
    const page = paginate(views, { limit: 100 });
    assert.deepEqual(
      page.items.map((v) => v.name),
      ['b-new', 'b-new2', 'b-old', 'pr-new', 'pr-old'],
    );
    assert.equal(page.total, 5);
    assert.equal(page.continue, undefined);
  });

  it('walks every item exactly once across pages, even when an item is added between pages', () => {
    const first = paginate(views, { limit: 2 });
    assert.deepEqual(
      first.items.map((v) => v.name),
      ['b-new', 'b-new2'],
    );
    assert.ok(first.continue);
    // A newer preview appears: it sorts before the cursor and does not shift the next page.
    const more = [...views, view('b-newest', '2026-02-01T00:00:00Z')];
    const second = paginate(more, { limit: 2, after: decodeContinue(first.continue) });
    assert.deepEqual(
      second.items.map((v) => v.name),
      ['b-old', 'pr-new'],
    );
    const third = paginate(more, { limit: 2, after: decodeContinue(second.continue as string) });
    assert.deepEqual(
      third.items.map((v) => v.name),
      ['pr-old'],
    );
    assert.equal(third.continue, undefined);
    assert.equal(third.total, 6);
  });

  it('a cursor past the end gives an empty page', () => {
    const last = paginate(views, { limit: 4 });
    const after = paginate(views.slice(0, 2), { limit: 4, after: decodeContinue(last.continue as string) });
    assert.deepEqual(after.items, []);
  });
});
