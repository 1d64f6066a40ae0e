// `bosun preview ...` as a person runs it: a child process against the real control plane, with the
// operator running beside it.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { SIMULATED_LOG_TEXT } from '../../src/dev/kwok-logs.ts';
import { listSimulatedNodes } from '../../src/dev/nodes.ts';
import { isNotFound, type KubeClient } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { ok, runBosun } from '../support/cli.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { installCrds, startOperator } from '../support/operator.ts';
import {
  failing,
  labelled,
  PREVIEW_REPOSITORIES,
  PREVIEW_TEMPLATES,
  PREVIEWS,
  phase,
  repository,
  template,
  waitPreview,
} from '../support/previews.ts';

/** Runs `bosun preview <args> -n <namespace>` with the test cluster's kubeconfig. */
const bosun = (namespace: string, ...args: string[]) => runBosun(['preview', ...args, '-n', namespace]);

async function setUp(t: TestContext, repoSpec: Record<string, unknown> = {}, templateSpec = {}) {
  await installCrds();
  const client = await testClient();
  const ns = await testNamespace(t, 'pvcli');
  await client.create(PREVIEW_TEMPLATES, template(ns, 'web', templateSpec));
  await client.create(PREVIEW_REPOSITORIES, repository(ns, 'shop', repoSpec));
  return { client, ns };
}

/** A cluster started before `bosun dev` served pod logs has no kubelet port on its nodes. */
async function logsServed(client: KubeClient): Promise<boolean> {
  const [node] = await listSimulatedNodes(client);
  return !!node?.status?.daemonEndpoints?.kubeletEndpoint?.Port;
}

describe('bosun preview', () => {
  it('creates, lists, starts, stops, resets, shows logs and undeploys a preview', async (t) => {
    const { client, ns } = await setUp(t);
    await startOperator(t, { namespaces: [ns] });
    const name = 'shop-main-abcdef1';

    const created = await bosun(
      ns,
      'create',
      '--repository',
      'shop',
      '--branch',
      'main',
      '--commit',
      'ABCDEF1234',
    );
    ok(created, 'create');
    assert.match(created.stdout, new RegExp(`preview ${name} created`));
    const again = await bosun(
      ns,
      'create',
      '--repository',
      'shop',
      '--branch',
      'main',
      '--commit',
      'abcdef1234',
    );
    ok(again, 'create twice');
    assert.match(again.stdout, /already exists/);
    assert.equal((await client.get(PREVIEWS, ns, name)).spec.commit, 'abcdef1234');

    await waitPreview(client, ns, name, phase('Stopped'), 'built and initialized, stopped');
    const table = await bosun(ns, 'list');
    ok(table, 'list');
    const row = table.stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
    assert.match(
      row,
      /shop\s+main\s+abcdef1\s+Stopped\s+Stopped\s+ready\s+http:\/\/shop-main-abcdef1\.preview\.test/,
    );
    const json = JSON.parse((await bosun(ns, 'list', '-o', 'json', '--branch', 'main')).stdout);
    assert.deepEqual(
      json.items.map((p: { metadata: { name: string } }) => p.metadata.name),
      [name],
    );

    ok(await bosun(ns, 'start', name), 'start');
    await waitPreview(client, ns, name, phase('Running'), 'running after start');
    assert.match((await bosun(ns, 'start', name)).stdout, /already Running/);

    if (await logsServed(client)) {
      const app = await bosun(ns, 'logs', name);
      ok(app, 'logs');
      assert.ok(app.stdout.includes(SIMULATED_LOG_TEXT), app.stdout);
      assert.match(app.stderr, /# app: pod shop-main-abcdef1-/);
      for (const step of ['build', 'init']) {
        const r = await bosun(ns, 'logs', name, '--step', step, '--follow');
        ok(r, `logs --step ${step} --follow (a finished pod's log ends)`);
        assert.ok(r.stdout.includes(SIMULATED_LOG_TEXT), r.stdout);
        assert.match(r.stderr, new RegExp(`# ${step}: pod ${name}-${step}-`));
      }
    } else t.diagnostic('this cluster predates pod logs on kwok (restart it): logs not checked');

    ok(await bosun(ns, 'stop', name), 'stop');
    await waitPreview(client, ns, name, phase('Stopped'), 'stopped after stop');

    const reset = await bosun(ns, 'reset', name);
    ok(reset, 'reset');
    await waitPreview(
      client,
      ns,
      name,
      (p) => p.status?.initAttempt === 1 && p.status?.initStatus === 'ready' && p.status?.phase === 'Stopped',
      'initialized again after reset',
    );

    const undeploy = await bosun(ns, 'undeploy', name, '--wait');
    ok(undeploy, 'undeploy --wait');
    assert.match(undeploy.stdout, /CleaningUp/);
    assert.match(undeploy.stdout, new RegExp(`preview ${name} is gone\\n$`));
    await assert.rejects(client.get(PREVIEWS, ns, name), isNotFound);
    await waitFor(
      async () =>
        (await labelled(client, ns, name)).length === 0 || {
          pending: (await labelled(client, ns, name)).join(', '),
        },
      {
        what: 'nothing labelled with the preview',
      },
    );
  });

  it('list shows pull requests from forks waiting for approval; the command it gives approves one', async (t) => {
    const { client, ns } = await setUp(t);
    const shop = await client.get(PREVIEW_REPOSITORIES, ns, 'shop');
    const commit = 'f0f0f0f0f0'.padEnd(40, '0');
    // What the webhook records for a fork's pull request under forkPolicy: Ignore.
    await client.replaceStatus(PREVIEW_REPOSITORIES, {
      ...shop,
      status: {
        forkPullRequests: [
          {
            number: 11,
            commit,
            branch: 'patch-1',
            targetBranch: 'main',
            fork: 'mallory/shop',
            updatedAt: new Date().toISOString(),
          },
        ],
      },
    });
    const listed = await bosun(ns, 'list');
    ok(listed, 'list');
    assert.match(listed.stderr, /no previews in namespace/);
    assert.match(listed.stdout, /Waiting for approval/);
    assert.match(listed.stdout, /shop #11 patch-1 → main from mallory\/shop, commit f0f0f0f/);
    const command = listed.stdout.split('\n').find((l) => l.trim().startsWith('bosun preview create')) ?? '';
    const [, ...args] = command.trim().split(' ');
    ok(await runBosun(args), command);
    const [approved] = (await client.list(PREVIEWS, ns)).items;
    assert.deepEqual([approved?.spec.pullRequest, approved?.spec.commit], [11, commit]);
    const after = await bosun(ns, 'list');
    ok(after, 'list after approval');
    assert.doesNotMatch(after.stdout, /Waiting for approval/);
    assert.equal((await bosun(ns, 'list', '--repository', 'other')).stdout, '', 'filters apply to it');
  });

  it('per pull request: a new commit rebuilds the same preview; list puts branches before pull requests', async (t) => {
    const { client, ns } = await setUp(t, { previewPer: 'PullRequest' });
    await startOperator(t, { namespaces: [ns] });
    const pr = (commit: string) =>
      bosun(
        ns,
        'create',
        '--repository',
        'shop',
        '--pr',
        '7',
        '--branch',
        'feat/x',
        '--target-branch',
        'main',
        '--commit',
        commit,
      );
    ok(await pr('aaaaaaa'), 'create PR');
    ok(
      await bosun(ns, 'create', '--repository', 'shop', '--branch', 'main', '--commit', 'ccccccc'),
      'create branch',
    );
    const rebuilt = await pr('bbbbbbb');
    ok(rebuilt, 'push to the PR');
    assert.match(rebuilt.stdout, /shop-pr7: commit aaaaaaa → bbbbbbb, rebuilding in place/);
    assert.equal((await client.get(PREVIEWS, ns, 'shop-pr7')).spec.commit, 'bbbbbbb');
    await waitPreview(
      client,
      ns,
      'shop-pr7',
      (p) => p.status?.deployedCommit === 'bbbbbbb' && p.status?.url === 'http://shop-pr7.preview.test',
      'the new commit deployed under the same URL',
    );

    const table = (await bosun(ns, 'list')).stdout.split('\n');
    assert.deepEqual(
      table.slice(1, 3).map((l) => l.split(/\s+/)[0]),
      ['shop-main-ccccccc', 'shop-pr7'],
    );
    assert.match(table[2] ?? '', /#7 feat\/x → main\s+bbbbbbb/);
    const onlyPr = JSON.parse((await bosun(ns, 'list', '--pr', '7', '-o', 'json')).stdout);
    assert.deepEqual(
      onlyPr.items.map((p: { metadata: { name: string } }) => p.metadata.name),
      ['shop-pr7'],
    );
  });

  it('shows the failed init Job log by default', async (t) => {
    const { client, ns } = await setUp(
      t,
      {},
      {
        initialize: {
          template: { metadata: failing, spec: { containers: [{ name: 'init', image: 'db' }] } },
        },
      },
    );
    await startOperator(t, { namespaces: [ns] });
    ok(
      await bosun(ns, 'create', '--repository', 'shop', '--branch', 'main', '--commit', 'abcdef1'),
      'create',
    );
    await waitPreview(
      client,
      ns,
      'shop-main-abcdef1',
      (p) => p.status?.initStatus === 'failed',
      'init failed',
    );
    if (!(await logsServed(client))) return t.skip('this cluster predates pod logs on kwok (restart it)');
    const r = await bosun(ns, 'logs', 'shop-main-abcdef1');
    ok(r, 'logs');
    assert.match(r.stderr, /# init: pod shop-main-abcdef1-init-0-/);
    assert.ok(r.stdout.includes(SIMULATED_LOG_TEXT), r.stdout);
  });

  it('refuses bad input (exit 2) and unknown names (exit 1) with a message', async (t) => {
    const { client, ns } = await setUp(t);
    const cases: [string[], number, RegExp][] = [
      [
        ['create', '--repository', 'shop', '--branch', 'main', '--commit', 'xyz'],
        2,
        /--commit must be a hexadecimal commit SHA of 7 to 64/,
      ],
      [
        ['create', '--repository', 'nope', '--branch', 'main', '--commit', 'abcdef1'],
        1,
        new RegExp(`PreviewRepository nope not found in namespace ${ns}`),
      ],
      [['start', 'ghost'], 1, new RegExp(`preview ghost not found in namespace ${ns}`)],
      [['undeploy', 'ghost', '--wait'], 1, new RegExp(`preview ghost not found in namespace ${ns}`)],
      [['logs', 'ghost', '--step', 'deploy'], 2, /--step must be one of build, init, app, cleanup/],
      [['list', '--colour'], 2, /Unknown option '--colour'/],
    ];
    for (const [args, code, message] of cases) {
      const r = await bosun(ns, ...args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal((await client.list(PREVIEWS, ns)).items.length, 0, 'nothing was created');
  });
});
