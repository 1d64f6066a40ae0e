// Benchmark of DeploymentHook: Deployments in namespaces, each matched by a hook, rolled out in
// waves. Measures, from one observer's watch, the delay from the status update that completed a
// rollout to the hook Job's creation; beside it, kube-controller-manager's delay from a Job's
// creation to its first Pod in the same run. Also API requests per hook run and operator RSS.
//   npm run bench:hooks     (BENCH_DEPLOYMENTS=1000 BENCH_NAMESPACES=10 BENCH_WAVES=5)
import { setTimeout as sleep } from 'node:timers/promises';
import { HOOKS } from '../src/controllers/deploymenthook/controller.ts';
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

const total = Number(process.env.BENCH_DEPLOYMENTS ?? 1000);
const namespaces = Number(process.env.BENCH_NAMESPACES ?? 10);
const waves = Number(process.env.BENCH_WAVES ?? 5);
const perNs = total / namespaces;
const nsName = (i: number) => `bench-hook-${i}`;

// Room for a surge pod per Deployment during a rolling update, plus the hook pods.
const cluster = await benchCluster('hooks', Math.ceil((total * 3) / 100) + 2);
const { state, client } = cluster;
await installCrdsFor(client);
for (let i = 0; i < namespaces; i++) await ensureNamespace(client, nsName(i));

// Observer: when each rollout completed, when its hook Job appeared, when each Job's first Pod appeared.
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
for (const c of [deployments, jobs, pods]) c.start();
await Promise.all([deployments.synced, jobs.synced, pods.synced]);

const metricsPort = 18080 + Math.floor(Math.random() * 1000);
const operator = startOperatorProcess(state.kubeconfig, [
  `--namespace=${Array.from({ length: namespaces }, (_, i) => nsName(i)).join(',')}`,
  `--metrics-bind-address=127.0.0.1:${metricsPort}`,
  '--health-probe-bind-address=0',
  '--workers=8',
]);
await waitFor(() => scrape(metricsPort), { what: 'operator metrics', timeoutMs: 30_000 });

const template = {
  spec: { spec: { containers: [{ name: 'migrate', image: 'registry.example/migrate:1' }] } },
};
for (let i = 0; i < namespaces; i++) {
  await client.apply(HOOKS, {
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'DeploymentHook',
    metadata: { name: 'migrate', namespace: nsName(i) },
    spec: { selector: { matchLabels: { bench: 'hook' } }, template, ttlSecondsAfterFinished: 30 },
  });
}
const deployment = (ns: string, i: number, version: number): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: `app-${i}`, namespace: ns, labels: { bench: 'hook' } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: `app-${i}` } },
    template: {
      metadata: { labels: { app: `app-${i}` } },
      spec: { containers: [{ name: 'web', image: `registry.example/app:${version}` }] },
    },
  },
});
const all = Array.from({ length: namespaces }, (_, n) =>
  Array.from({ length: perNs }, (_, i) => [nsName(n), i] as const),
).flat();

const before = await scrape(metricsPort);
const started = Date.now();
for (let wave = 1; wave <= waves; wave++) {
  process.stderr.write(`# wave ${wave}/${waves}: rolling out ${all.length} Deployments\n`);
  await inParallel(all, 32, async ([ns, i]) => {
    await client.apply(Resources.deployments, deployment(ns, i, wave));
  });
  const want = all.length * wave;
  await waitFor(
    async () =>
      jobAt.size >= want || {
        pending: `${jobAt.size}/${want} hook Jobs, ${completedAt.size} rollouts complete`,
      },
    { what: `wave ${wave} hook Jobs`, timeoutMs: 900_000, intervalMs: 500 },
  );
}
const elapsed = (Date.now() - started) / 1000;
await sleep(2000);
const after = await scrape(metricsPort);
const runs =
  metricSum(after, 'bosun_hook_runs_total', 'result="started"') -
  metricSum(before, 'bosun_hook_runs_total', 'result="started"');
const requests =
  metricSum(after, 'rest_client_requests_total') - metricSum(before, 'rest_client_requests_total');
const operatorRss = rssMiB(operator.pid as number);
operator.kill('SIGTERM');

const hookDelays = [...jobAt].flatMap(([key, at]) =>
  completedAt.has(key) ? [at - (completedAt.get(key) as number)] : [],
);
const podDelays = [...jobCreatedAt].flatMap(([key, at]) =>
  firstPodAt.has(key) ? [(firstPodAt.get(key) as number) - at] : [],
);
const row = (name: string, v: number[]) => [
  name,
  v.length,
  fmt(percentile(v, 50)),
  fmt(percentile(v, 99)),
  fmt(Math.max(...v)),
];
process.stdout.write(`\n${cluster.startingState}\n`);
process.stdout.write(
  table(
    `DeploymentHook: ${all.length} Deployments in ${namespaces} namespaces, ${waves} waves (${elapsed.toFixed(0)} s)`,
    ['reaction (observed by one watcher)', 'n', 'p50 ms', 'p99 ms', 'max ms'],
    [
      row('Bosun: rollout complete → hook Job created', hookDelays),
      row('kube-controller-manager: Job created → first Pod', podDelays),
    ],
  ),
);
process.stdout.write(
  table(
    'Cost',
    ['figure', 'value'],
    [
      [
        'p50 ratio Bosun / kube-controller-manager',
        fmt(percentile(hookDelays, 50) / percentile(podDelays, 50), 2),
      ],
      [
        'p99 ratio Bosun / kube-controller-manager',
        fmt(percentile(hookDelays, 99) / percentile(podDelays, 99), 2),
      ],
      ['hook runs started', runs],
      ['API requests per hook run (all verbs)', fmt(requests / runs, 2)],
      ['operator RSS MiB', fmt(operatorRss)],
      ['kube-controller-manager RSS MiB', fmt(rssMiB(state.components['kube-controller-manager'].pid))],
    ],
  ),
);
for (const c of [deployments, jobs, pods]) c.stop();
await endBench(cluster);
