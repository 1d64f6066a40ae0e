// GitHub in and out on the real control plane: signed webhooks posted to `bosun run
// --http-address` create, move and undeploy previews; every refused delivery leaves the cluster as
// it was; the reporter posts statuses, one comment and deployments to a fake GitHub that checks
// each request against GitHub's REST description.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { sign } from '@octokit/webhooks-methods';
import { DELIVERY_ANNOTATION } from '../../src/controllers/preview/labels.ts';
import { commentMarker } from '../../src/controllers/preview-github/report.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { AWAITING_APPROVAL } from '../../src/server/webhook/approval.ts';
import { ok, runBosun } from '../support/cli.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { fakeGitHubFor } from '../support/fake-github.ts';
import {
  branchPush,
  deletingPush,
  example,
  forRepository,
  fromFork,
  type Payload,
  pullRequestEvent,
} from '../support/github-examples.ts';
import { createWebhookSecret, freePort, postWebhook, secretValue } from '../support/github-webhooks.ts';
import { getOrUndefined, installCrds, metricValue, startOperator } from '../support/operator.ts';
import {
  PREVIEW_REPOSITORIES,
  PREVIEW_TEMPLATES,
  PREVIEWS,
  repository,
  template,
  waitPreview,
} from '../support/previews.ts';

const sha = (n: number) => n.toString(16).padStart(40, 'c');

test('GitHub webhooks in, reports out', async (t) => {
  const client = await testClient();
  await installCrds();
  const ns = await testNamespace(t, 'gh');
  const { gh, credentials } = await fakeGitHubFor(t, client, ns);
  await createWebhookSecret(client, ns, 'hook', `s3cret-${randomUUID()}`);
  const secret = await secretValue(client, ns, 'hook');
  // No build or init: a preview is Stopped (deployed, idle) within seconds.
  await client.create(
    PREVIEW_TEMPLATES,
    template(ns, 'web', { build: undefined, initialize: undefined, cleanup: undefined }),
  );
  const github = {
    image: 'registry.local/web:1',
    webhookSecretRef: { name: 'hook', key: 'secret' },
    credentials,
  };
  await client.create(
    PREVIEW_REPOSITORIES,
    repository(ns, 'shop', { branches: ['main', 'feature/*'], ...github }),
  );
  await client.create(PREVIEW_REPOSITORIES, repository(ns, 'app', { previewPer: 'PullRequest', ...github }));
  await client.create(PREVIEW_REPOSITORIES, repository(ns, 'open', { branches: ['*'] })); // no webhook secret
  // A cleanup that takes 20 s: a pull request can be reopened while its old preview is undeployed.
  await client.create(
    PREVIEW_TEMPLATES,
    template(ns, 'slow-cleanup', {
      build: undefined,
      initialize: undefined,
      cleanup: {
        template: {
          metadata: { annotations: { 'kwok.bosun.dev/finish-after': '20s' } },
          spec: { containers: [{ name: 'drop', image: 'postgres' }] },
        },
      },
    }),
  );
  await client.create(
    PREVIEW_REPOSITORIES,
    repository(ns, 'slow', {
      previewPer: 'PullRequest',
      template: 'slow-cleanup',
      image: github.image,
      webhookSecretRef: github.webhookSecretRef,
    }),
  );
  const port = await freePort();
  const operator = await startOperator(t, {
    namespaces: [ns],
    args: [
      `--http-address=127.0.0.1:${port}`,
      `--github-api-url=${gh.url}`,
      '--public-url=https://bosun.example.com',
    ],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok, {
    what: 'the HTTP server',
  });

  const previews = async () => (await client.list(PREVIEWS, ns)).items;
  /** What a webhook decides of every Preview (the controller's own writes aside): equal means nothing changed. */
  const state = async () =>
    (await previews())
      .map((p) =>
        JSON.stringify([
          p.metadata.name,
          p.metadata.uid,
          p.metadata.annotations?.[DELIVERY_ANNOTATION],
          p.spec,
        ]),
      )
      .sort()
      .join('\n');
  const push = (repo: string, ref: string, after: string): Payload => {
    const p = forRepository(branchPush(), repo);
    p.ref = ref;
    p.after = after;
    return p;
  };
  const post = (event: string, payload: Payload, extra: { delivery?: string; secret?: string } = {}) =>
    postWebhook(url, { event, body: JSON.stringify(payload), secret: secret, ...extra });

  await t.test('refused deliveries change nothing', async () => {
    const before = await state();
    const body = JSON.stringify(push('acme/shop', 'refs/heads/main', sha(1)));
    const cases: [string, Parameters<typeof postWebhook>[1], number][] = [
      ['no signature', { event: 'push', body }, 401],
      [
        'a signature of another body',
        {
          event: 'push',
          body,
          signature: await sign(secret, 'another body'),
        },
        401,
      ],
      ['a signature with another secret', { event: 'push', body, secret: 'not-the-secret' }, 401],
      ['a garbage signature', { event: 'push', body, signature: 'sha1=abc' }, 401],
      [
        'a repository without webhookSecretRef',
        { event: 'push', body: JSON.stringify(push('acme/open', 'refs/heads/main', sha(1))), secret },
        401,
      ],
      ['malformed JSON, signed', { event: 'push', body: '{"repository": ', secret }, 400],
      [
        'no commit, signed',
        { event: 'push', body: JSON.stringify({ ...JSON.parse(body), after: undefined }), secret },
        400,
      ],
      [
        'an unknown repository, signed',
        { event: 'push', body: JSON.stringify(push('acme/unknown', 'refs/heads/main', sha(1))), secret },
        404,
      ],
      [
        'a branch the API server refuses (over 250 characters), signed',
        {
          event: 'push',
          body: JSON.stringify(push('acme/shop', `refs/heads/feature/${'x'.repeat(245)}`, sha(1))),
          secret,
        },
        422,
      ],
      [
        'a body over 1 MiB',
        {
          event: 'push',
          body: JSON.stringify({ ...JSON.parse(body), padding: 'x'.repeat(1024 * 1024) }),
          secret,
        },
        413,
      ],
    ];
    for (const [what, delivery, code] of cases) {
      const res = await postWebhook(url, delivery);
      assert.equal(res.status, code, `${what}: ${JSON.stringify(res.body)}`);
      assert.equal((res.body as { error?: { code: number } }).error?.code, code, `${what}: JSON error`);
    }
    // An organization's webhook pings without a repository: answered, and nothing to do.
    const orgPing = example('ping', (p) => !p.repository);
    const pong = await post('ping', orgPing);
    assert.equal(pong.status, 200, JSON.stringify(pong.body));
    assert.equal(await state(), before, 'no Preview created or changed');
  });

  await t.test(
    'a push creates a preview per commit; a replay changes nothing; an unmatched branch is ignored',
    async () => {
      const delivery = randomUUID();
      const first = await post('push', push('acme/shop', 'refs/heads/feature/cart', sha(1)), { delivery });
      assert.equal(first.status, 202, JSON.stringify(first.body));
      const name = `shop-feature-cart-${sha(1).slice(0, 7)}`;
      const p = await client.get(PREVIEWS, ns, name);
      assert.equal(p.spec.branch, 'feature/cart');
      assert.equal(p.metadata.annotations?.[DELIVERY_ANNOTATION], delivery);
      const before = await state();
      const replay = await post('push', push('acme/shop', 'refs/heads/feature/cart', sha(1)), { delivery });
      assert.equal(replay.status, 200);
      const other = await post('push', push('acme/shop', 'refs/heads/experiment', sha(2)));
      assert.equal(other.status, 200);
      assert.match(JSON.stringify(other.body), /matches none of spec.branches/);
      assert.equal(await state(), before);
    },
  );

  await t.test(
    'the reporter: pending then success with the preview URL, a deployment with statuses',
    async () => {
      const name = `shop-feature-cart-${sha(1).slice(0, 7)}`;
      const p = await waitPreview(client, ns, name, (x) => x.status?.phase === 'Stopped', 'Stopped');
      const reported = await waitFor(
        async () => {
          const statuses = gh.callsOf('repos/create-commit-status').filter((c) => c.params.sha === sha(1));
          return statuses.some((c) => c.body.state === 'success')
            ? statuses
            : { pending: JSON.stringify(statuses.map((c) => c.body.state)) };
        },
        { what: 'a success status for the commit' },
      );
      assert.equal(reported[0]?.body.state, 'pending');
      assert.equal(reported.at(-1)?.body.target_url, p.status.url);
      assert.equal(reported.at(-1)?.body.context, 'bosun/preview');
      const deployments = gh.callsOf('repos/create-deployment').filter((c) => c.body.ref === sha(1));
      assert.equal(deployments.length, 1);
      assert.equal(deployments[0]?.body.environment, `preview/${name}`);
      await waitFor(
        async () =>
          (await client.get(PREVIEWS, ns, name)).metadata.annotations?.['bosun.dev/github-reported'] ===
          `stopped/${sha(1)}`,
        { what: 'the reported annotation' },
      );
      // Settled: nothing more is sent while nothing changes.
      const calls = gh.calls.length;
      await client.mergePatch(PREVIEWS, ns, name, { metadata: { labels: { touched: 'yes' } } });
      await waitFor(async () => (await client.get(PREVIEWS, ns, name)).metadata.labels?.touched === 'yes', {
        what: 'the label',
      });
      const res = await fetch(`http://127.0.0.1:${operator.metricsPort}/metrics`);
      assert.ok(res.ok);
      assert.equal(gh.calls.length, calls, 'idle previews cost no GitHub call');
      assert.deepEqual(
        gh.calls.filter((c) => c.problem),
        [],
        'every request valid against the REST description',
      );
    },
  );

  await t.test('a flood of bad signatures reads the webhook Secret at most once a second', async () => {
    const gets = () => metricValue(operator, 'rest_client_requests_total{method="GET",code="200"}');
    const before = await gets();
    const started = Date.now();
    const body = JSON.stringify(push('acme/shop', 'refs/heads/main', sha(1)));
    for (let i = 0; i < 30; i++)
      assert.equal((await postWebhook(url, { event: 'push', body, secret: 'guessed' })).status, 401);
    const seconds = Math.ceil((Date.now() - started) / 1000);
    const read = (await gets()) - before;
    assert.ok(read <= seconds + 1, `${read} GETs in ${seconds} s for 30 bad signatures`);
  });

  await t.test('two branches whose names slug alike get a preview each at one commit', async () => {
    const first = await post('push', push('acme/shop', 'refs/heads/feature/cart.v2', sha(3)));
    const second = await post('push', push('acme/shop', 'refs/heads/feature/cart-v2', sha(3)));
    assert.deepEqual([first.status, second.status], [202, 202], JSON.stringify([first.body, second.body]));
    const replay = await post('push', push('acme/shop', 'refs/heads/feature/cart-v2', sha(3)));
    assert.equal(replay.status, 200, 'a replay finds the preview of its own branch');
    const ofCommit = (await previews()).filter((p) => p.spec.commit === sha(3));
    assert.deepEqual(ofCommit.map((p) => p.spec.branch).sort(), ['feature/cart-v2', 'feature/cart.v2']);
    const name = `shop-feature-cart-v2-${sha(3).slice(0, 7)}`;
    const alternate = ofCommit.find((p) => p.metadata.name !== name)?.metadata.name ?? 'none';
    assert.match(alternate, new RegExp(`^${name}-[0-9a-f]{6}$`));
    assert.ok(JSON.stringify(second.body).includes(alternate), 'the answer names the preview created');
    // Reported to GitHub before the next test: nothing of this one is left in flight.
    for (const p of ofCommit)
      await waitFor(
        async () =>
          (await client.get(PREVIEWS, ns, p.metadata.name as string)).metadata.annotations?.[
            'bosun.dev/github-reported'
          ] === `stopped/${sha(3)}`,
        { what: `${p.metadata.name} reported` },
      );
  });

  await t.test(
    'pull requests from forks: none by default, each commit approved with the command given; forkPolicy Preview builds them with forkTemplate; closed undeploys both',
    async () => {
      const forkEvent = (repo: string, number: number, head: string) =>
        fromFork(pullRequestEvent(repo, 'opened', number, head), 'mallory/shop');
      const before = await state();
      const ignored = await post('pull_request', forkEvent('acme/shop', 11, sha(300)));
      assert.equal(ignored.status, 200, JSON.stringify(ignored.body));
      assert.match(JSON.stringify(ignored.body), /mallory\/shop and spec.forkPolicy is Ignore/);
      assert.match(JSON.stringify(ignored.body), /bosun preview create -n \S+ --repository shop --pr 11 /);
      assert.equal(await state(), before, 'no preview of the fork');
      // Listed in the repository's status, where the API and the web UI offer to approve it.
      const forkPullRequests = async () =>
        ((await client.get(PREVIEW_REPOSITORIES, ns, 'shop')).status?.forkPullRequests ?? []).map(
          (f: { number: number; commit: string; fork: string; closed?: boolean }) =>
            `${f.number}@${f.commit} from ${f.fork}${f.closed ? ' (closed)' : ''}`,
        );
      assert.deepEqual(await forkPullRequests(), [`11@${sha(300)} from mallory/shop`]);
      // The pull request shows why: a pending status on its head commit.
      const waiting = await waitFor(
        async () => gh.callsOf('repos/create-commit-status').find((c) => c.params.sha === sha(300)),
        { what: 'the awaiting-approval status' },
      );
      assert.equal(waiting.body.state, 'pending');
      assert.equal(waiting.body.context, 'bosun/preview');
      assert.equal(waiting.body.description, AWAITING_APPROVAL);
      assert.equal(waiting.body.target_url, `https://bosun.example.com/?repository=${ns}%2Fshop`);

      await client.create(
        PREVIEW_TEMPLATES,
        template(ns, 'untrusted', {
          build: undefined,
          initialize: undefined,
          cleanup: undefined,
          env: [{ name: 'TRUST', value: 'fork' }],
        }),
      );
      await client.create(
        PREVIEW_REPOSITORIES,
        repository(ns, 'forked', {
          previewPer: 'PullRequest',
          forkPolicy: 'Preview',
          forkTemplate: 'untrusted',
          image: github.image,
          webhookSecretRef: github.webhookSecretRef,
        }),
      );
      // Once the webhook's cache knows the new repository (a 404 before, which changes nothing).
      const accepted = await waitFor(
        async () => {
          const r = await post('pull_request', forkEvent('acme/forked', 11, sha(301)));
          return r.status !== 404 ? r : { pending: JSON.stringify(r.body) };
        },
        { what: 'acme/forked known to the webhook' },
      );
      assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
      const p = await waitPreview(client, ns, 'forked-pr11', (x) => x.status?.phase === 'Stopped', 'Stopped');
      assert.equal(p.spec.template, 'untrusted');
      // Stopped is written once the Deployment exists.
      const deployments = await client.list(
        { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true },
        ns,
        { labelSelector: 'bosun.dev/preview=forked-pr11' },
      );
      const env = deployments.items[0]?.spec.template.spec.containers[0].env ?? [];
      assert.ok(
        env.some((e: { name: string; value?: string }) => e.name === 'TRUST' && e.value === 'fork'),
        JSON.stringify(env),
      );
      // The repository's own pull requests keep its template.
      const own = pullRequestEvent('acme/forked', 'opened', 12, sha(302));
      assert.equal((await post('pull_request', own)).status, 202);
      assert.equal((await client.get(PREVIEWS, ns, 'forked-pr12')).spec.template, undefined);

      // A person approves the fork's commit with the very command the answer gave.
      const command = /bosun preview create ([^"]+)/.exec(JSON.stringify(ignored.body))?.[1] ?? '';
      ok(await runBosun(['preview', 'create', ...command.split(' ')]), command);
      const ofFork = async () =>
        (await previews()).filter((p) => p.spec.repository === 'shop' && p.spec.pullRequest === 11);
      const [approved] = await ofFork();
      assert.equal(approved?.spec.commit, sha(300));
      const approvedName = approved?.metadata.name as string;
      await waitFor(
        async () =>
          (await client.get(PREVIEWS, ns, approvedName)).metadata.annotations?.[
            'bosun.dev/github-reported'
          ] === `stopped/${sha(300)}`,
        { what: `${approvedName} reported` },
      );
      // The fork's next commit needs approval again: the approved preview is not moved, none is added.
      const next = await post(
        'pull_request',
        fromFork(pullRequestEvent('acme/shop', 'synchronize', 11, sha(303)), 'mallory/shop'),
      );
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.match(JSON.stringify(next.body), new RegExp(`--commit ${sha(303)}`));
      await waitFor(
        async () =>
          gh
            .callsOf('repos/create-commit-status')
            .some((c) => c.params.sha === sha(303) && c.body.description === AWAITING_APPROVAL),
        { what: 'the awaiting-approval status of the next commit' },
      );
      assert.deepEqual(
        (await ofFork()).map((p) => [p.metadata.uid, p.spec.commit]),
        [[approved?.metadata.uid, sha(300)]],
      );
      assert.deepEqual(await forkPullRequests(), [`11@${sha(303)} from mallory/shop`]);

      // Closed undeploys the fork's previews whatever the policy; the approved one's deployment goes inactive.
      const inactive = () =>
        gh.callsOf('repos/create-deployment-status').filter((c) => c.body.state === 'inactive').length;
      const inactiveBefore = inactive();
      for (const repo of ['acme/shop', 'acme/forked']) {
        const closed = await post(
          'pull_request',
          fromFork(pullRequestEvent(repo, 'closed', 11, sha(303)), 'mallory/shop'),
        );
        assert.equal(closed.status, 202, JSON.stringify(closed.body));
      }
      for (const name of [approvedName, 'forked-pr11'])
        await waitFor(
          async () => !(await getOrUndefined(client, PREVIEWS, ns, name)) || { pending: 'still there' },
          {
            what: `${name} undeployed`,
            timeoutMs: 90_000,
          },
        );
      await waitFor(async () => inactive() > inactiveBefore, {
        what: "the approved preview's deployment inactive",
      });
      assert.deepEqual(
        await forkPullRequests(),
        [`11@${sha(303)} from mallory/shop (closed)`],
        'a closed pull request waits no more; the mark keeps a late delivery from listing it again',
      );
      const late = await post(
        'pull_request',
        fromFork(pullRequestEvent('acme/shop', 'synchronize', 11, sha(302), new Date(0)), 'mallory/shop'),
      );
      assert.equal(late.status, 200, JSON.stringify(late.body));
      assert.deepEqual(await forkPullRequests(), [`11@${sha(303)} from mallory/shop (closed)`]);
    },
  );

  await t.test('per commit: two previews of a pull request reporting at once write one comment', async () => {
    const event = (action: string, head: string, second: number) =>
      pullRequestEvent('acme/shop', action, 13, head, new Date(Date.UTC(2026, 4, 3, 10, 0, second)));
    const [HEAD_A, HEAD_B] = ['1313a01', '1313b02'].map((p) => p.padEnd(40, '0')) as [string, string];
    const creates = () => gh.callsOf('issues/create-comment').filter((c) => c.params.issue_number === '13');
    // The first preview's comment is held at GitHub while the second preview reports.
    const hold = gh.hold('issues/create-comment');
    try {
      const opened = await post('pull_request', event('opened', HEAD_A, 0));
      assert.equal(opened.status, 202, JSON.stringify(opened.body));
      await waitFor(async () => creates().length === 1, { what: 'the first comment on its way' });
      const pushed = await post('pull_request', event('synchronize', HEAD_B, 10));
      assert.equal(pushed.status, 202, JSON.stringify(pushed.body));
      await waitFor(async () => gh.callsOf('repos/create-deployment').some((c) => c.body.ref === HEAD_B), {
        what: 'the second preview reporting',
      });
    } finally {
      hold.release();
    }
    const second = `shop-pr13-${HEAD_B.slice(0, 7)}`;
    await waitFor(
      async () =>
        (await client.get(PREVIEWS, ns, second)).metadata.annotations?.['bosun.dev/github-reported'] ===
        `stopped/${HEAD_B}`,
      { what: `${second} reported` },
    );
    assert.equal(creates().length, 1, 'one comment');
    const commentId = (await client.get(PREVIEWS, ns, second)).metadata.annotations?.[
      'bosun.dev/github-comment-id'
    ];
    const edits = gh.callsOf('issues/update-comment').filter((c) => c.params.comment_id === commentId);
    assert.ok(edits.length >= 1, `edits of comment ${commentId}`);
    assert.match(
      edits.at(-1)?.body.body,
      new RegExp(HEAD_B.slice(0, 7)),
      'the comment shows the newest commit',
    );
    assert.ok(
      edits.at(-1)?.body.body.includes(`(https://bosun.example.com/?repository=${ns}%2Fshop&pullRequest=13)`),
      'the comment links to the pull request in the web UI (--public-url)',
    );
  });

  await t.test('a deleted branch undeploys its previews; the deployment goes inactive', async () => {
    const name = `shop-feature-cart-${sha(1).slice(0, 7)}`;
    const del = forRepository(deletingPush(), 'acme/shop');
    del.ref = 'refs/heads/feature/cart';
    const res = await post('push', del);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await waitFor(
      async () => !(await getOrUndefined(client, PREVIEWS, ns, name)) || { pending: 'still there' },
      {
        what: `${name} undeployed`,
        timeoutMs: 90_000,
      },
    );
    await waitFor(
      async () => gh.callsOf('repos/create-deployment-status').some((c) => c.body.state === 'inactive'),
      { what: 'an inactive deployment status' },
    );
  });

  await t.test(
    'per pull request: a burst converges to the newest commit; one comment; closed undeploys',
    async () => {
      const events = Array.from({ length: 8 }, (_, i) =>
        pullRequestEvent(
          'acme/app',
          i === 0 ? 'opened' : 'synchronize',
          7,
          sha(100 + i),
          new Date(Date.UTC(2026, 4, 1, 10, 0, i)),
        ),
      );
      // Delivered out of order and at once: the newest event must win whatever the order.
      const order = [3, 7, 0, 5, 1, 6, 2, 4].map((i) => events[i] as Payload);
      const results = await Promise.all(order.map((p) => post('pull_request', p)));
      assert.ok(
        results.every((r) => r.status === 202 || r.status === 200),
        JSON.stringify(results),
      );
      const p = await waitPreview(client, ns, 'app-pr7', (x) => x.status?.phase === 'Stopped', 'Stopped');
      assert.equal(p.spec.commit, sha(107));
      assert.equal((await previews()).filter((x) => x.spec.repository === 'app').length, 1);
      // A replay of an older delivery does not move it back.
      const older = await post('pull_request', events[2] as Payload);
      assert.equal(older.status, 200);
      assert.equal((await client.get(PREVIEWS, ns, 'app-pr7')).spec.commit, sha(107));

      await waitFor(
        async () =>
          gh
            .callsOf('repos/create-commit-status')
            .some((c) => c.params.sha === sha(107) && c.body.state === 'success'),
        { what: 'success on the newest commit' },
      );
      const closed = pullRequestEvent(
        'acme/app',
        'closed',
        7,
        sha(107),
        new Date(Date.UTC(2026, 4, 1, 10, 0, 30)),
      );
      closed.pull_request.merged = true;
      const res = await post('pull_request', closed);
      assert.equal(res.status, 202);
      await waitFor(
        async () => !(await getOrUndefined(client, PREVIEWS, ns, 'app-pr7')) || { pending: 'still there' },
        {
          what: 'app-pr7 undeployed',
          timeoutMs: 90_000,
        },
      );
      const comments = await waitFor(
        async () => {
          const marker = commentMarker(`${ns}/app`, 7);
          const edits = gh.callsOf('issues/update-comment').filter((c) => c.body.body.startsWith(marker));
          return edits.some((c) => /undeployed/.test(c.body.body)) ? edits : undefined;
        },
        { what: 'the comment edited to undeployed' },
      );
      assert.equal(
        gh.callsOf('issues/create-comment').filter((c) => c.params.issue_number === '7').length,
        1,
        'one comment',
      );
      assert.ok(comments.every((c) => c.params.comment_id === comments[0]?.params.comment_id));
      const deploymentIds = new Set(
        gh.callsOf('repos/create-deployment').filter((c) => /^preview\/app-pr7$/.test(c.body.environment)),
      );
      assert.ok(deploymentIds.size >= 1);
      assert.deepEqual(
        gh.calls.filter((c) => c.problem),
        [],
        'every request valid against the REST description',
      );
    },
  );

  await t.test(
    'a pull request reopened while its old preview is undeployed gets a new one at once, and only one',
    async () => {
      const event = (action: string, second: number, head = sha(200)) =>
        pullRequestEvent('acme/slow', action, 9, head, new Date(Date.UTC(2026, 4, 2, 10, 0, second)));
      const ofPullRequest = async () => (await previews()).filter((p) => p.spec.pullRequest === 9);
      assert.equal((await post('pull_request', event('opened', 0))).status, 202);
      await waitPreview(client, ns, 'slow-pr9', (p) => p.status?.phase === 'Stopped', 'deployed');
      assert.equal((await post('pull_request', event('closed', 10))).status, 202);
      await waitPreview(client, ns, 'slow-pr9', (p) => !!p.metadata.deletionTimestamp, 'being undeployed');

      const reopened = await post('pull_request', event('reopened', 20));
      assert.equal(reopened.status, 202, JSON.stringify(reopened.body));
      const [created] = (reopened.body as { accepted: { name: string }[] }).accepted;
      assert.match(created?.name ?? '', /^slow-pr9-[0-9a-f]{6}$/, 'the alternate name');
      const name = created?.name as string;
      assert.ok((await getOrUndefined(client, PREVIEWS, ns, 'slow-pr9'))?.metadata.deletionTimestamp);
      // The same close again (redelivered) arrives after the reopen: it leaves the new preview.
      assert.equal((await post('pull_request', event('closed', 10))).status, 200);
      await waitPreview(client, ns, name, (p) => p.status?.phase === 'Stopped', 'the new one deployed');

      await waitFor(
        async () => !(await getOrUndefined(client, PREVIEWS, ns, 'slow-pr9')) || { pending: 'still there' },
        { what: 'the old preview gone', timeoutMs: 90_000 },
      );
      // Once the old one is gone, a new commit still moves the preview where it lives.
      const pushed = await post('pull_request', event('synchronize', 30, sha(201)));
      assert.equal(pushed.status, 202, JSON.stringify(pushed.body));
      const left = await ofPullRequest();
      assert.deepEqual(
        left.map((p) => [p.metadata.name, p.spec.commit]),
        [[name, sha(201)]],
      );
    },
  );
});
