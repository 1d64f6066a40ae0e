import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { previewSpec } from '../../src/api/preview.ts';
import { previewRepositorySpec } from '../../src/api/preview-repository.ts';
import { previewTemplateSpec } from '../../src/api/preview-template.ts';
import { validate } from '../../src/api/schema.ts';
import type { PreviewObject, RepositoryObject, TemplateObject } from '../../src/controllers/preview/model.ts';
import {
  alternateName,
  branchMatches,
  previewName,
  previewSlug,
  sameSource,
} from '../../src/controllers/preview/naming.ts';
import {
  previewVariables,
  RenderError,
  renderApp,
  renderInitJob,
  repositorySettings,
} from '../../src/controllers/preview/render.ts';
import { substitute, substituteAll, UnknownVariableError } from '../../src/controllers/preview/variables.ts';

describe('variables', () => {
  const vars = { branch: 'main', commit: 'abc' };
  const cases: [string, string, string | RegExp][] = [
    ['plain text', 'hello', 'hello'],
    ['one variable', 'b=${branch}', 'b=main'],
    ['two variables', '${branch}@${commit}', 'main@abc'],
    ['escaped', '$${branch}', '${branch}'],
    ['a lone dollar', 'cost $5', 'cost $5'],
    ['unknown', '${nope}', /unknown variable \$\{nope\}/],
    ['not a name', '${a b}', /unknown variable/],
    ['empty', '${}', /unknown variable/],
    ['a name every object has', '${toString}', /unknown variable \$\{toString\}/],
    ['a prototype name', '${constructor}', /unknown variable \$\{constructor\}/],
  ];
  for (const [name, input, want] of cases)
    it(name, () => {
      if (typeof want === 'string') assert.equal(substitute(input, vars), want);
      else assert.throws(() => substitute(input, vars, 'x'), want);
    });
  it('substitutes string values only, never keys, and names the path of an unknown one', () => {
    assert.deepEqual(substituteAll({ '${branch}': ['${branch}', 3, true] }, vars), {
      '${branch}': ['main', 3, true],
    });
    assert.throws(
      () => substituteAll({ spec: { containers: [{ args: ['${x}'] }] } }, vars),
      (e: unknown) => e instanceof UnknownVariableError && e.path === 'spec.containers[0].args[0]',
    );
  });
});

describe('naming', () => {
  const cases: [string, [string, Parameters<typeof previewName>[1]], boolean, string][] = [
    ['a branch commit', ['shop', { branch: 'main', commit: 'abcdef0123' }], false, 'shop-main-abcdef0'],
    [
      'a slashed branch',
      ['shop', { branch: 'feature/Login_Page', commit: 'abcdef0123' }],
      false,
      'shop-feature-login-page-abcdef0',
    ],
    [
      'a pull request per commit',
      ['shop', { branch: 'x', pullRequest: 7, commit: 'abcdef0123' }],
      false,
      'shop-pr7-abcdef0',
    ],
    [
      'a pull request rebuilt in place',
      ['shop', { branch: 'x', pullRequest: 7, commit: 'abcdef0123' }],
      true,
      'shop-pr7',
    ],
  ];
  for (const [name, args, perPr, want] of cases)
    it(name, () => assert.equal(previewName(args[0], args[1], perPr), want));
  it('long names fit a DNS label, stay unique and start with a letter', () => {
    const a = previewName('shop', { branch: `feature/${'x'.repeat(80)}-a`, commit: 'abcdef0123' }, false);
    const b = previewName('shop', { branch: `feature/${'x'.repeat(80)}-b`, commit: 'abcdef0123' }, false);
    assert.ok(a.length <= 63 && b.length <= 63);
    assert.notEqual(a, b);
    assert.match(previewSlug('1-two'), /^[a-z][-a-z0-9]*$/);
  });
  it('an alternate name tells apart branches that slug alike, fits a DNS label, and is the same every time', () => {
    const named = (branch: string, name: string): PreviewObject => ({
      metadata: { name },
      spec: { repository: 'shop', branch, commit: 'abcdef0123' },
    });
    const dotted = alternateName(named('release/1.0', 'shop-release-1-0-abcdef0'));
    const dashed = alternateName(named('release-1.0', 'shop-release-1-0-abcdef0'));
    assert.match(dotted, /^shop-release-1-0-abcdef0-[0-9a-f]{6}$/);
    assert.notEqual(dotted, dashed);
    assert.equal(alternateName(named('release/1.0', 'shop-release-1-0-abcdef0')), dotted);
    const long = alternateName(named('x', `shop-${'x'.repeat(58)}`));
    assert.ok(long.length <= 63, long);
  });
  const spec = (branch: string, pullRequest?: number, repository = 'shop') =>
    ({ metadata: {}, spec: { repository, branch, commit: 'abcdef0123', pullRequest } }) as PreviewObject;
  const sources: [string, PreviewObject, PreviewObject, boolean][] = [
    ['one branch', spec('main'), spec('main'), true],
    ['branches that slug alike', spec('release/1.0'), spec('release-1.0'), false],
    ['one pull request, whatever its head branch is called', spec('a', 7), spec('b', 7), true],
    ['two pull requests', spec('a', 7), spec('a', 8), false],
    ['a branch named like a pull request', spec('pr7'), spec('pr7', 7), false],
    ['two repository objects', spec('main'), spec('main', undefined, 'shop2'), false],
  ];
  for (const [name, a, b, same] of sources)
    it(`same source: ${name}`, () => assert.equal(sameSource(a, b), same));
  const patterns: [string, string, boolean][] = [
    ['main', 'main', true],
    ['main', 'mainline', false],
    ['release/*', 'release/1.0', true],
    ['*', 'any/thing', true],
    ['1.*', '1x', false],
  ];
  for (const [pattern, branch, want] of patterns)
    it(`branch pattern ${pattern} vs ${branch}`, () => assert.equal(branchMatches(pattern, branch), want));
});

const template: TemplateObject = {
  metadata: { name: 'web', namespace: 'ns' },
  spec: {
    app: {
      port: 8069,
      template: { spec: { containers: [{ name: 'odoo', env: [{ name: 'MODE', value: 'own' }] }] } },
    },
    ingress: { domain: 'runboat.example.org', tlsSecretName: 'wildcard' },
    initialize: { template: { spec: { containers: [{ name: 'init', command: ['init', '${preview}'] }] } } },
    resources: [
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: '${preview}-data' }, spec: {} },
    ],
    env: [
      { name: 'MODE', value: 'template' },
      { name: 'PGDATABASE', value: '${preview}' },
    ],
    secretEnv: [{ name: 'PGPASSWORD', secretName: 'pg', key: 'password' }],
  } as TemplateObject['spec'],
};
const repository: RepositoryObject = {
  metadata: { name: 'shop', namespace: 'ns' },
  spec: {
    repository: 'oca/shop',
    template: 'web',
    image: 'odoo:17',
    overrides: [
      { branches: ['16.0'], image: 'odoo:16', variables: { edition: 'old' } },
      { branches: ['*'], variables: { edition: 'new' } },
    ],
  },
};
const preview = (branch: string, extra: Partial<PreviewObject['spec']> = {}): PreviewObject => ({
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'Preview',
  metadata: { name: 'shop-x', namespace: 'ns', uid: 'u' },
  spec: { repository: 'shop', branch, commit: 'abcdef0123', ...extra },
});

describe('rendering', () => {
  it('the first matching override wins; pull requests match on their base branch', () => {
    assert.equal(repositorySettings(repository.spec, preview('16.0').spec).image, 'odoo:16');
    assert.equal(repositorySettings(repository.spec, preview('17.0').spec).variables.edition, 'new');
    assert.equal(
      repositorySettings(repository.spec, preview('fix', { pullRequest: 3, targetBranch: '16.0' }).spec)
        .image,
      'odoo:16',
    );
  });
  it('variables, host and URL', () => {
    const r = previewVariables({ preview: preview('17.0'), repository, template });
    assert.equal(r.url, 'https://shop-x.runboat.example.org');
    assert.equal(r.image, 'odoo:17');
    assert.equal(r.variables.shortCommit, 'abcdef0');
    assert.equal(r.variables.pullRequest, '');
  });
  it('every container gets the env, its own entries win, the image defaults to ${image}', () => {
    const input = { preview: preview('17.0'), repository, template };
    const app = renderApp(input, previewVariables(input));
    const [service, ingress, pvc, deployment] = app.objects;
    const container = deployment?.spec.template.spec.containers[0];
    assert.equal(container.image, 'odoo:17');
    assert.deepEqual(
      container.env.map((e: { name: string }) => e.name),
      ['PGDATABASE', 'PGPASSWORD', 'MODE'],
    );
    assert.equal(container.env.find((e: { name: string }) => e.name === 'MODE').value, 'own');
    assert.equal(service?.spec.ports[0].targetPort, 8069);
    assert.deepEqual(ingress?.spec.tls, [{ hosts: ['shop-x.runboat.example.org'], secretName: 'wildcard' }]);
    assert.equal(pvc?.metadata.name, 'shop-x-data');
    for (const o of app.objects) {
      assert.equal(o.metadata.labels?.['bosun.dev/preview'], 'shop-x');
      assert.equal(o.metadata.namespace, 'ns');
      assert.equal(o.metadata.ownerReferences?.[0]?.kind, 'Preview');
    }
    const init = renderInitJob(input, previewVariables(input), 2);
    assert.equal(init?.metadata.name, 'shop-x-init-2');
    assert.deepEqual(init?.spec.template.spec.containers[0].command, ['init', 'shop-x']);
    assert.equal(init?.spec.template.spec.restartPolicy, 'Never');
    assert.equal(init?.spec.activeDeadlineSeconds, 1200);
  });
  it('an extra resource in another namespace is refused', () => {
    const bad = {
      ...template,
      spec: {
        ...template.spec,
        resources: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x', namespace: 'kube-system' } }],
      },
    } as TemplateObject;
    const input = { preview: preview('17.0'), repository, template: bad };
    assert.throws(() => renderApp(input, previewVariables(input)), RenderError);
  });
  it('a user variable may not shadow a built-in one', () => {
    const repo = { ...repository, spec: { ...repository.spec, variables: { commit: 'x' } } };
    assert.throws(
      () => previewVariables({ preview: preview('17.0'), repository: repo, template }),
      /built in/,
    );
  });
});

describe('preview schemas', () => {
  const cases: [
    string,
    typeof previewSpec | typeof previewRepositorySpec | typeof previewTemplateSpec,
    unknown,
    RegExp | null,
  ][] = [
    ['a branch preview', previewSpec, { repository: 'r', branch: 'main', commit: 'abcdef0' }, null],
    [
      'a pull request preview needs its target branch',
      previewSpec,
      { repository: 'r', branch: 'x', pullRequest: 3, commit: 'abcdef0' },
      /pullRequest and targetBranch together/,
    ],
    ['a commit must be hex', previewSpec, { repository: 'r', branch: 'main', commit: 'HEAD' }, /commit/],
    [
      'state is Running or Stopped',
      previewSpec,
      { repository: 'r', branch: 'main', commit: 'abcdef0', state: 'Up' },
      /state/,
    ],
    ['owner/name', previewRepositorySpec, { repository: 'shop', template: 't' }, /repository/],
    [
      'previewPer',
      previewRepositorySpec,
      { repository: 'a/b', template: 't', previewPer: 'Branch' },
      /previewPer/,
    ],
    [
      'forkTemplate needs forkPolicy Preview',
      previewRepositorySpec,
      { repository: 'a/b', template: 't', forkTemplate: 'untrusted' },
      /forkTemplate is used only with forkPolicy: Preview/,
    ],
    [
      'forkTemplate with forkPolicy Preview',
      previewRepositorySpec,
      { repository: 'a/b', template: 't', forkPolicy: 'Preview', forkTemplate: 'untrusted' },
      null,
    ],
    [
      'a template needs an app port',
      previewTemplateSpec,
      { app: { template: { spec: { containers: [{ name: 'a' }] } } } },
      /port/,
    ],
  ];
  for (const [name, schema, value, want] of cases)
    it(name, () => {
      const errors = validate(schema as typeof previewSpec, value);
      if (want === null) assert.deepEqual(errors, []);
      else assert.match(errors.join('\n'), want);
    });
});
