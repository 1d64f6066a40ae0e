// Benchmark of the Preview controller on one operator process (`bosun run` as a child):
// previews held (memory, time to settle), API requests per preview lifecycle, a burst of new
// previews converging under the caps (sampled from what really exists), and writes while idle;
// beside each figure, kube-controller-manager measured in the same run on the same cluster; and,
// at the largest size, the operator's own HTTP server: signed pull_request webhooks until their
// previews show Building, and the web UI's first paint.
//   npm run bench:previews     (BENCH_PREVIEWS=10000, or BENCH_SIZES=1000,5000,10000 to see growth;
//                               BENCH_BURST=100 BENCH_LIFECYCLE=100 BENCH_IDLE_SECONDS=60
//                               BENCH_FILL_INIT=200 BENCH_CONCURRENCY=16 BENCH_WEBHOOKS=100
//                               BENCH_UI_RUNS=5; BENCH_PROFILE=<dir>: the operator's CPU profile
//                               of the burst)
// A preview here is the smallest one a template can describe: a Preview, its initialize Job (one
// pod that ends at once), a Deployment (1 container, 0 replicas while stopped) and a Service; no
// build, no Ingress, no cleanup Job, no extra resources.
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { sign } from '@octokit/webhooks-methods';
import { PREVIEW_REPOSITORIES, PREVIEW_TEMPLATES, PREVIEWS } from '../src/controllers/preview/model.ts';
import { SECRETS } from '../src/github/secrets.ts';
import { type KubeClient, type KubeObject, type ResourceRef, Resources } from '../src/runtime/kube-client.ts';
import { inParallel } from '../src/runtime/parallel.ts';
import { waitFor } from '../src/runtime/wait.ts';
import { chromiumMissing, launchChromium } from '../test/support/browser.ts';
import { forRepository, pullRequest } from '../test/support/github-examples.ts';
import { postWebhook } from '../test/support/github-webhooks.ts';
import { burstFloor } from './burst-floor.ts';
import { BurstTimeline } from './burst-timeline.ts';
import { CpuProfile, inspectFlag } from './cpu-profile.ts';
import { installCrdsFor } from './crds.ts';
import { PreviewSampler } from './preview-sampler.ts';
import {
  benchCluster,
  cpuSeconds,
  endBench,
  ensureNamespace,
  fmt,
  metricSum,
  percentile,
  rssMiB,
  scrape,
  startOperatorProcess,
  table,
} from './support.ts';
import { type FirstPaint, uiFirstPaint } from './ui-paint.ts';

const env = process.env;
const sizes = (env.BENCH_SIZES ?? env.BENCH_PREVIEWS ?? '10000')
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
const total = sizes.at(-1) as number;
const MAX_RUNNING = 200;
const MAX_INITIALIZING = 20;
/** maxInitializing while filling (the cap is set back to 20 before anything is measured). */
const fillInit = Number(env.BENCH_FILL_INIT ?? 200);
const burst = Number(env.BENCH_BURST ?? 100);
const lifecycleCount = Number(env.BENCH_LIFECYCLE ?? 100);
const idleSeconds = Number(env.BENCH_IDLE_SECONDS ?? 60);
const concurrency = Number(env.BENCH_CONCURRENCY ?? 16);
const webhookCount = Number(env.BENCH_WEBHOOKS ?? 100);
const uiRuns = Number(env.BENCH_UI_RUNS ?? 5);
/** Previews held initializing: their init pods run until the end of the bench. */
const slowCount = MAX_INITIALIZING;
const runningWanted = Math.min(MAX_RUNNING, Math.floor(((sizes[0] as number) - slowCount) / 2));
if (!sizes.every((s) => Number.isInteger(s) && s > slowCount + 2))
  throw new Error(`BENCH_SIZES/BENCH_PREVIEWS: sizes above ${slowCount + 2}, got ${sizes}`);
const NS = 'bench-previews';
const KCM_NS = 'bench-kcm';
const SERVICES: ResourceRef = { group: '', version: 'v1', plural: 'services', namespaced: true };
const SETTLE_MS = 1_800_000;

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const range = (from: number, to: number) =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
const seconds = (ms: number) => fmt(ms / 1000, 1);

// Pods at once: running previews, init pods while filling, the lifecycle's and the burst's.
const nodes = Math.ceil((MAX_RUNNING + fillInit + Math.max(burst, lifecycleCount, webhookCount)) / 100) + 1;
const cluster = await benchCluster('previews', nodes);
const { state, client } = cluster;
const pids = {
  kcm: state.components['kube-controller-manager'].pid,
  apiserver: state.components['kube-apiserver'].pid,
  etcd: state.components.etcd.pid,
  scheduler: state.components['kube-scheduler'].pid,
  kwok: state.components.kwok.pid,
};
await installCrdsFor(client);
await ensureNamespace(client, NS);
await ensureNamespace(client, KCM_NS);
await widenServiceRange(client, total + burst + lifecycleCount + webhookCount);

// Two templates: `fast` initializes at once; `slow` (the override of target branch `slow`)
// initializes until the bench ends, so that 20 previews are held initializing.
const app = { port: 8080, template: { spec: { containers: [{ name: 'web' }] } } };
const initialize = (annotations?: Record<string, string>) => ({
  template: {
    ...(annotations ? { metadata: { annotations } } : {}),
    spec: { containers: [{ name: 'init', args: ['seed'] }] },
  },
});
// `built` (repository `hook`, the webhook figure): a 2 s build Job, no initialization.
const build = {
  image: 'registry.example/hook:${shortCommit}',
  template: {
    metadata: { annotations: { 'kwok.bosun.dev/finish-after': '2s' } },
    spec: { containers: [{ name: 'build', image: 'kaniko', args: ['--destination=${image}'] }] },
  },
};
for (const [name, spec] of [
  ['fast', { initialize: initialize(), app }],
  ['slow', { initialize: initialize({ 'kwok.bosun.dev/finish-after': '24h' }), app }],
  ['built', { build, app }],
] as const)
  await client.apply(PREVIEW_TEMPLATES, {
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'PreviewTemplate',
    metadata: { name, namespace: NS },
    spec,
  });
const repository = (name: string, capacity: Record<string, number>): KubeObject => ({
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'PreviewRepository',
  metadata: { name, namespace: NS },
  spec: {
    repository: `acme/${name}`,
    template: 'fast',
    image: 'registry.example/shop:1',
    pullRequestTargets: ['main'],
    overrides: [{ branches: ['slow'], template: 'slow' }],
    capacity,
  },
});
await client.apply(
  PREVIEW_REPOSITORIES,
  repository('shop', { maxDeployed: total, maxRunning: MAX_RUNNING, maxInitializing: fillInit }),
);
await client.apply(
  PREVIEW_REPOSITORIES,
  repository('life', {
    maxDeployed: lifecycleCount,
    maxRunning: lifecycleCount,
    maxInitializing: MAX_INITIALIZING,
  }),
);
// Repository `hook`: previews per pull request from signed webhooks, caps that never hold one back.
const hookSecret = randomBytes(20).toString('hex');
await client.apply(SECRETS, {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'hook-webhook', namespace: NS },
  data: { secret: Buffer.from(hookSecret).toString('base64') },
});
await client.apply(PREVIEW_REPOSITORIES, {
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'PreviewRepository',
  metadata: { name: 'hook', namespace: NS },
  spec: {
    repository: 'acme/hook',
    template: 'built',
    pullRequestTargets: ['main'],
    previewPer: 'PullRequest',
    webhookSecretRef: { name: 'hook-webhook', key: 'secret' },
    capacity: { maxDeployed: webhookCount, maxRunning: 1, maxInitializing: webhookCount },
  },
});
const setInitCap = (maxInitializing: number) =>
  client.mergePatch(PREVIEW_REPOSITORIES, NS, 'shop', { spec: { capacity: { maxInitializing } } });

/** A pull-request preview (never sticky, so maxDeployed may undeploy it). */
const preview = (repo: string, name: string, pr: number, target = 'main', running = false): KubeObject => ({
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'Preview',
  metadata: { name, namespace: NS },
  spec: {
    repository: repo,
    branch: `fix-${pr}`,
    targetBranch: target,
    pullRequest: pr,
    commit: pr.toString(16).padStart(10, 'a'),
    ...(running ? { state: 'Running' } : {}),
  },
});

const sampler = new PreviewSampler(client, NS, 'shop');
await sampler.start();
const metricsPort = 20080 + Math.floor(Math.random() * 1000);
const httpUrl = `http://127.0.0.1:${metricsPort + 1000}`;
const profileDir = env.BENCH_PROFILE;
const inspectPort = metricsPort + 2000;
const operator = startOperatorProcess(
  state.kubeconfig,
  [
    `--namespace=${NS}`,
    `--metrics-bind-address=127.0.0.1:${metricsPort}`,
    '--health-probe-bind-address=0',
    `--http-address=127.0.0.1:${metricsPort + 1000}`,
    '--public-reads',
  ],
  profileDir ? [inspectFlag(inspectPort)] : [],
);
await waitFor(() => scrape(metricsPort), { what: 'operator metrics', timeoutMs: 60_000 });
await sleep(5000); // caches listed, the first passes over the empty repositories done
const startRss = rssMiB(operator.pid as number);
const startHeap = metricSum(await scrape(metricsPort), 'nodejs_heap_size_used_bytes') / 2 ** 20;
const startOthers = { kcm: rssMiB(pids.kcm), apiserver: rssMiB(pids.apiserver), etcd: rssMiB(pids.etcd) };
const kcmMetrics = await scrapeKcm().catch((e) => {
  log(`kube-controller-manager metrics not readable (${(e as Error).message}): its request counts are n/a`);
  return undefined;
});

// --- Counters -------------------------------------------------------------------------------
interface Counts {
  at: number;
  requests: number;
  writes: number;
  passes: number;
  passSeconds: number;
  planSeconds: number;
  requestSeconds: number;
  timedRequests: number;
  kcmRequests: number;
  kcmWrites: number;
}
const WRITE_VERBS = ['POST', 'PUT', 'PATCH', 'DELETE'];
const writesIn = (text: string) =>
  WRITE_VERBS.reduce((n, verb) => n + metricSum(text, 'rest_client_requests_total', `method="${verb}"`), 0);
async function counts(): Promise<Counts> {
  const op = await scrape(metricsPort);
  const kcm = kcmMetrics === undefined ? undefined : await scrapeKcm();
  return {
    at: Date.now(),
    requests: metricSum(op, 'rest_client_requests_total'),
    writes: writesIn(op),
    passes: metricSum(op, 'controller_runtime_reconcile_time_seconds_count', 'controller="preview"'),
    passSeconds: metricSum(op, 'controller_runtime_reconcile_time_seconds_sum', 'controller="preview"'),
    planSeconds: metricSum(op, 'bosun_preview_pass_plan_seconds_sum'),
    requestSeconds: metricSum(op, 'rest_client_request_duration_seconds_sum'),
    timedRequests: metricSum(op, 'rest_client_request_duration_seconds_count'),
    kcmRequests: kcm ? metricSum(kcm, 'rest_client_requests_total') : Number.NaN,
    kcmWrites: kcm ? writesIn(kcm) : Number.NaN,
  };
}
const delta = (a: Counts, b: Counts) => ({
  ms: b.at - a.at,
  requests: b.requests - a.requests,
  writes: b.writes - a.writes,
  passes: b.passes - a.passes,
  meanPassMs: ((b.passSeconds - a.passSeconds) / Math.max(1, b.passes - a.passes)) * 1000,
  meanPlanMs: ((b.planSeconds - a.planSeconds) / Math.max(1, b.passes - a.passes)) * 1000,
  meanRequestMs:
    ((b.requestSeconds - a.requestSeconds) / Math.max(1, b.timedRequests - a.timedRequests)) * 1000,
  kcmRequests: b.kcmRequests - a.kcmRequests,
  kcmWrites: b.kcmWrites - a.kcmWrites,
});

/** Waits until the operator has written nothing for `quietMs` and its preview queue is empty. */
async function quiet(quietMs = 3000): Promise<void> {
  let last = await counts();
  let since = Date.now();
  await waitFor(
    async () => {
      const now = await counts();
      const op = await scrape(metricsPort);
      const depth =
        metricSum(op, 'workqueue_depth', 'name="preview"') +
        metricSum(op, 'workqueue_depth', 'name="preview-undeploy"');
      if (now.writes !== last.writes || depth > 0) {
        last = now;
        since = Date.now();
      }
      return Date.now() - since >= quietMs || { pending: `queue depth ${depth}, still writing` };
    },
    { what: 'the operator to be quiet', timeoutMs: SETTLE_MS, intervalMs: 500 },
  );
}

const phaseOf = (name: string) => sampler.phases.get(name);
async function waitNames(names: string[], ok: (phase: string | undefined) => boolean, what: string) {
  await waitFor(
    async () => {
      const missing = names.filter((n) => !ok(phaseOf(n)));
      return (
        missing.length === 0 || {
          pending: `${missing.length}/${names.length} left, e.g. ${missing[0]} (${phaseOf(missing[0] as string)})`,
        }
      );
    },
    { what, timeoutMs: SETTLE_MS, intervalMs: 250 },
  );
}
const createAll = (objects: KubeObject[], limit = concurrency) =>
  inParallel(objects, limit, async (o) => {
    await client.create(PREVIEWS, o);
  });
const patchAll = (names: string[], patch: object) =>
  inParallel(names, concurrency, async (n) => {
    await client.mergePatch(PREVIEWS, NS, n, patch);
  });
const deleteAll = (names: string[]) =>
  inParallel(names, concurrency, async (n) => {
    await client.delete(PREVIEWS, NS, n);
  });

// --- 1. API requests per preview lifecycle (repository `life`), and a bare Deployment's --------
log(`lifecycle of ${lifecycleCount} previews`);
const lifeNames = range(0, lifecycleCount).map((i) => `life-pr${i + 1}`);
const lifeSteps: [string, () => Promise<void>][] = [
  [
    'create → Stopped (initialized)',
    async () => {
      await createAll(lifeNames.map((n, i) => preview('life', n, i + 1)));
      await waitNames(lifeNames, (p) => p === 'Stopped', 'lifecycle previews Stopped');
    },
  ],
  [
    'start → Running',
    async () => {
      await patchAll(lifeNames, { spec: { state: 'Running' } });
      await waitNames(lifeNames, (p) => p === 'Running', 'lifecycle previews Running');
    },
  ],
  [
    'stop → Stopped (pods gone)',
    async () => {
      await patchAll(lifeNames, { spec: { state: 'Stopped' } });
      await waitNames(lifeNames, (p) => p === 'Stopped', 'lifecycle previews Stopped again');
    },
  ],
  [
    'undeploy → gone (nothing labelled left)',
    async () => {
      await deleteAll(lifeNames);
      await waitNames(lifeNames, (p) => p === undefined, 'lifecycle previews gone');
    },
  ],
];
const lifeRows: ReturnType<typeof delta>[] = [];
for (const [, step] of lifeSteps) {
  const before = await counts();
  await step();
  await quiet();
  lifeRows.push(delta(before, await counts()));
}
log(`lifecycle of ${lifecycleCount} bare Deployments + Services through kube-controller-manager`);
const kcmRows = await kcmLifecycle(lifecycleCount);

// --- 2. Previews held: fill to each size, settle, measure ------------------------------------
const heldRows: (string | number)[][] = [
  [
    '0 (operator started)',
    '',
    '',
    fmt(startRss),
    fmt(startHeap),
    fmt(startOthers.kcm),
    fmt(startRss / startOthers.kcm, 2),
    fmt(startOthers.apiserver),
    fmt(startOthers.etcd),
    '',
    '',
    '',
  ],
];
let filled = 0;
let slowNames: string[] = [];
for (const [sizeIndex, size] of sizes.entries()) {
  const before = await counts();
  const started = Date.now();
  if (slowNames.length) {
    await deleteAll(slowNames);
    await waitNames(slowNames, (p) => p === undefined, 'the initializing previews undeployed');
  }
  await setInitCap(fillInit);
  const fast = range(filled, size - slowCount);
  log(
    `filling: ${fast.length} previews (${filled} → ${size - slowCount}), then ${slowCount} held initializing`,
  );
  const fastNames = fast.map((i) => `shop-pr${i + 1}`);
  let createdCount = 0;
  const progress = setInterval(() => {
    const c = sampler.phaseCounts();
    log(
      `  ${createdCount}/${fast.length} created, phases ${JSON.stringify(c)}, operator RSS ${fmt(rssMiB(operator.pid as number), 0)} MiB, ` +
        `kube-apiserver ${fmt(rssMiB(pids.apiserver), 0)} MiB, etcd ${fmt(rssMiB(pids.etcd), 0)} MiB`,
    );
  }, 15_000);
  await inParallel(fast, concurrency, async (i) => {
    await client.create(PREVIEWS, preview('shop', `shop-pr${i + 1}`, i + 1, 'main', i < runningWanted));
    createdCount++;
  });
  await waitNames(
    fastNames,
    (p) => p === 'Stopped' || p === 'Running',
    `${fast.length} previews initialized`,
  );
  filled = size - slowCount;
  await setInitCap(MAX_INITIALIZING);
  slowNames = range(0, slowCount).map((k) => `shop-slow${sizeIndex}-${k}`);
  await createAll(slowNames.map((n, k) => preview('shop', n, 1_000_000 + sizeIndex * 1000 + k, 'slow')));
  const want = { Running: runningWanted, Initializing: slowCount, Stopped: size - slowCount - runningWanted };
  await waitFor(
    async () => {
      const c = sampler.phaseCounts();
      const ok =
        Object.entries(want).every(([phase, n]) => c[phase] === n) &&
        Object.values(c).reduce((a, b) => a + b, 0) === size &&
        sampler.current.initializing === slowCount;
      return ok || { pending: `phases ${JSON.stringify(c)}, want ${JSON.stringify(want)}` };
    },
    { what: `${size} previews settled`, timeoutMs: SETTLE_MS, intervalMs: 250 },
  );
  const settledMs = Date.now() - started;
  clearInterval(progress);
  await quiet();
  await sleep(5000);
  const d = delta(before, await counts());
  const noop = await noopPasses();
  const op = await scrape(metricsPort);
  const opRss = rssMiB(operator.pid as number);
  const kcmRss = rssMiB(pids.kcm);
  heldRows.push([
    size,
    `${runningWanted} / ${sampler.current.initializing}`,
    seconds(settledMs),
    fmt(opRss),
    fmt(metricSum(op, 'nodejs_heap_size_used_bytes') / 2 ** 20),
    fmt(kcmRss),
    fmt(opRss / kcmRss, 2),
    fmt(rssMiB(pids.apiserver)),
    fmt(rssMiB(pids.etcd)),
    d.passes,
    fmt(d.meanPassMs, 0),
    `${fmt(noop.meanPassMs, 0)} (${noop.writes})`,
  ]);
  log(`held ${size}: ${heldRows.at(-1)?.join(' | ')}`);
}

// --- 3. Idle writes -----------------------------------------------------------------------------
log(`idle for ${idleSeconds} s`);
const idleStart = await counts();
await sleep(idleSeconds * 1000);
const idle = delta(idleStart, await counts());

// --- 3b. The HTTP side at the largest size: the UI's first paint, webhooks → Building ----------
const paint = await uiPaint(`${httpUrl}/`);
const hooks = await webhookBurst();

// --- 4. A burst of new previews under the caps, at maxDeployed ----------------------------------
// The held initializing previews go first (they hold every init slot), so the burst finds
// slowCount free deploy slots and makes room for the rest by undeploying idle previews.
await deleteAll(slowNames);
await waitNames(slowNames, (p) => p === undefined, 'the initializing previews undeployed');
await quiet();
log(`burst of ${burst} previews at maxDeployed ${total}`);
const burstNames = range(0, burst).map((k) => `shop-burst-pr${2_000_000 + k}`);
sampler.resetMax();
const burstBefore = await counts();
const timeline = new BurstTimeline(burstNames);
const cpu = () => ({
  Bosun: cpuSeconds(operator.pid as number),
  'kube-apiserver': cpuSeconds(pids.apiserver),
  KCM: cpuSeconds(pids.kcm),
  etcd: cpuSeconds(pids.etcd),
  scheduler: cpuSeconds(pids.scheduler),
  kwok: cpuSeconds(pids.kwok),
  'this bench (its watches)': process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
});
const cpuBefore = cpu();
const profile = profileDir ? await CpuProfile.start(inspectPort) : undefined;
sampler.onPreviewEvent = (p) => timeline.seen(p);
sampler.onPreviewGone = (n) => timeline.gone(n);
const burstStart = Date.now();
await createAll(
  burstNames.map((n, k) => preview('shop', n, 2_000_000 + k)),
  burst,
);
await waitFor(
  async () => {
    const c = sampler.phaseCounts();
    const left = burstNames.filter((n) => phaseOf(n) !== 'Stopped');
    return (
      (left.length === 0 && !c.Undeploying && !c.Pending) || {
        pending: `${left.length} burst previews not Stopped, phases ${JSON.stringify(c)}`,
      }
    );
  },
  { what: 'the burst to converge', timeoutMs: SETTLE_MS, intervalMs: 100 },
);
const burstMs = Date.now() - burstStart;
if (profile && profileDir)
  log(`the operator's CPU profile of the burst: ${await profile.stop(profileDir, `burst-${total}`)}`);
const cpuAfter = cpu();
sampler.onPreviewEvent = undefined;
sampler.onPreviewGone = undefined;
const burstMax = { ...sampler.max };
await quiet();
const burstCost = delta(burstBefore, await counts());
const kcmBurstMs = await kcmBurst(burst);
const floorOptions = {
  count: burst,
  cap: MAX_INITIALIZING,
  room: burst - slowCount,
  concurrency,
  timeoutMs: SETTLE_MS,
};
log(
  'the burst floor: the same objects without Bosun, in an empty namespace, then in the previews’ namespace',
);
const floorEmptyMs = await burstFloor(client, KCM_NS, floorOptions);
const floorCpuBefore = cpu();
const floorMs = await burstFloor(client, NS, floorOptions);
const floorCpuAfter = cpu();
const finalRss = rssMiB(operator.pid as number);
const exited = new Promise((resolve) => operator.once('exit', resolve));
operator.kill('SIGTERM');
await Promise.race([exited, sleep(30_000)]);
sampler.stop();

// --- Tables -------------------------------------------------------------------------------------
const caps = { deployed: total, running: MAX_RUNNING, initializing: MAX_INITIALIZING };
const exceeded = (Object.keys(caps) as (keyof typeof caps)[]).filter((k) => burstMax[k] > caps[k]);
const per = (n: number, count: number) => fmt(n / count, 1);
const ms = (n: number) => fmt(n, 0);
const pct = (v: number[]) =>
  `${ms(percentile(v, 50))} / ${ms(percentile(v, 99))} / ${ms(percentile(v, 100))}`;
process.stdout.write(`\n${cluster.startingState}\n`);
process.stdout.write(
  table(
    `Previews held by one operator (repository caps maxDeployed ${total}, maxRunning ${MAX_RUNNING}, ` +
      `maxInitializing ${MAX_INITIALIZING}; filled with maxInitializing ${fillInit}, ${concurrency} creates at once)`,
    [
      'previews',
      'running / initializing',
      'time to settle s',
      'Bosun RSS MiB',
      'Bosun heap MiB',
      'KCM RSS MiB',
      'RSS ratio Bosun/KCM',
      'kube-apiserver RSS MiB',
      'etcd RSS MiB',
      'preview passes',
      'mean pass ms',
      'no-op pass ms (writes)',
    ],
    heldRows,
  ),
);
process.stdout.write(
  '\nA preview: Preview, initialize Job + its Succeeded pod, Deployment (1 container; 0 replicas unless running, + ReplicaSet), ' +
    'Service (+ EndpointSlice); no build, Ingress, cleanup or extra resources. ' +
    'Time to settle includes creating the previews and running their initialize Jobs. ' +
    "Passes and mean pass time are the preview controller's (one pass decides the caps over every preview of a repository, " +
    'then plans and acts on those whose inputs changed) while filling; ' +
    "a no-op pass is one caused by touching the repository's annotations once settled (nothing to do).\n",
);
const lifeTable = lifeSteps.map(([name], i) => {
  const b = lifeRows[i] as ReturnType<typeof delta>;
  const k = kcmRows[i];
  return [
    name,
    per(b.requests, lifecycleCount),
    per(b.writes, lifecycleCount),
    per(b.passes, lifecycleCount),
    per(b.kcmRequests, lifecycleCount),
    k ? per(k.kcmRequests, lifecycleCount) : 'n/a',
  ];
});
const sum = (rows: ReturnType<typeof delta>[], key: 'requests' | 'writes' | 'passes' | 'kcmRequests') =>
  rows.reduce((n, r) => n + r[key], 0);
lifeTable.push([
  'whole lifecycle',
  per(sum(lifeRows, 'requests'), lifecycleCount),
  per(sum(lifeRows, 'writes'), lifecycleCount),
  per(sum(lifeRows, 'passes'), lifecycleCount),
  per(sum(lifeRows, 'kcmRequests'), lifecycleCount),
  per(sum(kcmRows, 'kcmRequests'), lifecycleCount),
]);
process.stdout.write(
  table(
    `API requests per preview lifecycle (${lifecycleCount} previews at once, Bosun's rest_client_requests_total)`,
    [
      'step',
      'Bosun requests / preview',
      'of which writes',
      'preview passes / preview',
      'KCM requests / preview (same step)',
      'KCM requests / bare Deployment+Service (same step)',
    ],
    lifeTable,
  ),
);
process.stdout.write(
  table(
    `Burst of ${burst} new previews at maxDeployed ${total} (${slowCount} free slots, the rest by undeploying idle previews)`,
    ['figure', 'Bosun', 'kube-controller-manager', 'ratio'],
    [
      [
        `burst → all Stopped and the undeployed gone (s) / ${burst} Deployments 0 → 1 available (s)`,
        seconds(burstMs),
        seconds(kcmBurstMs),
        fmt(burstMs / kcmBurstMs, 2),
      ],
      [
        `  the floor: the same objects without Bosun (${burst} Deployments + Services + one-pod init Jobs, at most ${MAX_INITIALIZING} unfinished; ${floorOptions.room} older sets deleted), in an empty namespace (s)`,
        '',
        seconds(floorEmptyMs),
        fmt(burstMs / floorEmptyMs, 2),
      ],
      [
        `  the same floor in the previews' namespace, beside ${total} Services (s)`,
        '',
        seconds(floorMs),
        fmt(burstMs / floorMs, 2),
      ],
      [
        'max deployed / running / initializing while converging (caps)',
        `${burstMax.deployed} / ${burstMax.running} / ${burstMax.initializing} (${caps.deployed} / ${caps.running} / ${caps.initializing})`,
        '',
        '',
      ],
      [
        'preview passes while converging, mean pass ms (of which planning), mean API request ms',
        `${burstCost.passes}, ${fmt(burstCost.meanPassMs, 0)} (${fmt(burstCost.meanPlanMs, 0)}), ${fmt(burstCost.meanRequestMs, 0)}`,
        '',
        '',
      ],
      ['API requests while converging (writes)', `${burstCost.requests} (${burstCost.writes})`, '', ''],
      [
        `CPU seconds while converging (2 cores): ${Object.keys(cpuAfter).join(' / ')}`,
        (Object.keys(cpuAfter) as (keyof typeof cpuAfter)[])
          .map((k) => fmt(cpuAfter[k] - cpuBefore[k], 1))
          .join(' / '),
        (Object.keys(cpuAfter) as (keyof typeof cpuAfter)[])
          .map((k) => fmt(floorCpuAfter[k] - floorCpuBefore[k], 1))
          .join(' / '),
        '',
      ],
    ],
  ),
);
process.stdout.write(
  table(
    `Where the burst's time went: seconds after the first create, from the operator's writes as watched`,
    ['step', 'previews', 'p50 / max s'],
    timeline.rows(),
  ),
);
process.stdout.write(
  table(
    `Idle: ${idleSeconds} s after settling at ${total} previews`,
    ['figure', 'Bosun', 'kube-controller-manager'],
    [
      ['write requests (POST/PUT/PATCH/DELETE)', idle.writes, fmtCount(idle.kcmWrites)],
      ['all requests', idle.requests, fmtCount(idle.kcmRequests)],
      ['preview passes', idle.passes, ''],
      ['RSS MiB at the end', fmt(finalRss), fmt(rssMiB(pids.kcm))],
    ],
  ),
);
process.stdout.write(
  '\nKCM RSS is the whole kube-controller-manager (Deployments, ReplicaSets, Jobs, Pods, ...).\n',
);
process.stdout.write(
  table(
    `The operator's HTTP server (--http-address, --public-reads) at ${total} previews`,
    ['figure', 'Bosun'],
    [
      [
        `webhook → Building: ${webhookCount} signed pull_request "opened" (${webhookCount} pull requests) posted at once, p50 / p99 / max ms`,
        pct(hooks.latencies),
      ],
      [
        '  of which webhook → the Preview exists (its first watch event), p50 / p99 / max ms',
        pct(hooks.createdLatencies),
      ],
      [
        '  their answers (HTTP status × count); all answered after (ms)',
        `${hooks.answers}; ${ms(hooks.answeredMs)}`,
      ],
      paint
        ? [
            `web UI first paint at ${paint.previews} previews, median of ${paint.runs.length} (ms): first screen / snapshot parsed`,
            `${ms(median(paint.runs.map((r) => r.firstScreenMs)))} / ${ms(median(paint.runs.map((r) => r.snapshotMs)))}`,
          ]
        : ['web UI first paint', `n/a (${chromiumMissing()})`],
    ],
  ),
);
process.stdout.write(
  '\nWebhook → Building: from just before each POST to /webhooks/github to the first watch event of its ' +
    'preview with buildStatus building or phase Building (repository `hook`, its own caps, in the same namespace). ' +
    "First paint: headless Chromium, a fresh page per run after one warm-up, the page's own marks.\n",
);
if (exceeded.length) {
  process.stderr.write(`# a cap was exceeded during the burst: ${exceeded.join(', ')}\n`);
  await endBench(cluster, 1);
}
await endBench(cluster);

// --- Helpers ------------------------------------------------------------------------------------
function median(values: number[]): number {
  return percentile(values, 50);
}

/** The web UI's first paint from the operator's own server: a warm-up, then `uiRuns` runs. */
async function uiPaint(url: string): Promise<{ previews: number; runs: FirstPaint[] } | undefined> {
  const missing = chromiumMissing();
  if (missing) {
    log(`web UI first paint skipped: ${missing}`);
    return undefined;
  }
  log(`web UI first paint at ${total} previews, ${uiRuns} runs`);
  const browser = await launchChromium();
  try {
    await uiFirstPaint(url, { browser });
    const runs: FirstPaint[] = [];
    for (let i = 0; i < uiRuns; i++) runs.push(await uiFirstPaint(url, { browser }));
    return { previews: runs[0]?.previews ?? 0, runs };
  } finally {
    await browser.close();
  }
}

/**
 * `webhookCount` signed pull_request "opened" deliveries for as many pull requests of `acme/hook`,
 * posted at once; per preview, ms from just before its POST to the first watch event showing it
 * building. The previews are undeployed afterwards.
 */
async function webhookBurst(): Promise<{
  latencies: number[];
  createdLatencies: number[];
  answers: string;
  answeredMs: number;
}> {
  log(`${webhookCount} signed pull_request webhooks`);
  const deliveries = await Promise.all(
    range(0, webhookCount).map(async (k) => {
      const number = 3_000_000 + k;
      const p = pullRequest('opened');
      p.number = number;
      p.pull_request.number = number;
      p.pull_request.head.ref = `feature-${number}`;
      p.pull_request.head.sha = number.toString(16).padStart(40, 'b');
      p.pull_request.base.ref = 'main';
      p.pull_request.updated_at = new Date().toISOString();
      forRepository(p, 'acme/hook');
      const body = JSON.stringify(p);
      return { name: `hook-pr${number}`, body, signature: await sign(hookSecret, body) };
    }),
  );
  // One delivery first, as a server that has been up a while has read the Secret already.
  const ping = JSON.stringify({ zen: 'Keep it logically awesome.', repository: { full_name: 'acme/hook' } });
  const warm = await postWebhook(httpUrl, { event: 'ping', body: ping, secret: hookSecret });
  if (warm.status !== 200) throw new Error(`ping answered ${warm.status}: ${JSON.stringify(warm.body)}`);
  const sentAt = new Map<string, number>();
  const seenAt = new Map<string, number>();
  const createdAt = new Map<string, number>();
  sampler.onPreviewEvent = (p) => {
    const name = p.metadata.name as string;
    if (sentAt.has(name) && !createdAt.has(name)) createdAt.set(name, Date.now());
    if (sentAt.has(name) && !seenAt.has(name))
      if (p.status?.buildStatus === 'building' || p.status?.phase === 'Building')
        seenAt.set(name, Date.now());
  };
  const started = Date.now();
  const statuses = await Promise.all(
    deliveries.map(async (d) => {
      sentAt.set(d.name, Date.now());
      return (await postWebhook(httpUrl, { event: 'pull_request', body: d.body, signature: d.signature }))
        .status;
    }),
  );
  const answeredMs = Date.now() - started;
  const byStatus = new Map<number, number>();
  for (const s of statuses) byStatus.set(s, (byStatus.get(s) ?? 0) + 1);
  const answers = [...byStatus].map(([s, n]) => `${s} × ${n}`).join(', ');
  if (byStatus.get(202) !== webhookCount) throw new Error(`webhooks answered ${answers}`);
  await waitFor(
    async () => seenAt.size === webhookCount || { pending: `${seenAt.size}/${webhookCount} building` },
    {
      what: 'every webhook preview building',
      timeoutMs: SETTLE_MS,
      intervalMs: 100,
    },
  );
  sampler.onPreviewEvent = undefined;
  const after = (seen: Map<string, number>) =>
    deliveries.map((d) => (seen.get(d.name) as number) - (sentAt.get(d.name) as number));
  const latencies = after(seenAt);
  const createdLatencies = after(createdAt);
  const names = deliveries.map((d) => d.name);
  await deleteAll(names);
  await waitNames(names, (p) => p === undefined, 'the webhook previews undeployed');
  return { latencies, createdLatencies, answers, answeredMs };
}

/** Passes with nothing to do: an annotation of the repository touched, one pass at a time. */
async function noopPasses(times = 5): Promise<ReturnType<typeof delta>> {
  const before = await counts();
  for (let k = 0; k < times; k++) {
    const passes = (await counts()).passes;
    await client.mergePatch(PREVIEW_REPOSITORIES, NS, 'shop', {
      metadata: { annotations: { 'bench.bosun.dev/touch': `${Date.now()}-${k}` } },
    });
    await waitFor(async () => (await counts()).passes > passes || { pending: 'no pass yet' }, {
      what: 'a pass of the repository',
      timeoutMs: 300_000,
      intervalMs: 50,
    });
  }
  return delta(before, await counts());
}

function fmtCount(n: number): string {
  return Number.isFinite(n) ? String(n) : 'n/a';
}

/** The cluster's Service range is a /24: a ServiceCIDR adds room for one Service per preview. */
async function widenServiceRange(client: KubeClient, services: number): Promise<void> {
  if (services < 200) return;
  const ref: ResourceRef = {
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'servicecidrs',
    namespaced: false,
  };
  await client.apply(ref, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'ServiceCIDR',
    metadata: { name: 'bench-previews' },
    spec: { cidrs: ['10.96.0.0/16'] },
  });
  await waitFor(
    async () =>
      (await client.get(ref, undefined, 'bench-previews')).status?.conditions?.some(
        (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
      ),
    { what: 'the ServiceCIDR bench-previews Ready' },
  );
}

/** kube-controller-manager's /metrics (allowed without authorization on the dev cluster). */
function scrapeKcm(): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: state.ports.controllerManager,
        path: '/metrics',
        rejectUnauthorized: false, // the dev cluster's own certificate, on loopback
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function bare(i: number): KubeObject[] {
  const labels = { app: `bare-${i}` };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `bare-${i}`, namespace: KCM_NS, labels: { bench: 'kcm' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'web', image: 'registry.example/shop:1' }] },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `bare-${i}`, namespace: KCM_NS },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
  ];
}

async function kcmDeployments(what: string, ok: (d: KubeObject) => boolean, count: number) {
  await waitFor(
    async () => {
      const list = (await client.list(Resources.deployments, KCM_NS, { labelSelector: 'bench=kcm' })).items;
      const done = list.filter(ok).length;
      return (
        (list.length === count && done === count) || { pending: `${done}/${count} (${list.length} exist)` }
      );
    },
    { what, timeoutMs: SETTLE_MS, intervalMs: 100 },
  );
}
function observed(d: KubeObject): boolean {
  return d.status?.observedGeneration === d.metadata.generation;
}
function scaleAll(count: number, replicas: number): Promise<void> {
  return inParallel(range(0, count), concurrency, async (i) => {
    await client.mergePatch(Resources.deployments, KCM_NS, `bare-${i}`, { spec: { replicas } });
  });
}

/** The same steps for bare Deployments + Services: what kube-controller-manager requests for them. */
async function kcmLifecycle(count: number): Promise<ReturnType<typeof delta>[]> {
  if (kcmMetrics === undefined) return [];
  const rows: ReturnType<typeof delta>[] = [];
  const step = async (work: () => Promise<void>) => {
    const before = await counts();
    await work();
    await sleep(3000); // let trailing status writes land
    rows.push(delta(before, await counts()));
  };
  await step(async () => {
    await inParallel(range(0, count), concurrency, async (i) => {
      const [deployment, service] = bare(i) as [KubeObject, KubeObject];
      await client.create(SERVICES, service);
      await client.create(Resources.deployments, deployment);
    });
    await kcmDeployments('bare Deployments observed', observed, count);
  });
  await step(async () => {
    await scaleAll(count, 1);
    await kcmDeployments(
      'bare Deployments available',
      (d) => observed(d) && d.status?.availableReplicas === 1,
      count,
    );
  });
  await step(async () => {
    await scaleAll(count, 0);
    await kcmDeployments('bare Deployments scaled to 0', (d) => observed(d) && !d.status?.replicas, count);
  });
  await step(async () => {
    await inParallel(range(0, count), concurrency, async (i) => {
      await client.delete(Resources.deployments, KCM_NS, `bare-${i}`, 'Background');
      await client.delete(SERVICES, KCM_NS, `bare-${i}`);
    });
    await waitFor(
      async () => {
        const left =
          (await client.list(Resources.pods, KCM_NS)).items.length +
          (await client.list(Resources.replicaSets, KCM_NS)).items.length;
        return left === 0 || { pending: `${left} pods and ReplicaSets left` };
      },
      { what: 'bare Deployments gone', timeoutMs: SETTLE_MS, intervalMs: 250 },
    );
  });
  return rows;
}

/** Deployments created at 0, then all scaled to 1 at once: ms until every one is available. */
async function kcmBurst(count: number): Promise<number> {
  await inParallel(range(0, count), concurrency, async (i) => {
    await client.create(Resources.deployments, bare(i)[0] as KubeObject);
  });
  await kcmDeployments('burst Deployments observed', observed, count);
  const started = Date.now();
  await scaleAll(count, 1);
  await kcmDeployments(
    'burst Deployments available',
    (d) => observed(d) && d.status?.availableReplicas === 1,
    count,
  );
  return Date.now() - started;
}
