// GitHub out against the loopback fake, which checks every request against GitHub's REST
// description: what each preview level reports, one comment edited in place, deployments and their
// statuses (inactive on undeploy), retries after 5xx and rate limits, and the App flow with a key
// made here.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import type { PreviewObject } from '../../src/controllers/preview/model.ts';
import { type Known, publish, publishComment } from '../../src/controllers/preview-github/publish.ts';
import {
  COMMENT_ANNOTATION,
  DEPLOYMENT_ANNOTATION,
  desiredReport,
  isFleeting,
  levelOf,
  REPORTED_ANNOTATION,
  verbatim,
} from '../../src/controllers/preview-github/report.ts';
import type { RepositoryClient } from '../../src/github/client.ts';
import { installRetry, RateLimitedError, type RetryPolicy, retryDelay } from '../../src/github/retry.ts';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const FAST: RetryPolicy = { retries: 3, baseDelayMs: 5, maxWaitMs: 2000, timeoutMs: 5000 };
const SHA1 = 'a'.repeat(40);
const SHA2 = 'b'.repeat(40);

const preview = (
  phase: string | undefined,
  opts: { commit?: string; pr?: number; reason?: string; deleting?: boolean } = {},
): PreviewObject => ({
  metadata: {
    name: opts.pr ? `shop-pr${opts.pr}` : 'shop-main-aaaaaaa',
    namespace: 'previews',
    uid: 'u1',
    ...(opts.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
  spec: {
    repository: 'shop',
    branch: 'main',
    commit: opts.commit ?? SHA1,
    ...(opts.pr ? { pullRequest: opts.pr, targetBranch: 'main' } : {}),
  },
  status: {
    ...(phase ? { phase: phase as never } : {}),
    url: 'http://shop-pr7.preview.test',
    conditions: opts.reason
      ? [
          {
            type: 'Ready',
            status: 'False',
            reason: opts.reason,
            message: 'the build Job failed',
            lastTransitionTime: '2026-01-01T00:00:00Z',
          },
        ]
      : [],
  },
});

describe('desiredReport', () => {
  const table: [
    string | undefined,
    { reason?: string; deleting?: boolean },
    string,
    string | undefined,
    string,
  ][] = [
    [undefined, {}, 'pending', 'pending', 'queued'],
    ['Pending', {}, 'pending', 'pending', 'queued'],
    ['Building', {}, 'building', 'pending', 'in_progress'],
    ['Initializing', {}, 'initializing', 'pending', 'in_progress'],
    ['Stopped', {}, 'stopped', 'success', 'success'],
    ['Starting', {}, 'stopped', 'success', 'success'],
    ['Running', {}, 'running', 'success', 'success'],
    ['Failed', { reason: 'BuildFailed' }, 'failed', 'failure', 'failure'],
    ['Failed', { reason: 'ApplyRejected' }, 'error', 'error', 'error'],
    ['Pending', { reason: 'TemplateNotFound' }, 'error', 'error', 'error'],
    ['Undeploying', {}, 'undeployed', undefined, 'inactive'],
    ['Running', { deleting: true }, 'undeployed', undefined, 'inactive'],
  ];
  for (const [phase, opts, level, status, deployment] of table)
    it(`${phase ?? 'no status'}${opts.reason ? ` (${opts.reason})` : ''}${opts.deleting ? ' deleting' : ''} → ${level}`, () => {
      const r = desiredReport(preview(phase, opts));
      assert.equal(levelOf(preview(phase, opts)), level);
      assert.equal(r.status?.state, status);
      assert.equal(r.deployment.state, deployment);
      assert.equal(r.key, `${level}/${SHA1}`);
      assert.equal(r.environment, 'preview/shop-main-aaaaaaa');
    });
  it('a pull-request preview has a comment with its URL; descriptions fit GitHub’s 140 characters', () => {
    const r = desiredReport(preview('Running', { pr: 7 }));
    assert.match(r.comment ?? '', /^<!-- bosun-preview previews\/shop#7 -->/);
    assert.match(r.comment ?? '', /running\*\* at http:\/\/shop-pr7\.preview\.test/);
    const long = preview('Failed', { reason: 'BuildFailed' });
    (long.status?.conditions?.[0] as { message: string }).message = 'x'.repeat(500);
    assert.ok((desiredReport(long).status?.description.length ?? 0) <= 140);
    assert.equal(desiredReport(preview('Running')).comment, undefined);
  });
  it('the app being created (Pending, Deploying) is fleeting: not reported; other states are', () => {
    assert.equal(isFleeting(preview('Pending', { reason: 'Deploying' })), true);
    for (const [phase, reason] of [
      ['Pending', 'WaitingForCapacity'],
      ['Stopped', 'Stopped'],
      ['Building', 'Building'],
      [undefined, undefined],
    ] as const)
      assert.equal(isFleeting(preview(phase, reason ? { reason } : {})), false, `${phase} ${reason}`);
  });
  it('with --public-url the comment links to the pull request in the web UI, until undeployed', () => {
    const link =
      '[Start, stop, reset and logs in Bosun](https://b.example/?repository=previews%2Fshop&pullRequest=7)';
    assert.ok(
      desiredReport(preview('Stopped', { pr: 7 }), false, 'https://b.example').comment?.includes(link),
    );
    assert.ok(
      !desiredReport(preview('Stopped', { pr: 7 })).comment?.includes('Bosun]('),
      'no link unless configured',
    );
    assert.ok(
      !desiredReport(preview('Stopped', { pr: 7 }), true, 'https://b.example').comment?.includes(link),
    );
  });
  it("a failure's message is shown verbatim in the comment, whatever markdown it holds", () => {
    const failed = preview('Failed', { pr: 7, reason: 'BuildFailed' });
    const message =
      'exit 1\n\n# Approved ![x](https://evil.example/x.png)\n``````\n[merge](https://evil.example)';
    (failed.status?.conditions?.[0] as { message: string }).message = message;
    const comment = desiredReport(failed).comment ?? '';
    assert.ok(comment.includes(`\n\`\`\`\`\`\`\`text\n${message}\n\`\`\`\`\`\`\`\n`), comment);
  });
  for (const [text, fence] of [
    ['plain', '```'],
    ['a `code` span', '```'],
    ['a ``` fence', '````'],
  ])
    it(`verbatim fences ${JSON.stringify(text)} with ${fence}`, () =>
      assert.equal(verbatim(text as string), `${fence}text\n${text}\n${fence}`));
});

describe('retryDelay', () => {
  const now = 1_000_000_000_000;
  const table: [string, number | undefined, Record<string, string>, number | undefined][] = [
    ['502: backoff', 502, {}, 20],
    ['no answer at all: backoff', undefined, {}, 20],
    ['429 with retry-after', 429, { 'retry-after': '3' }, 3000],
    [
      '403 primary limit: until the reset, plus a second',
      403,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 30) },
      31_000,
    ],
    ['403 forbidden without limit headers: not retried', 403, {}, undefined],
    ['404: not retried', 404, {}, undefined],
    ['422: not retried', 422, {}, undefined],
  ];
  for (const [what, status, headers, ms] of table)
    it(what, () => assert.equal(retryDelay(status, headers, 2, FAST, now)?.ms, ms));
});

describe('publish against the fake GitHub', () => {
  let gh: FakeGitHub;
  let client: RepositoryClient;
  before(async () => {
    gh = await startFakeGitHub();
    gh.tokens.add('t0k3n');
    const octokit = new Octokit({ baseUrl: gh.url, auth: 't0k3n', log: quiet });
    installRetry(octokit, FAST);
    client = { octokit, owner: 'acme', repo: 'shop' };
  });
  after(() => gh.close());

  /** Publishes a preview's report through its levels as the controller would, keeping annotations. */
  async function lifecycle(steps: PreviewObject[]) {
    const annotations: Record<string, string> = {};
    for (const p of steps) {
      const report = desiredReport(p);
      const known: Known = {
        deploymentId: annotations[DEPLOYMENT_ANNOTATION]
          ? Number(annotations[DEPLOYMENT_ANNOTATION])
          : undefined,
        deploymentCommit: annotations[REPORTED_ANNOTATION]?.split('/')[1],
      };
      await publish(client, p, report, known, async (a) => void Object.assign(annotations, a));
      if (report.comment) {
        const known = annotations[COMMENT_ANNOTATION] ? Number(annotations[COMMENT_ANNOTATION]) : undefined;
        annotations[COMMENT_ANNOTATION] = String(await publishComment(client, p, report.comment, known));
      }
      annotations[REPORTED_ANNOTATION] = report.key;
    }
    return annotations;
  }

  it('statuses pending → success, one comment edited in place, a deployment per commit, inactive at the end', async () => {
    gh.calls.length = 0;
    const annotations = await lifecycle([
      preview('Pending', { pr: 7 }),
      preview('Building', { pr: 7 }),
      preview('Stopped', { pr: 7 }),
      preview('Building', { pr: 7, commit: SHA2 }), // a push to the pull request: rebuilt in place
      preview('Running', { pr: 7, commit: SHA2 }),
      preview('Running', { pr: 7, commit: SHA2, deleting: true }), // closed: undeployed
    ]);
    assert.deepEqual(
      gh.calls.filter((c) => c.problem),
      [],
      'every request valid against the REST description',
    );
    const statuses = gh.callsOf('repos/create-commit-status');
    assert.deepEqual(
      statuses.map((c) => [c.params.sha?.slice(0, 1), c.body.state, c.body.context]),
      [
        ['a', 'pending', 'bosun/preview'],
        ['a', 'pending', 'bosun/preview'],
        ['a', 'success', 'bosun/preview'],
        ['b', 'pending', 'bosun/preview'],
        ['b', 'success', 'bosun/preview'],
      ],
    );
    assert.equal(statuses[2]?.body.target_url, 'http://shop-pr7.preview.test');
    const deployments = gh.callsOf('repos/create-deployment');
    assert.deepEqual(
      deployments.map((c) => [c.body.ref, c.body.environment, c.body.transient_environment]),
      [
        [SHA1, 'preview/shop-pr7', true],
        [SHA2, 'preview/shop-pr7', true],
      ],
    );
    const deploymentStatuses = gh.callsOf('repos/create-deployment-status');
    // The first commit's deployment goes inactive when the second one is created.
    assert.deepEqual(
      deploymentStatuses.map((c) => [
        c.params.deployment_id === deploymentStatuses[0]?.params.deployment_id,
        c.body.state,
      ]),
      [
        [true, 'queued'],
        [true, 'in_progress'],
        [true, 'success'],
        [true, 'inactive'],
        [false, 'in_progress'],
        [false, 'success'],
        [false, 'inactive'],
      ],
    );
    assert.equal(deploymentStatuses[5]?.body.environment_url, 'http://shop-pr7.preview.test');
    assert.equal(deploymentStatuses.at(-1)?.params.deployment_id, annotations[DEPLOYMENT_ANNOTATION]);
    // One comment: looked for once (none there yet), created once, then only edited.
    assert.equal(gh.callsOf('issues/list-comments').length, 1);
    assert.equal(gh.callsOf('issues/create-comment').length, 1);
    const edits = gh.callsOf('issues/update-comment');
    assert.equal(edits.length, 5);
    assert.ok(edits.every((c) => c.params.comment_id === annotations[COMMENT_ANNOTATION]));
    assert.match(edits.at(-1)?.body.body, /undeployed/);
  });

  it('retries 5xx and 429 with backoff, then succeeds', async () => {
    gh.calls.length = 0;
    gh.failNext(2, 502, {}, 'repos/create-commit-status');
    gh.failNext(1, 429, { 'retry-after': '1' }, 'repos/create-deployment');
    await lifecycle([preview('Building')]);
    const tries = gh.calls.filter((c) => c.operationId === 'repos/create-commit-status').map((c) => c.status);
    assert.deepEqual(tries, [502, 502, 201]);
    assert.deepEqual(
      gh.calls.filter((c) => c.operationId === 'repos/create-deployment').map((c) => c.status),
      [429, 201],
    );
  });

  it('a rate limit longer than a worker may wait becomes RateLimitedError (the key is requeued)', async () => {
    gh.failNext(1, 403, {
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 600),
    });
    await assert.rejects(
      lifecycle([preview('Building')]),
      (e) => e instanceof RateLimitedError && e.retryAfterMs > 500_000,
    );
  });

  it('a body GitHub would not take is refused by the fake (the check can fail)', async () => {
    await assert.rejects(
      client.octokit.request('POST /repos/{owner}/{repo}/statuses/{sha}', {
        owner: 'acme',
        repo: 'shop',
        sha: SHA1,
        state: 'done' as 'success',
      }),
      (e: { status?: number }) => e.status === 422,
    );
    await assert.rejects(
      client.octokit.request('POST /repos/{owner}/{repo}/statuses/{sha}', {
        owner: 'acme',
        repo: 'shop',
        sha: SHA1,
        state: 'success',
        colour: 'green',
      }),
      (e: { status?: number }) => e.status === 422,
    );
  });

  it('App auth: an installation token for a JWT signed by the App key; a wrong key is refused', async () => {
    const key = () =>
      generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      });
    const good = key();
    gh.addApp({ appId: 42, installationId: 4242, publicKey: good.publicKey });
    const app = (privateKey: string) => {
      const octokit = new Octokit({
        baseUrl: gh.url,
        authStrategy: createAppAuth,
        auth: { appId: 42, installationId: 4242, privateKey },
      });
      installRetry(octokit, FAST);
      return octokit;
    };
    gh.calls.length = 0;
    await app(good.privateKey).rest.repos.createCommitStatus({
      owner: 'acme',
      repo: 'shop',
      sha: SHA1,
      state: 'success',
      context: 'bosun/preview',
    });
    assert.deepEqual(
      gh.calls.map((c) => [c.operationId, c.status]),
      [
        ['apps/create-installation-access-token', 201],
        ['repos/create-commit-status', 201],
      ],
    );
    await assert.rejects(
      app(key().privateKey).rest.repos.createCommitStatus({
        owner: 'acme',
        repo: 'shop',
        sha: SHA1,
        state: 'success',
      }),
      (e: { status?: number }) => e.status === 401,
    );
    assert.match(
      gh.calls.find((c) => c.operationId === 'apps/create-installation-access-token' && c.status === 401)
        ?.problem ?? '',
      /does not verify/,
    );
    assert.equal(gh.callsOf('repos/create-commit-status').length, 1, 'nothing posted without a token');
  });
});
