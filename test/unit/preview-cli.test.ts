import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainLogError, LogError } from '../../src/cli/pod-logs.ts';
import { duration, parsePreviewArgs, UsageError } from '../../src/cli/preview-args.ts';
import { explainApiError } from '../../src/cli/preview-context.ts';
import { defaultStep, linePrefixer } from '../../src/cli/preview-logs.ts';
import {
  age,
  filterPreviews,
  formatTable,
  previewRows,
  sortPreviews,
  source,
  waitingText,
} from '../../src/cli/preview-table.ts';
import type { PreviewObject, RepositoryObject } from '../../src/controllers/preview/model.ts';
import { ApiError } from '../../src/runtime/kube-client.ts';

describe('bosun preview arguments', () => {
  const good: [string, string[], Record<string, unknown>][] = [
    [
      'list with filters',
      ['list', '--repository', 'shop', '--pr', '#12', '--phase', 'Running', '-o', 'json', '-n', 'team'],
      {
        command: 'list',
        repository: 'shop',
        pullRequest: 12,
        phase: 'Running',
        output: 'json',
        namespace: 'team',
      },
    ],
    ['list defaults to a table', ['list'], { command: 'list', output: 'table', namespace: undefined }],
    [
      'branch preview, commit lower-cased',
      ['create', '--repository', 'shop', '--branch', 'feature/x', '--commit', 'ABCDEF1'],
      { command: 'create', branch: 'feature/x', commit: 'abcdef1', pullRequest: undefined },
    ],
    [
      'pull request preview',
      [
        'create',
        '--repository',
        'shop',
        '--pr',
        '7',
        '--branch',
        'feat',
        '--target-branch',
        'main',
        '--commit',
        'a'.repeat(40),
        '--state',
        'Running',
      ],
      { pullRequest: 7, targetBranch: 'main', state: 'Running' },
    ],
    [
      'start',
      ['start', 'shop-main-abcdef1', '--kubeconfig', '/tmp/k'],
      { command: 'start', name: 'shop-main-abcdef1', kubeconfig: '/tmp/k' },
    ],
    [
      'undeploy waits 10m by default',
      ['undeploy', 'p', '--wait'],
      { command: 'undeploy', wait: true, timeoutMs: 600_000 },
    ],
    [
      'logs with every flag',
      ['logs', 'p', '--step', 'init', '-f', '-c', 'db'],
      { step: 'init', follow: true, container: 'db' },
    ],
    ['logs default step left to the preview', ['logs', 'p'], { step: undefined, follow: false }],
    ['help flag on a command', ['create', '--help'], { command: 'help' }],
  ];
  for (const [what, argv, want] of good)
    it(what, () => {
      const got = parsePreviewArgs(argv) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, k);
    });

  const bad: [string[], RegExp][] = [
    [[], /missing command/],
    [['deploy'], /unknown command "deploy"/],
    [['list', '--colour'], /Unknown option '--colour'/],
    [['list', '-o', 'yaml'], /-o must be json/],
    [['list', '--phase', 'running'], /--phase must be one of Pending, .*Undeploying/],
    [['list', '--pr', '0'], /--pr must be a pull request number/],
    [['list', 'extra'], /unexpected argument "extra"/],
    [['create', '--branch', 'main', '--commit', 'abcdef1'], /--repository is required/],
    [['create', '--repository', 'shop', '--branch', 'main'], /--commit is required/],
    [
      ['create', '--repository', 'shop', '--branch', 'main', '--commit', 'abc'],
      /7 to 64 characters, got "abc"/,
    ],
    [['create', '--repository', 'shop', '--branch', 'main', '--commit', 'g'.repeat(7)], /hexadecimal/],
    [['create', '--repository', 'shop', '--branch', 'main', '--commit', 'a'.repeat(65)], /7 to 64/],
    [['create', '--repository', 'shop', '--commit', 'abcdef1'], /--branch is required/],
    [
      ['create', '--repository', 'shop', '--pr', '3', '--branch', 'x', '--commit', 'abcdef1'],
      /needs --pr N, --branch HEAD .*--target-branch BASE/,
    ],
    [
      ['create', '--repository', 'shop', '--branch', 'x', '--target-branch', 'main', '--commit', 'abcdef1'],
      /--target-branch goes with --pr/,
    ],
    [
      ['create', '--repository', 'shop', '--branch', 'a b', '--commit', 'abcdef1'],
      /"a b" is not a branch name: it contains " "/,
    ],
    [['create', '--repository', 'shop', '--branch', 'x:y', '--commit', 'abcdef1'], /contains ":"/],
    [
      ['create', '--repository', 'Shop', '--branch', 'x', '--commit', 'abcdef1'],
      /--repository "Shop" is not a valid Kubernetes name/,
    ],
    [
      ['create', '--repository', 'shop', '--branch', 'x', '--commit', 'abcdef1', '--state', 'running'],
      /--state must be Running or Stopped/,
    ],
    [['start'], /start: name the preview/],
    [['stop', 'a', 'b'], /takes one preview name, got 2/],
    [['reset', 'UPPER'], /preview name "UPPER" is not a valid Kubernetes name/],
    [['undeploy', 'p', '--timeout', '10'], /--timeout must be a duration/],
    [['logs', 'p', '--step', 'deploy'], /--step must be one of build, init, app, cleanup/],
    [['logs', 'p', '-n', 'Team'], /namespace "Team"/],
  ];
  for (const [argv, message] of bad)
    it(`refuses: ${argv.join(' ') || '(nothing)'}`, () => {
      assert.throws(
        () => parsePreviewArgs(argv),
        (e: unknown) => e instanceof UsageError && message.test(e.message),
      );
    });

  it('reads Go-style durations', () => {
    assert.equal(duration('90s', 'x'), 90_000);
    assert.equal(duration('1h30m', 'x'), 5_400_000);
    assert.equal(duration('500ms', 'x'), 500);
    assert.throws(() => duration('5 m', 'x'), UsageError);
  });
});

const at = (minutesAgo: number) =>
  new Date(Date.parse('2026-01-01T12:00:00Z') - minutesAgo * 60_000).toISOString();
function pv(
  name: string,
  spec: Partial<PreviewObject['spec']>,
  minutesAgo: number,
  status = {},
): PreviewObject {
  return {
    metadata: { name, creationTimestamp: at(minutesAgo) },
    spec: { repository: 'shop', branch: 'main', commit: 'abcdef0123', ...spec },
    status,
  };
}
const NOW = new Date('2026-01-01T12:00:00Z');

describe('bosun preview list', () => {
  const previews = [
    pv('shop-pr3', { pullRequest: 3, branch: 'fix', targetBranch: 'main' }, 1),
    pv('shop-main-old', {}, 50),
    pv('api-main', { repository: 'api' }, 500),
    pv('shop-pr9', { pullRequest: 9, branch: 'feat', targetBranch: 'main' }, 5),
    pv('shop-main-new', {}, 2, { phase: 'Running' }),
  ];

  it('sorts like runboat: by repository, branches before pull requests, newest first', () => {
    assert.deepEqual(
      sortPreviews(previews).map((p) => p.metadata.name),
      ['api-main', 'shop-main-new', 'shop-main-old', 'shop-pr3', 'shop-pr9'],
    );
  });

  it('filters by repository, branch, pull request and phase', () => {
    const names = (f: Parameters<typeof filterPreviews>[1]) =>
      filterPreviews(previews, f).map((p) => p.metadata.name);
    assert.deepEqual(names({ repository: 'api' }), ['api-main']);
    assert.deepEqual(names({ branch: 'feat' }), ['shop-pr9']);
    assert.deepEqual(names({ pullRequest: 3 }), ['shop-pr3']);
    assert.deepEqual(names({ phase: 'Running' }), ['shop-main-new']);
  });

  it('shows a pull request with its head and base', () => {
    assert.equal(source(previews[0] as PreviewObject), '#3 fix → main');
    assert.equal(source(previews[1] as PreviewObject), 'main');
  });

  it('gives ages the way kubectl does', () => {
    const ago = (s: number) => age(new Date(NOW.getTime() - s * 1000).toISOString(), NOW);
    assert.deepEqual(
      [ago(5), ago(119), ago(600), ago(7199), ago(7200), ago(3 * 86_400)],
      ['5s', '119s', '10m', '119m', '2h', '3d'],
    );
    assert.equal(age(undefined, NOW), '-');
  });

  it('lines up columns, counting → as one character', () => {
    const table = formatTable(previewRows([previews[0] as PreviewObject, previews[1] as PreviewObject], NOW));
    const [header, first, second] = table.split('\n');
    assert.match(
      header ?? '',
      /^NAME\s+REPOSITORY\s+BRANCH\/PR\s+COMMIT\s+STATE\s+PHASE\s+INIT\s+URL\s+AGE$/,
    );
    assert.match(first ?? '', /^shop-pr3\s+shop\s+#3 fix → main\s+abcdef0\s+Stopped\s+-\s+-\s+-\s+60s$/);
    assert.equal(first?.indexOf('abcdef0'), second?.indexOf('abcdef0'));
  });

  it('lists pull requests from forks waiting for approval, each with the command that approves it', () => {
    const repository = {
      apiVersion: 'bosun.dev/v1alpha1',
      kind: 'PreviewRepository',
      metadata: { name: 'shop', namespace: 'previews' },
      spec: { repository: 'acme/shop', template: 'web' },
    } as RepositoryObject;
    const f = {
      number: 11,
      commit: 'c0ffee1234'.padEnd(40, '0'),
      branch: 'fix;rm it',
      targetBranch: 'main',
      fork: 'mallory/shop',
      updatedAt: '2026-01-01T11:58:00Z',
    };
    assert.equal(
      waitingText([{ repository, pullRequest: f }], 'previews', NOW),
      [
        'Waiting for approval: pull requests from forks, whose code runs in the cluster once approved',
        '  shop #11 fix;rm it → main from mallory/shop, commit c0ffee1, 2m ago',
        `    bosun preview create -n previews --repository shop --pr 11 --branch 'fix;rm it' --target-branch main --commit ${f.commit}`,
        '',
      ].join('\n'),
    );
  });
});

describe('bosun preview logs', () => {
  const step = (status: object, deleting = false) =>
    defaultStep({
      ...pv('p', {}, 0, status),
      metadata: { name: 'p', ...(deleting ? { deletionTimestamp: at(0) } : {}) },
    });
  it('picks the failed step, else the one under way, else the app', () => {
    assert.equal(step({ phase: 'Failed', initStatus: 'failed', buildStatus: 'success' }), 'init');
    assert.equal(step({ phase: 'Failed', buildStatus: 'error' }), 'build');
    assert.equal(step({ phase: 'Running', buildStatus: 'error', initStatus: 'ready' }), 'build');
    assert.equal(step({ phase: 'Building', buildStatus: 'building' }), 'build');
    assert.equal(step({ phase: 'Initializing', buildStatus: 'success', initStatus: 'initializing' }), 'init');
    assert.equal(step({ phase: 'Running', buildStatus: 'success', initStatus: 'ready' }), 'app');
    assert.equal(step({ cleanupJobName: 'p-cleanup', initStatus: 'dropping' }, true), 'cleanup');
  });

  it('prefixes whole lines when several logs are interleaved', () => {
    const out: string[] = [];
    const write = linePrefixer('[pod/c] ', (t) => out.push(t));
    write(Buffer.from('one\ntw'));
    write(Buffer.from('o\nthree'));
    assert.deepEqual(out, ['[pod/c] one\n', '[pod/c] two\n']);
    write(Buffer.alloc(0), true);
    assert.deepEqual(out.at(-1), '[pod/c] three\n');
  });

  it('says when the API server cannot reach the kubelet', () => {
    const message = explainLogError(
      new LogError(500, 'dial tcp 10.0.0.9:10250: connect: connection refused'),
      'p-1',
      'node-a',
    );
    assert.match(message, /could not read pod p-1's log from the kubelet of node node-a: dial tcp/);
    assert.match(
      explainLogError(new LogError(400, 'container "x" is waiting to start'), 'p-1', 'n'),
      /^pod p-1: container/,
    );
  });
});

describe('bosun preview API errors', () => {
  it('lists the fields of a 422 one per line', () => {
    const e = new ApiError(422, 'Invalid', 'Preview.bosun.dev "x" is invalid: ...', {
      causes: [{ field: 'spec.commit', message: 'should match ^[0-9a-f]{7,64}$' }, { message: 'another' }],
    });
    assert.equal(
      explainApiError(e, 'preview x'),
      'the API server rejected preview x:\n  - spec.commit: should match ^[0-9a-f]{7,64}$\n  - another',
    );
    assert.match(
      explainApiError(new ApiError(403, 'Forbidden', 'no'), 'create'),
      /not allowed to create: no\n.*RBAC/,
    );
  });
});
