import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ForkPullRequest } from '../../src/api/preview-repository.ts';
import { resyncInterval } from '../../src/cli/run.ts';
import { EVENT_TIME_ANNOTATION } from '../../src/controllers/preview/labels.ts';
import type { PreviewObject } from '../../src/controllers/preview/model.ts';
import {
  type Confirmed,
  type Listed,
  planResync,
  resyncCandidates,
} from '../../src/controllers/preview-github/resync-plan.ts';

const preview = (name: string, branch: string, pullRequest?: number, deleting = false): PreviewObject => ({
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'Preview',
  metadata: {
    name,
    namespace: 'ns',
    uid: `uid-${name}`,
    ...(deleting ? { deletionTimestamp: '2026-11-25T10:00:00Z' } : {}),
  },
  spec: { repository: 'shop', branch, commit: 'abcdef0123', ...(pullRequest ? { pullRequest } : {}) },
});

const fork = (number: number, closed = false): ForkPullRequest => ({
  number,
  commit: 'f00dfeed',
  branch: 'patch-1',
  targetBranch: 'main',
  fork: 'someone/shop',
  updatedAt: '2026-11-25T09:00:00Z',
  ...(closed ? { closed: true } : {}),
});

const listed = (open: number[], branches: string[]): Listed => ({
  openPullRequests: new Set(open),
  branches: new Set(branches),
});

describe('resyncCandidates', () => {
  const table: [string, PreviewObject[], ForkPullRequest[], Listed, number[], string[]][] = [
    [
      'everything listed: nothing to ask',
      [preview('a', 'main'), preview('b', 'fix', 7)],
      [fork(9)],
      listed([7, 9], ['main']),
      [],
      [],
    ],
    ['a pull request not listed open', [preview('b', 'fix', 7)], [], listed([], ['main', 'fix']), [7], []],
    [
      'a branch not listed',
      [preview('a', 'gone'), preview('b', 'main')],
      [],
      listed([], ['main']),
      [],
      ['gone'],
    ],
    [
      'a pull request preview is asked about by number, never by branch (a fork’s branch is not ours)',
      [preview('b', 'their-branch', 7)],
      [],
      listed([7], ['main']),
      [],
      [],
    ],
    ['a waiting fork not listed open', [], [fork(9)], listed([], []), [9], []],
    ['a fork marked closed already: nothing', [], [fork(9, true)], listed([], []), [], []],
    [
      'an undeploy under way: nothing',
      [preview('b', 'x', 7, true), preview('a', 'y', undefined, true)],
      [],
      listed([], []),
      [],
      [],
    ],
    [
      'each asked once, in order',
      [preview('b', 'fix', 8), preview('c', 'fix', 7), preview('d', 'x'), preview('e', 'x')],
      [fork(8)],
      listed([], []),
      [7, 8],
      ['x'],
    ],
  ];
  for (const [name, previews, forks, l, pulls, branches] of table)
    it(name, () => assert.deepEqual(resyncCandidates(previews, forks, l), { pullRequests: pulls, branches }));

  it('asks at most `max` in a round, each round starting further on, so none is starved', () => {
    const previews = [preview('a', 'x'), preview('b', 'y'), preview('c', 'z', 3), preview('d', 'z', 1)];
    const round = (n: number, max: number) => resyncCandidates(previews, [], listed([], []), n, max);
    assert.deepEqual(round(0, 3), { pullRequests: [1, 3], branches: ['x'] });
    assert.deepEqual(round(1, 3), { pullRequests: [1, 3], branches: ['y'] });
    assert.deepEqual(round(0, 1), { pullRequests: [1], branches: [] });
    assert.deepEqual(round(3, 1), { pullRequests: [], branches: ['y'] });
    assert.deepEqual(round(4, 1), { pullRequests: [1], branches: [] });
    assert.deepEqual(round(7, 4), { pullRequests: [1, 3], branches: ['x', 'y'] }, 'all fit: all');
  });
});

describe('planResync', () => {
  const confirmed = (closed: [number, string][], gone: string[]): Confirmed => ({
    closedPullRequests: new Map(closed),
    goneBranches: new Set(gone),
  });
  const names = (plan: ReturnType<typeof planResync>) =>
    plan.undeploy.map((u) => `${u.preview.metadata.name}: ${u.why}`);

  it('undeploys the previews of a pull request GitHub answered closed, of either branch', () => {
    const plan = planResync(
      [preview('a', 'fix', 7), preview('b', 'fix', 7), preview('c', 'fix', 8), preview('d', 'fix')],
      [],
      confirmed([[7, '2026-11-25T10:00:00Z']], []),
    );
    assert.deepEqual(names(plan), [
      'a: pull request #7 is closed on GitHub',
      'b: pull request #7 is closed on GitHub',
    ]);
  });

  it('undeploys the branch previews of a branch GitHub answered 404 for, not pull requests from it', () => {
    const plan = planResync(
      [preview('a', 'gone'), preview('b', 'gone', 7), preview('c', 'main')],
      [],
      confirmed([], ['gone']),
    );
    assert.deepEqual(names(plan), ['a: branch gone no longer exists on GitHub']);
  });

  it('nothing confirmed: nothing undeployed (a listing alone never undeploys)', () => {
    const plan = planResync([preview('a', 'x', 7), preview('b', 'y')], [fork(7)], confirmed([], []));
    assert.deepEqual(plan, { undeploy: [], closeForks: [] });
  });

  it('a preview the webhook set after the close (reopened meanwhile) stays', () => {
    const at = (time: string) => {
      const p = preview(`pr7-${time}`, 'fix', 7);
      p.metadata.annotations = { [EVENT_TIME_ANNOTATION]: time };
      return p;
    };
    const plan = planResync(
      [at('2026-11-25T10:00:05Z'), at('2026-11-25T09:59:00Z'), preview('no-time', 'fix', 7)],
      [],
      confirmed([[7, '2026-11-25T10:00:00Z']], []),
    );
    assert.deepEqual(
      plan.undeploy.map((u) => u.preview.metadata.name),
      ['pr7-2026-11-25T09:59:00Z', 'no-time'],
    );
  });

  it('an undeploy under way is not asked for again', () => {
    const plan = planResync([preview('a', 'x', 7, true)], [], confirmed([[7, 't']], []));
    assert.deepEqual(plan.undeploy, []);
  });

  it('marks a waiting fork closed with the time GitHub gives; one marked already is left', () => {
    const plan = planResync(
      [],
      [fork(7), fork(8, true), fork(9)],
      confirmed(
        [
          [7, '2026-11-25T10:00:00Z'],
          [8, '2026-11-25T10:00:00Z'],
        ],
        [],
      ),
    );
    assert.deepEqual(plan.closeForks, [{ number: 7, updatedAt: '2026-11-25T10:00:00Z' }]);
  });
});

describe('--github-resync-interval', () => {
  const good: [string | undefined, number | undefined][] = [
    [undefined, undefined],
    ['0', 0],
    ['1s', 1000],
    ['15m', 900_000],
    ['24h', 86_400_000],
  ];
  for (const [raw, want] of good) it(`${raw} → ${want}`, () => assert.equal(resyncInterval(raw), want));
  const bad: [string, RegExp][] = [
    ['500ms', /between 1s and 24h \(or 0 for never\), got "500ms"/],
    ['25h', /between 1s and 24h/],
    ['soon', /a duration such as 90s, 10m or 1h, got "soon"/],
  ];
  for (const [raw, message] of bad)
    it(`refuses ${raw}, saying what to give`, () => assert.throws(() => resyncInterval(raw), message));
});
