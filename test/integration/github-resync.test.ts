// The resync with GitHub on the real control plane: previews whose pull request closed or whose
// branch went while no webhook came are undeployed, and only those; a waiting fork entry of a
// closed pull request is marked closed. The fake GitHub pages its listings as GitHub does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { fakeGitHubFor } from '../support/fake-github.ts';
import { eventsFor, getOrUndefined, installCrds, metricValue, startOperator } from '../support/operator.ts';
import {
  labelled,
  PREVIEW_REPOSITORIES,
  PREVIEW_TEMPLATES,
  PREVIEWS,
  preview,
  repository,
  template,
} from '../support/previews.ts';

const UPDATED = '2026-11-25T09:00:00Z';

test('the resync undeploys the previews of a closed pull request and a deleted branch, and nothing else', async (t) => {
  const client = await testClient();
  await installCrds();
  const ns = await testNamespace(t, 'resync');
  const { gh, credentials } = await fakeGitHubFor(t, client, ns);
  gh.setRepository('acme/shop', {
    pullRequests: [
      { number: 7, state: 'open', updatedAt: UPDATED },
      { number: 8, state: 'closed', updatedAt: '2026-11-25T10:00:00Z' },
      { number: 9, state: 'open', updatedAt: UPDATED, unlisted: true },
    ],
    // More than a page of 100: the branch a preview is on comes on the second.
    branches: [...Array.from({ length: 150 }, (_, i) => `topic-${i}`), 'main', 'trunk'],
    renamed: { master: 'trunk' },
  });
  await client.create(
    PREVIEW_TEMPLATES,
    template(ns, 'web', { build: undefined, initialize: undefined, cleanup: undefined }),
  );
  const shop = await client.create(
    PREVIEW_REPOSITORIES,
    repository(ns, 'shop', {
      image: 'registry.local/web:1',
      credentials,
    }),
  );
  const fork = (number: number) => ({
    number,
    commit: 'f00dfeed01',
    branch: 'patch-1',
    targetBranch: 'main',
    fork: 'someone/shop',
    updatedAt: UPDATED,
  });
  await client.replaceStatus(PREVIEW_REPOSITORIES, {
    ...shop,
    status: { forkPullRequests: [fork(8), fork(7)] },
  });
  const kept = {
    'shop-main': preview(ns, 'shop-main', { branch: 'main' }),
    'shop-pr7': preview(ns, 'shop-pr7', { branch: 'fix', pullRequest: 7 }),
    'shop-pr9': preview(ns, 'shop-pr9', { branch: 'new', pullRequest: 9 }),
    'shop-pr10': preview(ns, 'shop-pr10', { branch: 'unknown', pullRequest: 10 }),
  };
  const undeployed = {
    'shop-gone': preview(ns, 'shop-gone', { branch: 'gone' }),
    'shop-master': preview(ns, 'shop-master', { branch: 'master' }),
    'shop-pr8': preview(ns, 'shop-pr8', { branch: 'topic-120', pullRequest: 8 }),
  };
  for (const p of [...Object.values(kept), ...Object.values(undeployed)]) await client.create(PREVIEWS, p);

  // GitHub refuses the branch listing at first: a round that cannot list undeploys nothing.
  gh.failNext(1000, 403, {}, 'repos/list-branches');
  const operator = await startOperator(t, {
    namespaces: [ns],
    args: [`--github-api-url=${gh.url}`, '--github-resync-interval=1s'],
  });
  const refused = () => gh.calls.filter((c) => c.operationId === 'repos/list-branches' && c.status === 403);
  await waitFor(async () => refused().length >= 2 || { pending: `${refused().length} refused` }, {
    what: 'two rounds whose branch listing GitHub refused',
    timeoutMs: 60_000,
  });
  for (const p of [...Object.values(kept), ...Object.values(undeployed)])
    assert.ok(await getOrUndefined(client, PREVIEWS, ns, p.metadata.name as string), 'nothing undeployed');
  assert.deepEqual(gh.callsOf('pulls/get').concat(gh.callsOf('repos/get-branch')), [], 'nothing asked');
  gh.clearFailures();
  for (const name of Object.keys(undeployed))
    await waitFor(
      async () => !(await getOrUndefined(client, PREVIEWS, ns, name)) || { pending: 'still there' },
      { what: `${name} to be undeployed by the resync`, timeoutMs: 90_000 },
    );
  // Two more rounds after that: what is kept is kept for good, not only not yet undeployed.
  const rounds = gh.callsOf('pulls/list').length;
  await waitFor(async () => gh.callsOf('pulls/list').length >= rounds + 2 || { pending: 'rounds' }, {
    what: 'two more rounds of the resync',
    timeoutMs: 60_000,
  });
  for (const name of Object.keys(kept))
    assert.ok(await getOrUndefined(client, PREVIEWS, ns, name), `${name} is kept`);
  for (const name of Object.keys(undeployed)) {
    assert.deepEqual(await labelled(client, ns, name), [], `nothing of ${name} is left`);
    const events = (await eventsFor(client, ns, name)).filter((e) => e.reason === 'UndeployedByResync');
    assert.equal(events.length, 1, `one UndeployedByResync Event for ${name}`);
  }
  assert.match(
    (await eventsFor(client, ns, 'shop-pr8')).find((e) => e.reason === 'UndeployedByResync')?.note ?? '',
    /pull request #8 is closed on GitHub/,
  );

  for (const [why, n] of [
    ['pull-request-closed', 1],
    ['branch-deleted', 2],
  ] as const)
    assert.equal(await metricValue(operator, `bosun_preview_resync_undeploys_total{why="${why}"}`), n, why);

  const forks = (await client.get<KubeObject>(PREVIEW_REPOSITORIES, ns, 'shop')).status?.forkPullRequests;
  assert.deepEqual(
    forks?.map((f: { number: number; closed?: boolean }) => [f.number, f.closed ?? false]),
    [
      [8, true],
      [7, false],
    ],
  );
  // The listings were read to their last page; every pull request and branch was asked about
  // directly before anything was undeployed; GitHub refused nothing Bosun sent.
  assert.ok(
    gh.callsOf('repos/list-branches').some((c) => c.query.page === '2'),
    'the second page of branches',
  );
  const asked = new Set(gh.callsOf('pulls/get').map((c) => Number(c.params.pull_number)));
  assert.deepEqual(
    [...asked].sort((a, b) => a - b),
    [8, 9, 10],
  );
  // master answers with a 301 to trunk, its new name, which is followed.
  assert.deepEqual([...new Set(gh.callsOf('repos/get-branch').map((c) => c.params.branch))].sort(), [
    'gone',
    'master',
    'trunk',
  ]);
  assert.deepEqual(
    gh.calls
      .filter((c) => c.problem && !c.problem.startsWith('failure asked by the test'))
      .map((c) => `${c.method} ${c.path}: ${c.problem}`),
    [],
  );
});
