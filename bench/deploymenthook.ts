// Benchmark of DeploymentHook: Deployments in namespaces, matched by hooks, rolled out in waves, at
// one or more sizes (each with its own namespaces and operator process). Measures, from one
// observer's watch, the delay from the status update that completed a rollout to the hook Job's
// creation; beside it, kube-controller-manager's delay from a Job's creation to its first Pod.
// Also API requests per hook run over each run's whole life (start to recorded result and released
// finalizer), operator RSS while working and after idling, and the operator's writes while idle.
//   npm run bench:hooks
//   BENCH_DEPLOYMENTS=1000,10000   Deployments, one size after the other (default 1000)
//   BENCH_HOOKS=10           hooks per size, spread over the namespaces (default: one per namespace;
//                            BENCH_HOOKS=1000 at size 1000 gives each Deployment its own hook)
//   BENCH_NAMESPACES=10 BENCH_WAVES=5
//   BENCH_IDLE_SECONDS=600   how long the settled operator is watched for writes
import { setTimeout as sleep } from 'node:timers/promises';
import { HOOKS } from '../src/controllers/deploymenthook/controller.ts';
import { RESULT_FINALIZER } from '../src/controllers/deploymenthook/labels.ts';
import { rolloutState } from '../src/controllers/deploymenthook/rollout.ts';
import { type KubeObject, Resources } from '../src/runtime/kube-client.ts';
import { silentLogger } from '../src/runtime/log.ts';
import { inParallel } from '../src/runtime/parallel.ts';
import { waitFor } from '../src/runtime/wait.ts';
import { WatchCache } from '../src/runtime/watch-cache.ts';
import { installCrdsFor } from './crds.ts';
import {
  benchCluster,
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

const sizes = (process.env.BENCH_DEPLOYMENTS ?? '1000').split(',').map(Number);
const namespaces = Number(process.env.BENCH_NAMESPACES ?? 10);
const hooksPerNs = Math.max(1, Math.round(Number(process.env.BENCH_HOOKS ?? namespaces) / namespaces));
const waves = Number(process.env.BENCH_WAVES ?? 5);
const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 600);
const WRITE_VERBS = ['POST', 'PUT', 'PATCH', 'DELETE'];

// Room for a surge pod per Deployment during a rolling update, plus the hook pods.
const cluster = await benchCluster('hooks', Math.ceil((Math.max(...sizes) * 3) / 100) + 2);
const { state, client } = cluster;
await installCrdsFor(client);
const say = (line: string) => process.stderr.write(`# ${line}\n`);

// Observer: when each rollout completed, when its hook Job appeared, when each Job's first Pod
// appeared; the hooks' status and the Jobs still holding the result finalizer.
const completedAt = new Map<string, number>();
const jobAt = new Map<string, number>();
const jobCreatedAt = new Map<string, number>();
const firstPodAt = new Map<string, number>();
const deployments = new WatchCache(client, Resources.deployments, {
  labelSelector: 'bench=hook',
  log: silentLogger,
});
deployments.onEvent((e) => {
  if (e.type === 'deleted') return;
  const s = rolloutState(e.object);
  const key = `${e.object.metadata.namespace}/${e.object.metadata.name}@${s.revision}`;
  if (s.phase === 'Complete' && !completedAt.has(key)) completedAt.set(key, Date.now());
});
const jobs = new WatchCache(client, Resources.jobs, { labelSelector: 'bosun.dev/hook', log: silentLogger });
jobs.onEvent((e) => {
  if (e.type !== 'added') return;
  const l = e.object.metadata.labels ?? {};
  jobAt.set(
    `${e.object.metadata.namespace}/${l['bosun.dev/deployment']}@${l['bosun.dev/revision']}`,
    Date.now(),
  );
  jobCreatedAt.set(`${e.object.metadata.namespace}/${e.object.metadata.name}`, Date.now());
});
const pods = new WatchCache(client, Resources.pods, {
  labelSelector: 'batch.kubernetes.io/job-name',
  log: silentLogger,
});
pods.onEvent((e) => {
  if (e.type !== 'added') return;
  const key = `${e.object.metadata.namespace}/${e.object.metadata.labels?.['batch.kubernetes.io/job-name']}`;
  if (!firstPodAt.has(key)) firstPodAt.set(key, Date.now());
});
const hooks = new WatchCache(client, HOOKS, { log: silentLogger });
const caches = [deployments, jobs, pods, hooks];
for (const c of caches) c.start();
await Promise.all(caches.map((c) => c.synced));

interface Result {
  size: number;
  hooks: number;
  seconds: number;
  hookDelays: number[];
  podDelays: number[];
  runs: number;
  requests: Record<string, number>;
  rssWorking: number;
  rssIdle: number;
  idleWrites: number;
}

const template = {
  spec: { spec: { containers: [{ name: 'migrate', image: 'registry.example/migrate:1' }] } },
};
const deployment = (ns: string, i: number, version: number): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: `app-${i}`, namespace: ns, labels: { bench: 'hook', group: `g-${i % hooksPerNs}` } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: `app-${i}` } },
    template: {
      metadata: { labels: { app: `app-${i}` } },
      spec: { containers: [{ name: 'web', image: `registry.example/app:${version}` }] },
    },
  },
});
/** Requests by verb, all verbs, and by verb and response code ("PUT 409"). */
const requestsByVerb = (metrics: string): Record<string, number> => ({
  ...Object.fromEntries(
    WRITE_VERBS.map((m) => [m, metricSum(metrics, 'rest_client_requests_total', `method="${m}"`)]),
  ),
  all: metricSum(metrics, 'rest_client_requests_total'),
  ...Object.fromEntries(
    [...metrics.matchAll(/^rest_client_requests_total\{method="(\w+)",code="(\w+)"\} (\d+)/gm)].map((m) => [
      `${m[1]} ${m[2]}`,
      Number(m[3]),
    ]),
  ),
});
const writes = (r: Record<string, number>) => WRITE_VERBS.reduce((sum, m) => sum + (r[m] ?? 0), 0);

async function runSize(size: number): Promise<Result> {
  const nsNames = Array.from({ length: namespaces }, (_, i) => `bench-hook-${size}-${i}`);
  const perNs = size / namespaces;
  for (const ns of nsNames) await ensureNamespace(client, ns);
  const inScope = (o: KubeObject) => nsNames.includes(o.metadata.namespace as string);

  const metricsPort = 18080 + Math.floor(Math.random() * 1000);
  const operator = startOperatorProcess(state.kubeconfig, [
    `--namespace=${nsNames.join(',')}`,
    `--metrics-bind-address=127.0.0.1:${metricsPort}`,
    '--health-probe-bind-address=0',
    '--workers=8',
  ]);
  await waitFor(() => scrape(metricsPort), { what: 'operator metrics', timeoutMs: 180_000 });
  const pid = operator.pid as number;

  for (const ns of nsNames)
    for (let k = 0; k < hooksPerNs; k++)
      await client.apply(HOOKS, {
        apiVersion: 'bosun.dev/v1alpha1',
        kind: 'DeploymentHook',
        metadata: { name: `migrate-${k}`, namespace: ns },
        spec: {
          selector: { matchLabels: { bench: 'hook', group: `g-${k}` } },
          template,
          ttlSecondsAfterFinished: 30,
        },
      });
  const all = nsNames.flatMap((ns) => Array.from({ length: perNs }, (_, i) => [ns, i] as const));
  const keys = (wave: number) => all.map(([ns, i]) => `${ns}/app-${i}@${wave}`);

  let rssWorking = 0;
  const sampler = setInterval(() => {
    rssWorking = Math.max(rssWorking, rssMiB(pid));
  }, 1000);
  const before = requestsByVerb(await scrape(metricsPort));
  const started = Date.now();
  // A size too large to finish in the time at hand still shows how far it got and at what cost.
  const progress = setInterval(async () => {
    const metrics = await scrape(metricsPort).catch(() => '');
    const now = requestsByVerb(metrics);
    const runs = metricSum(metrics, 'bosun_hook_runs_total', 'result="started"');
    const recorded = hooks.list(inScope).reduce((n, h) => n + (h.status?.succeeded ?? 0), 0);
    say(
      `size ${size} at ${((Date.now() - started) / 1000).toFixed(0)} s: ${runs} hook runs started, ${recorded} results recorded, ` +
        `${fmt(((now.all ?? 0) - (before.all ?? 0)) / Math.max(1, runs), 2)} requests per run so far, operator RSS ${fmt(rssMiB(pid))} MiB (max ${fmt(rssWorking)})`,
    );
  }, 30_000);
  for (let wave = 1; wave <= waves; wave++) {
    say(`size ${size}, wave ${wave}/${waves}: rolling out ${all.length} Deployments`);
    await inParallel(all, 32, async ([ns, i]) => {
      await client.apply(Resources.deployments, deployment(ns, i, wave));
    });
    await waitFor(
      async () => {
        const created = keys(wave).filter((k) => jobAt.has(k)).length;
        return created >= all.length || { pending: `${created}/${all.length} hook Jobs` };
      },
      { what: `size ${size} wave ${wave} hook Jobs`, timeoutMs: 1_800_000, intervalMs: 1000 },
    );
  }
  const elapsed = (Date.now() - started) / 1000;
  // Every run's life ends with its result in the hook's status and the finalizer released.
  await waitFor(
    async () => {
      const succeeded = hooks.list(inScope).reduce((n, h) => n + (h.status?.succeeded ?? 0), 0);
      const held = jobs.list(inScope).filter((j) => j.metadata.finalizers?.includes(RESULT_FINALIZER)).length;
      return (succeeded === all.length && held === 0) || { pending: `${succeeded} succeeded, ${held} held` };
    },
    { what: `size ${size}: every result recorded`, timeoutMs: 1_800_000, intervalMs: 1000 },
  );
  clearInterval(sampler);
  clearInterval(progress);
  const settled = await scrape(metricsPort);
  const runs = metricSum(settled, 'bosun_hook_runs_total', 'result="started"');
  const after = requestsByVerb(settled);
  const requests = Object.fromEntries(Object.keys(after).map((m) => [m, (after[m] ?? 0) - (before[m] ?? 0)]));

  say(`size ${size}: idle for ${idleSeconds} s`);
  await sleep(idleSeconds * 1000);
  const idleWrites = writes(requestsByVerb(await scrape(metricsPort))) - writes(after);
  const rssIdle = rssMiB(pid);

  const hookDelays = keysOf(jobAt, nsNames).flatMap(([key, at]) =>
    completedAt.has(key) ? [at - (completedAt.get(key) as number)] : [],
  );
  const podDelays = keysOf(jobCreatedAt, nsNames).flatMap(([key, at]) =>
    firstPodAt.has(key) ? [(firstPodAt.get(key) as number) - at] : [],
  );
  const result: Result = {
    size,
    hooks: hooksPerNs * namespaces,
    seconds: elapsed,
    hookDelays,
    podDelays,
    runs,
    requests,
    rssWorking,
    rssIdle,
    idleWrites,
  };
  printSize(result);
  // Remove this size (with the operator still running, so no finalizer is left behind).
  say(`size ${size}: deleting its namespaces`);
  for (const ns of nsNames)
    await client.delete({ group: '', version: 'v1', plural: 'namespaces', namespaced: false }, undefined, ns);
  await waitFor(async () => deployments.list(inScope).length === 0 || { pending: 'Deployments remain' }, {
    what: `size ${size} namespaces deleted`,
    timeoutMs: 1_800_000,
    intervalMs: 2000,
  });
  operator.kill('SIGTERM');
  return result;
}

function keysOf(m: Map<string, number>, nsNames: string[]): [string, number][] {
  return [...m].filter(([key]) => nsNames.includes(key.slice(0, key.indexOf('/'))));
}

const row = (name: string, v: number[]) => [
  name,
  v.length,
  fmt(percentile(v, 50)),
  fmt(percentile(v, 99)),
  fmt(Math.max(...v)),
];
/** The tables of one size, printed as soon as it is measured. */
function printSize(r: Result) {
  const perRun = (n: number) => fmt(n / r.runs, 2);
  process.stdout.write(
    table(
      `DeploymentHook: ${r.size} Deployments, ${r.hooks} hooks in ${namespaces} namespaces, ${waves} waves (${r.seconds.toFixed(0)} s)`,
      ['reaction (observed by one watcher)', 'n', 'p50 ms', 'p99 ms', 'max ms'],
      [
        row('Bosun: rollout complete → hook Job created', r.hookDelays),
        row('kube-controller-manager: Job created → first Pod', r.podDelays),
      ],
    ),
  );
  process.stdout.write(
    table(
      `Cost at ${r.size} Deployments (requests counted from the first rollout until every result is recorded and released)`,
      ['figure', 'value'],
      [
        [
          'p50 ratio Bosun / kube-controller-manager',
          fmt(percentile(r.hookDelays, 50) / percentile(r.podDelays, 50), 2),
        ],
        [
          'p99 ratio Bosun / kube-controller-manager',
          fmt(percentile(r.hookDelays, 99) / percentile(r.podDelays, 99), 2),
        ],
        ['hook runs started', r.runs],
        ['API requests per hook run (all verbs)', perRun(r.requests.all ?? 0)],
        ['API writes per hook run', perRun(writes(r.requests))],
        ...WRITE_VERBS.map((m) => [`  ${m} per hook run`, perRun(r.requests[m] ?? 0)]),
        ['  of POST: Events per hook run (POSTs that are not Jobs)', perRun((r.requests.POST ?? 0) - r.runs)],
        [
          'requests by verb and response code, per hook run',
          Object.entries(r.requests)
            .filter(([k, n]) => k.includes(' ') && n > 0)
            .map(([k, n]) => `${k}: ${perRun(n)}`)
            .join(', '),
        ],
        [`API writes while idle (${idleSeconds} s, ${r.hooks} hooks)`, r.idleWrites],
        ['operator RSS MiB, working (max)', fmt(r.rssWorking)],
        [`operator RSS MiB, after ${idleSeconds} s idle`, fmt(r.rssIdle)],
      ],
    ),
  );
}

process.stdout.write(`\n${cluster.startingState}\n`);
const results: Result[] = [];
for (const size of sizes) results.push(await runSize(size));

if (results.length > 1) {
  const first = results[0] as Result;
  process.stdout.write(
    table(
      `Growth from ${first.size} to ${results.map((r) => r.size).join(', ')} Deployments (flat per object is the goal)`,
      [
        'Deployments',
        'hook p50 ms',
        'hook p99 ms',
        'requests / run',
        'RSS working MiB',
        'RSS idle MiB',
        'RSS KiB per added Deployment (working)',
      ],
      results.map((r) => [
        r.size,
        fmt(percentile(r.hookDelays, 50)),
        fmt(percentile(r.hookDelays, 99)),
        fmt((r.requests.all ?? 0) / r.runs, 2),
        fmt(r.rssWorking),
        fmt(r.rssIdle),
        r === first ? '' : fmt(((r.rssWorking - first.rssWorking) * 1024) / (r.size - first.size), 1),
      ]),
    ),
  );
}
process.stdout.write(
  `\nkube-controller-manager RSS MiB: ${fmt(rssMiB(state.components['kube-controller-manager'].pid))}\n`,
);
for (const c of caches) c.stop();
await endBench(cluster);
