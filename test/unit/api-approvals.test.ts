// GET /api/v1/approvals: a fork's pull request waits while its newest commit has no live preview
// (waitingForApproval), shown as an ApprovalView.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ForkPullRequest } from '../../src/api/preview-repository.ts';
import { waitingForApproval } from '../../src/controllers/preview/approvals.ts';
import type { PreviewObject, RepositoryObject } from '../../src/controllers/preview/model.ts';
import { approvalView } from '../../src/server/api/approvals.ts';

const awaitingApproval = (repos: RepositoryObject[], previewsOf: (ns: string) => PreviewObject[]) =>
  waitingForApproval(repos, previewsOf).map(approvalView);

const fork = (number: number, commit: string, minute: number): ForkPullRequest => ({
  number,
  commit,
  branch: 'patch-1',
  targetBranch: 'main',
  fork: 'mallory/shop',
  updatedAt: `2026-05-01T10:0${minute}:00Z`,
});
const repo = (namespace: string, name: string, forks: ForkPullRequest[]): RepositoryObject => ({
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'PreviewRepository',
  metadata: { namespace, name },
  spec: { repository: `acme/${name}`, template: 'web' },
  status: { forkPullRequests: forks },
});
const preview = (
  namespace: string,
  repository: string,
  pullRequest: number | undefined,
  commit: string,
  deleting = false,
): PreviewObject => ({
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'Preview',
  metadata: {
    namespace,
    name: `${repository}-${pullRequest}-${commit}`,
    ...(deleting ? { deletionTimestamp: '2026-05-01T11:00:00Z' } : {}),
  },
  spec: {
    repository,
    branch: 'patch-1',
    commit,
    ...(pullRequest ? { pullRequest, targetBranch: 'main' } : {}),
  },
});

describe('awaitingApproval', () => {
  const cases: { name: string; repos: RepositoryObject[]; previews: PreviewObject[]; want: string[] }[] = [
    { name: 'nothing listed, nothing waits', repos: [repo('a', 'shop', [])], previews: [], want: [] },
    {
      name: 'a commit without a preview waits',
      repos: [repo('a', 'shop', [fork(1, 'c1', 0)])],
      previews: [],
      want: ['a/shop#1@c1'],
    },
    {
      name: 'its preview at that commit approves it',
      repos: [repo('a', 'shop', [fork(1, 'c1', 0)])],
      previews: [preview('a', 'shop', 1, 'c1')],
      want: [],
    },
    {
      name: 'a preview of an older commit does not (per pull request, approving moves it)',
      repos: [repo('a', 'shop', [fork(1, 'c2', 0)])],
      previews: [preview('a', 'shop', 1, 'c1')],
      want: ['a/shop#1@c2'],
    },
    {
      name: 'a closed one does not wait',
      repos: [repo('a', 'shop', [{ ...fork(1, 'c1', 0), closed: true }])],
      previews: [],
      want: [],
    },
    {
      name: 'a preview being undeployed does not',
      repos: [repo('a', 'shop', [fork(1, 'c1', 0)])],
      previews: [preview('a', 'shop', 1, 'c1', true)],
      want: ['a/shop#1@c1'],
    },
    {
      name: 'the same commit on a branch, or in another repository or namespace, does not',
      repos: [repo('a', 'shop', [fork(1, 'c1', 0)])],
      previews: [
        preview('a', 'shop', undefined, 'c1'),
        preview('a', 'other', 1, 'c1'),
        preview('b', 'shop', 1, 'c1'),
      ],
      want: ['a/shop#1@c1'],
    },
    {
      name: 'every repository, the newest first',
      repos: [repo('a', 'shop', [fork(2, 'c2', 1), fork(1, 'c1', 0)]), repo('b', 'shop', [fork(7, 'c7', 5)])],
      previews: [],
      want: ['b/shop#7@c7', 'a/shop#2@c2', 'a/shop#1@c1'],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const got = awaitingApproval(c.repos, (ns) => c.previews.filter((p) => p.metadata.namespace === ns));
      assert.deepEqual(
        got.map((a) => `${a.namespace}/${a.repository}#${a.pullRequest}@${a.commit}`),
        c.want,
      );
    });

  it('a view has what creating the preview needs, and links to GitHub', () => {
    const [view] = awaitingApproval([repo('a', 'shop', [fork(1, 'c1', 0)])], () => []);
    assert.deepEqual(view, {
      namespace: 'a',
      repository: 'shop',
      forgeRepository: 'acme/shop',
      pullRequest: 1,
      commit: 'c1',
      branch: 'patch-1',
      targetBranch: 'main',
      fork: 'mallory/shop',
      updatedAt: '2026-05-01T10:00:00Z',
      links: {
        commit: 'https://github.com/acme/shop/commit/c1',
        pullRequest: 'https://github.com/acme/shop/pull/1',
      },
    });
  });
});
