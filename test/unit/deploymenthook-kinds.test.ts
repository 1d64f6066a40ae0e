// Hooks on StatefulSets and DaemonSets: selection by kind and labels (DocBot's selector.labels too),
// run identity per kind, and the opt-in label's selector, as tables.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { type DeploymentHookSpec, deploymentHookSpec } from '../../src/api/deploymenthook.ts';
import { validate } from '../../src/api/schema.ts';
import { runCommand } from '../../src/cli/run.ts';
import { hookJobName } from '../../src/controllers/deploymenthook/identity.ts';
import { hookJob } from '../../src/controllers/deploymenthook/job-manifest.ts';
import { unlabelledSelector } from '../../src/controllers/deploymenthook/opt-in.ts';
import { type HookObject, planHook } from '../../src/controllers/deploymenthook/plan.ts';
import { selects } from '../../src/controllers/deploymenthook/workloads.ts';
import type { KubeObject } from '../../src/runtime/kube-client.ts';

const workload = (kind: string, name: string, labels: Record<string, string>): KubeObject => ({
  kind,
  metadata: { name, labels },
});
const template = { spec: { spec: { containers: [{ name: 'migrate', image: 'm' }] } } };

describe('which workloads a hook selects', () => {
  const web = { app: 'web' };
  const cases: [string, Pick<DeploymentHookSpec, 'kinds' | 'selector'>, KubeObject, boolean][] = [
    [
      'no kinds: a Deployment, as before',
      { selector: { matchLabels: web } },
      workload('Deployment', 'w', web),
      true,
    ],
    [
      'no kinds: never a StatefulSet',
      { selector: { matchLabels: web } },
      workload('StatefulSet', 'w', web),
      false,
    ],
    [
      'no kinds: never a DaemonSet',
      { selector: { matchLabels: web } },
      workload('DaemonSet', 'w', web),
      false,
    ],
    [
      'kinds [StatefulSet]: a StatefulSet',
      { kinds: ['StatefulSet'], selector: { matchLabels: web } },
      workload('StatefulSet', 'w', web),
      true,
    ],
    [
      'kinds [StatefulSet]: not a Deployment',
      { kinds: ['StatefulSet'], selector: { matchLabels: web } },
      workload('Deployment', 'w', web),
      false,
    ],
    [
      'kinds [DaemonSet], labels differ',
      { kinds: ['DaemonSet'], selector: { matchLabels: web } },
      workload('DaemonSet', 'w', { app: 'api' }),
      false,
    ],
    [
      "DocBot's selector.labels",
      { selector: { labels: { app: 'nginx' } } },
      workload('Deployment', 'n', { app: 'nginx', x: 'y' }),
      true,
    ],
    [
      "DocBot's selector.labels, no match",
      { selector: { labels: { app: 'nginx' } } },
      workload('Deployment', 'n', { app: 'web' }),
      false,
    ],
    [
      'selector.labels with matchExpressions',
      { selector: { labels: web, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] } },
      workload('Deployment', 'w', { ...web, tier: 'x' }),
      false,
    ],
  ];
  for (const [what, spec, w, expected] of cases) it(what, () => assert.equal(selects(spec, w), expected));
});

describe("DocBot's README manifests (our fixtures) are valid specs", () => {
  // The spec parts of DocBot's two README examples, with the selector as DocBot writes it.
  const byName = { selector: { labels: { app: 'nginx' } }, template: { name: 'nginx-pod-template' } };
  const inline = {
    selector: { labels: { app: 'nginx' } },
    template: {
      spec: {
        metadata: { labels: { app: 'nginx' } },
        spec: {
          containers: [
            {
              name: 'nginx',
              image: 'nginx:1.14.2',
              command: ['sh', '-c', 'echo working'],
              envFrom: [{ configMapRef: { name: 'config-nginx-test' } }],
              ports: [{ containerPort: 80 }],
            },
          ],
        },
      },
    },
  };
  const cases: [string, unknown, RegExp?][] = [
    ['template.name', byName],
    ['inline template', inline],
    [
      'labels and matchLabels together',
      { ...byName, selector: { labels: { app: 'nginx' }, matchLabels: { app: 'nginx' } } },
      /not both/,
    ],
    ['an empty labels map', { ...byName, selector: { labels: {} } }, /selector must not be empty/],
    [
      'a bad label key',
      { ...byName, selector: { labels: { 'a b': 'x' } } },
      /each labels key must be a label key/,
    ],
    ['empty kinds', { ...byName, kinds: [] }, /kinds must name at least one/],
    ['BeforeRollout without kinds', { ...byName, when: 'BeforeRollout' }],
    ['BeforeRollout for Deployments', { ...byName, when: 'BeforeRollout', kinds: ['Deployment'] }],
    [
      'BeforeRollout for StatefulSets',
      { ...byName, when: 'BeforeRollout', kinds: ['Deployment', 'StatefulSet'] },
      /BeforeRollout is for Deployments only/,
    ],
    ['AfterRollout for StatefulSets', { ...byName, when: 'AfterRollout', kinds: ['StatefulSet'] }],
    [
      'an unknown kind',
      { ...byName, kinds: ['ReplicaSet'] },
      /must be one of Deployment, StatefulSet, DaemonSet/,
    ],
  ];
  for (const [what, spec, error] of cases)
    it(what, () => {
      const errors = validate(deploymentHookSpec, spec);
      if (error) assert.match(errors.join('\n'), error);
      else assert.deepEqual(errors, []);
    });
});

describe('run identity per kind', () => {
  const base = {
    hook: 'migrate',
    hookUid: 'h-1',
    deployment: 'web',
    deploymentUid: 'u-1',
    revision: '3',
    rerun: '',
  };
  it('a Deployment keeps the name it had before kinds existed', () => {
    // The hash input of earlier versions: `${hookUid}/${deploymentUid}/${rerun}`.
    assert.equal(hookJobName(base), hookJobName({ ...base, kind: 'Deployment' }));
    assert.match(hookJobName(base), /^migrate-web-3-[0-9a-f]{6}$/);
  });
  it('the kind is part of the identity, even with equal names and UIDs', () => {
    const names = new Set(
      (['Deployment', 'StatefulSet', 'DaemonSet'] as const).map((kind) => hookJobName({ ...base, kind })),
    );
    assert.equal(names.size, 3);
  });
  it('a StatefulSet revision that comes back (rollback) is a new run; the same previous run is the same Job', () => {
    const sts = { ...base, kind: 'StatefulSet' as const, revision: 'web-7f9c5d8b6' };
    assert.notEqual(
      hookJobName({ ...sts, after: 'migrate-web-a' }),
      hookJobName({ ...sts, after: 'migrate-web-b' }),
    );
    assert.equal(
      hookJobName({ ...sts, after: 'migrate-web-a' }),
      hookJobName({ ...sts, after: 'migrate-web-a' }),
    );
  });
  it('a DaemonSet ignores the previous run (its template generation never comes back)', () => {
    const ds = { ...base, kind: 'DaemonSet' as const };
    assert.equal(hookJobName({ ...ds, after: 'x' }), hookJobName({ ...ds, after: 'y' }));
  });
});

describe('planHook with several kinds', () => {
  const hook = (status?: HookObject['status']): HookObject => ({
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'DeploymentHook',
    metadata: { name: 'migrate', namespace: 'shop', uid: 'h-1', generation: 1 },
    spec: { kinds: ['Deployment', 'StatefulSet'], selector: { matchLabels: { app: 'web' } }, template },
    ...(status ? { status } : {}),
  });
  const deployment: KubeObject = {
    kind: 'Deployment',
    metadata: {
      name: 'web',
      uid: 'd-1',
      generation: 1,
      labels: { app: 'web' },
      annotations: { 'deployment.kubernetes.io/revision': '1' },
    },
    spec: { replicas: 1 },
    status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
  };
  const sts = (revision: string): KubeObject => ({
    kind: 'StatefulSet',
    metadata: { name: 'web', uid: 's-1', generation: 1, labels: { app: 'web' } },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'db', image: `db:${revision}` }] } } },
    status: {
      observedGeneration: 1,
      replicas: 1,
      readyReplicas: 1,
      updatedReplicas: 1,
      updateRevision: revision,
    },
  });
  const snapOf = (h: HookObject, workloads: KubeObject[]) => ({
    hook: h,
    deployments: workloads,
    jobs: [],
    template: template.spec,
    templateVersion: 'generation 1',
    now: new Date('2026-11-23T10:00:00Z'),
  });

  it('a Deployment and a StatefulSet named alike get an entry and a Job each; their ends are Events on the right kind', () => {
    const started = planHook(snapOf(hook(), [deployment, sts('web-a')]));
    assert.deepEqual(
      started.status.deployments?.map((e) => [e.kind, e.name, e.revision]),
      [
        ['Deployment', 'web', '1'],
        ['StatefulSet', 'web', 'web-a'],
      ],
    );
    assert.equal(new Set(started.create.map((c) => c.name)).size, 2);
    assert.deepEqual(started.events, [], 'a start is not an Event');
    const done = (name: string) => ({
      metadata: {
        name,
        namespace: 'shop',
        ownerReferences: [
          { apiVersion: 'bosun.dev/v1alpha1', kind: 'DeploymentHook', name: 'migrate', uid: 'h-1' },
        ],
      },
      status: {
        conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: '2026-11-23T10:00:30Z' }],
      },
    });
    const ended = planHook({
      ...snapOf(hook(started.status), [deployment, sts('web-a')]),
      jobs: started.create.map((c) => done(c.name)),
    });
    assert.deepEqual(
      ended.events.filter((e) => e.on !== 'hook').map((e) => e.on),
      [
        { deployment: 'web', kind: 'Deployment' },
        { deployment: 'web', kind: 'StatefulSet' },
      ],
    );
  });

  it("a StatefulSet rolled back to a revision that already ran runs again, and the first run's Job is not adopted", () => {
    const first = planHook(snapOf(hook(), [sts('web-a')])).create[0]?.name as string;
    const status = (revision: string, jobName: string) => ({
      deployments: [
        {
          kind: 'StatefulSet' as const,
          name: 'web',
          uid: 's-1',
          revision,
          rollout: 'Complete' as const,
          lastRun: { revision, jobName, phase: 'Succeeded' as const },
        },
      ],
    });
    const second = planHook(snapOf(hook(status('web-a', first)), [sts('web-b')])).create[0]?.name as string;
    const back = planHook(snapOf(hook(status('web-b', second)), [sts('web-a')]));
    assert.equal(back.create.length, 1);
    assert.notEqual(back.create[0]?.name, first);
    assert.notEqual(back.create[0]?.name, second);
  });

  it('the hook Job says which kind it is for (BOSUN_KIND, bosun.dev/kind)', () => {
    const p = planHook(snapOf(hook(), [sts('web-a')]));
    const run = p.create[0];
    assert.ok(run);
    const job = hookJob(hook(), run, template.spec);
    const env = Object.fromEntries(
      job.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    assert.equal(env.BOSUN_KIND, 'StatefulSet');
    assert.equal(env.BOSUN_WORKLOAD, 'web');
    assert.equal(env.BOSUN_REVISION, 'web-a');
    assert.equal(job.metadata.labels?.['bosun.dev/kind'], 'StatefulSet');
  });
});

describe('the opt-in label selector (what a hook cannot see)', () => {
  const cases: [string, Parameters<typeof unlabelledSelector>[0], string][] = [
    [
      'matchLabels',
      { matchLabels: { app: 'web', tier: 'db' } },
      'app=web,tier=db,!apps.mx.com/deploymenthook',
    ],
    [
      'every operator',
      {
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['x', 'y'] },
          { key: 'b', operator: 'NotIn', values: ['z'] },
          { key: 'c', operator: 'Exists' },
          { key: 'd', operator: 'DoesNotExist' },
        ],
      },
      'a in (x,y),b notin (z),c,!d,!apps.mx.com/deploymenthook',
    ],
  ];
  for (const [what, selector, expected] of cases)
    it(what, () => assert.equal(unlabelledSelector(selector, 'apps.mx.com/deploymenthook'), expected));
});

describe('examples/deploymenthook', () => {
  const dir = new URL('../../examples/deploymenthook/', import.meta.url);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')))
    it(`${file}: every DeploymentHook is a valid spec`, () => {
      const hooks = parseAllDocuments(readFileSync(new URL(file, dir), 'utf8'))
        .map((d) => d.toJSON() as KubeObject)
        .filter((o) => o?.kind === 'DeploymentHook');
      assert.ok(hooks.length > 0);
      for (const h of hooks) assert.deepEqual(validate(deploymentHookSpec, h.spec), [], h.metadata.name);
    });
});

describe('bosun run --hook-opt-in-label', () => {
  it('refuses a value that is not a label key, before connecting anywhere', async () => {
    await assert.rejects(
      runCommand(['--hook-opt-in-label=not a key']),
      /--hook-opt-in-label must be a label key/,
    );
  });
});
