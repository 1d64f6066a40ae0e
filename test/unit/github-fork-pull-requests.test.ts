// status.forkPullRequests: what each webhook about a fork's pull request makes of the list.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ForkPullRequest } from '../../src/api/preview-repository.ts';
import { type ForkChange, nextForkPullRequests } from '../../src/controllers/preview/forks.ts';

const at = (minute: number) => `2026-05-01T10:${String(minute).padStart(2, '0')}:00Z`;
const pr = (number: number, minute: number, commit = `c${number}-${minute}`): ForkPullRequest => ({
  number,
  commit,
  branch: 'patch-1',
  targetBranch: 'main',
  fork: 'mallory/shop',
  updatedAt: at(minute),
});
const open = (p: ForkPullRequest): ForkChange => ({ type: 'open', pullRequest: p });
const closed = (number: number, minute: number): ForkChange => ({
  type: 'closed',
  number,
  updatedAt: at(minute),
});
/** The numbers and commits of a list, or 'unchanged'. */
const shape = (list: ForkPullRequest[] | undefined) =>
  list === undefined ? 'unchanged' : list.map((f) => `${f.number}@${f.commit}${f.closed ? ' closed' : ''}`);

describe('nextForkPullRequests', () => {
  const cases: {
    name: string;
    list: ForkPullRequest[];
    change: ForkChange;
    max?: number;
    want: string | string[];
  }[] = [
    { name: 'a first pull request is listed', list: [], change: open(pr(1, 0)), want: ['1@c1-0'] },
    {
      name: 'the newest first',
      list: [pr(1, 0)],
      change: open(pr(2, 5)),
      want: ['2@c2-5', '1@c1-0'],
    },
    {
      name: 'a new commit replaces the one listed and moves the pull request up',
      list: [pr(2, 5), pr(1, 0)],
      change: open(pr(1, 9)),
      want: ['1@c1-9', '2@c2-5'],
    },
    {
      name: 'an event older than the one listed changes nothing (out of order)',
      list: [pr(1, 9)],
      change: open(pr(1, 3)),
      want: 'unchanged',
    },
    {
      name: 'the same event again changes nothing (a replay)',
      list: [pr(1, 9)],
      change: open(pr(1, 9)),
      want: 'unchanged',
    },
    {
      name: 'an older pull request, arriving late, takes its place by time',
      list: [pr(2, 5)],
      change: open(pr(1, 0)),
      want: ['2@c2-5', '1@c1-0'],
    },
    {
      name: 'past the limit, the least recently updated goes',
      list: [pr(3, 7), pr(2, 5)],
      change: open(pr(4, 8)),
      max: 2,
      want: ['4@c4-8', '3@c3-7'],
    },
    {
      name: 'past the limit, a pull request older than all listed is not added',
      list: [pr(3, 7), pr(2, 5)],
      change: open(pr(1, 0)),
      max: 2,
      want: 'unchanged',
    },
    {
      name: 'closed marks it closed, at the time of the close',
      list: [pr(2, 5), pr(1, 0)],
      change: closed(1, 1),
      want: ['2@c2-5', '1@c1-0 closed'],
    },
    { name: 'closed, not listed: unchanged', list: [pr(2, 5)], change: closed(1, 1), want: 'unchanged' },
    {
      name: 'closed twice: unchanged',
      list: [{ ...pr(1, 4), closed: true }],
      change: closed(1, 5),
      want: 'unchanged',
    },
    {
      name: 'a close older than the commit listed (reopened since): unchanged',
      list: [pr(1, 9)],
      change: closed(1, 4),
      want: 'unchanged',
    },
    {
      name: 'a delivery older than the close does not list it again',
      list: [{ ...pr(1, 4), closed: true }],
      change: open(pr(1, 3)),
      want: 'unchanged',
    },
    {
      name: 'reopened after the close: listed again',
      list: [{ ...pr(1, 4), closed: true }],
      change: open(pr(1, 6)),
      want: ['1@c1-6'],
    },
  ];
  for (const c of cases)
    it(c.name, () => assert.deepEqual(shape(nextForkPullRequests(c.list, c.change, c.max)), c.want));
});
