// The preview controller's pure pass (planPass: capacity over every preview of a repository, then
// a plan for each preview whose inputs changed), timed in-process on a simulated repository: no
// cluster, so it shows what a pass costs the CPU at 10,000 previews in seconds instead of the
// half hour bench/previews.ts needs to settle them.
//   npm run bench:preview-pass     (BENCH_PREVIEWS=10000 BENCH_BURST=100 BENCH_REPEAT=20)
// The world: each plan is carried out at once (status written, Jobs created and finished, the
// app applied with its pods there), except the init Jobs of `slow` previews, which never end.
// Figures: a pass with nothing changed, one after the repository's status was written (what the
// controller does when its counts move), and the passes a burst of new previews takes to settle.

import { previewDeployment } from '../src/controllers/preview/children.ts';
import { CLEANUP_FINALIZER, PREVIEW_LABEL } from '../src/controllers/preview/labels.ts';
import type {
  Caps,
  PreviewObject,
  RepositoryObject,
  TemplateObject,
} from '../src/controllers/preview/model.ts';
import { planPass } from '../src/controllers/preview/pass.ts';
import { appName } from '../src/controllers/preview/render.ts';
import { SettledPreviews } from '../src/controllers/preview/settled.ts';
import type { KubeObject } from '../src/runtime/kube-client.ts';
import { fmt, percentile, table } from './support.ts';

const env = process.env;
const total = Number(env.BENCH_PREVIEWS ?? 10_000);
const burst = Number(env.BENCH_BURST ?? 100);
const repeat = Number(env.BENCH_REPEAT ?? 20);
const SLOW = 20;
const RUNNING = 200;
const NS = 'bench';

let rv = 1;
const nextVersion = () => String(++rv);
const template = (name: string, finishes: boolean): TemplateObject => ({
  metadata: { name, namespace: NS, uid: `t-${name}`, generation: 1, resourceVersion: nextVersion() },
  spec: {
    app: { port: 8080, template: { spec: { containers: [{ name: 'web' }] } } },
    initialize: {
      template: {
        ...(finishes ? {} : { metadata: { annotations: { slow: 'true' } } }),
        spec: { containers: [{ name: 'init', args: ['seed'] }] },
      },
    },
  } as TemplateObject['spec'],
});
const templates = new Map([
  ['fast', template('fast', true)],
  ['slow', template('slow', false)],
]);
let repository: RepositoryObject = {
  metadata: { name: 'shop', namespace: NS, uid: 'r', generation: 1, resourceVersion: nextVersion() },
  spec: {
    repository: 'acme/shop',
    template: 'fast',
    image: 'registry.example/shop:1',
    pullRequestTargets: ['main'],
    overrides: [{ branches: ['slow'], template: 'slow' }],
  },
};
const caps: Caps = { maxDeployed: total, maxRunning: RUNNING, maxInitializing: SLOW };

const previews = new Map<string, PreviewObject>();
/** Deployments by `namespace/name`, as the controller's cache holds them: the pass looks them up as the controller does. */
const deploymentKey = (p: PreviewObject) => `${NS}/${appName(p)}`;
const deploymentCache = { getByKey: (key: string) => deployments.get(key) };
const jobs = new Map<string, KubeObject>();
const deployments = new Map<string, KubeObject>();
const base = Date.parse('2026-11-23T00:00:00Z');
let created = 0;
function addPreview(name: string, target: string, running: boolean) {
  const at = new Date(base + created++ * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const pr = created;
  previews.set(name, {
    metadata: {
      name,
      namespace: NS,
      uid: `u-${name}`,
      generation: 1,
      resourceVersion: nextVersion(),
      creationTimestamp: at,
      finalizers: [CLEANUP_FINALIZER],
    },
    spec: {
      repository: 'shop',
      branch: `fix-${pr}`,
      targetBranch: target,
      pullRequest: pr,
      commit: pr.toString(16).padStart(10, 'a'),
      state: running ? 'Running' : 'Stopped',
    },
  });
}

type Timed = ReturnType<typeof pass>;
let now = base + 10 * 24 * 3600 * 1000;
/**
 * One pass: planned and carried out at once. Returns the CPU ms planning took (not wall time: the
 * machine may be shared) and the number of plans acted on.
 */
function pass(settled: SettledPreviews): { ms: number; acted: number; planned: number } {
  const list = [...previews.values()];
  now += 100;
  const started = process.cpuUsage();
  const { plans, planned } = planPass(
    {
      namespace: NS,
      repository,
      previews: list,
      caps,
      deployment: (p) => previewDeployment(deploymentCache, p),
      job: (n) => jobs.get(n),
      template: (n) => templates.get(n),
      now: new Date(now),
    },
    settled,
  );
  const used = process.cpuUsage(started);
  const ms = (used.user + used.system) / 1000;
  for (const { preview, plan } of plans) {
    const name = preview.metadata.name as string;
    if (plan.undeploy) {
      previews.delete(name);
      deployments.delete(deploymentKey(preview));
      for (const j of [...jobs.keys()]) if (j.startsWith(`${name}-`)) jobs.delete(j);
      settled.forget(preview.metadata.uid as string);
      continue;
    }
    for (const j of plan.create) {
      const slow = !!j.spec?.template?.metadata?.annotations?.slow;
      jobs.set(j.metadata.name as string, {
        ...j,
        metadata: { ...j.metadata, resourceVersion: nextVersion() },
        status: slow ? {} : { conditions: [{ type: 'Complete', status: 'True' }] },
      });
    }
    const app = plan.apply?.objects.find((o) => o.kind === 'Deployment');
    const current = deployments.get(deploymentKey(preview));
    const replicas = plan.scale ?? app?.spec?.replicas ?? current?.spec?.replicas;
    if (app || plan.scale !== undefined) {
      const d = app ?? (current as KubeObject);
      deployments.set(deploymentKey(preview), {
        ...d,
        metadata: { ...d.metadata, labels: { [PREVIEW_LABEL]: name }, resourceVersion: nextVersion() },
        spec: { ...d.spec, replicas },
        status: { replicas, availableReplicas: replicas },
      });
    }
    previews.set(name, {
      ...preview,
      metadata: { ...preview.metadata, resourceVersion: nextVersion() },
      status: plan.status,
    });
  }
  return { ms, acted: plans.length, planned };
}

function settle(settled: SettledPreviews, what: string): Timed[] {
  const times: Timed[] = [];
  for (let i = 0; i < 1000; i++) {
    const t = pass(settled);
    times.push(t);
    if (t.acted === 0) return times;
  }
  throw new Error(`${what}: never settled`);
}

const log = (line: string) => process.stderr.write(`# ${line}\n`);
log(`filling ${total} previews (${RUNNING} running, ${SLOW} initializing)`);
for (let i = 0; i < total - SLOW; i++) addPreview(`shop-pr${i + 1}`, 'main', i < RUNNING);
// Filled under a wide init cap, as bench/previews.ts does, then the cap goes back.
caps.maxInitializing = total;
const settled = new SettledPreviews();
const fill = settle(settled, 'filling');
caps.maxInitializing = SLOW;
for (let k = 0; k < SLOW; k++) addPreview(`shop-slow-${k}`, 'slow', false);
fill.push(...settle(settled, 'the slow previews'));
log(`settled in ${fill.length} passes`);

const timed = (f: () => Timed) => Array.from({ length: repeat }, f);
const noop = timed(() => pass(settled));
const repositoryWritten = timed(() => {
  repository = { ...repository, metadata: { ...repository.metadata, resourceVersion: nextVersion() } };
  return pass(settled);
});

// The burst: the slow previews go (their init slots free), then new previews arrive at maxDeployed.
for (let k = 0; k < SLOW; k++) previews.delete(`shop-slow-${k}`);
caps.maxDeployed = previews.size + SLOW;
settle(settled, 'after the slow previews');
for (let k = 0; k < burst; k++) addPreview(`shop-burst-pr${k}`, 'main', false);
const burstTimes = settle(settled, 'the burst');

const row = (what: string, passes: Timed[]) => {
  const ms = passes.map((t) => t.ms);
  const planned = passes.reduce((n, t) => n + t.planned, 0);
  return [
    what,
    passes.length,
    fmt(planned / passes.length, 0),
    fmt(percentile(ms, 50), 1),
    fmt(percentile(ms, 100), 1),
    fmt(
      ms.reduce((a, b) => a + b, 0),
      0,
    ),
  ];
};
process.stdout.write(
  table(
    `planPass on ${total} previews (${RUNNING} running, ${SLOW} initializing), in-process, no cluster`,
    ['pass', 'passes', 'previews planned / pass', 'p50 CPU ms', 'max CPU ms', 'total CPU ms'],
    [
      row('nothing changed', noop),
      row("after the repository's status was written", repositoryWritten),
      row(`a burst of ${burst} new previews at maxDeployed, until settled`, burstTimes),
    ],
  ),
);
process.stdout.write(`\nRSS ${fmt(process.memoryUsage().rss / 2 ** 20, 0)} MiB\n`);
