// Benchmark of bounded watching (--hook-opt-in-label): operator memory with many Deployments of
// which few opt in to hooks, with and without the flag. Each mode starts a fresh operator and a
// fresh hook that selects the opted-in Deployments, waits until every one of them has run, and
// then reads the operator's RSS, V8 heap and cache sizes (the bosun_watch_cache_objects gauge).
// A baseline operator watching an empty namespace shows what the process needs without workloads.
//   npm run bench:bounded     (BENCH_DEPLOYMENTS=10000 BENCH_OPTED_IN=100)
import { setTimeout as sleep } from 'node:timers/promises';
import { HOOKS } from '../src/controllers/deploymenthook/controller.ts';
import { type KubeObject, Resources } from '../src/runtime/kube-client.ts';
import { waitFor } from '../src/runtime/wait.ts';
import { installCrdsFor } from './crds.ts';
import {
  benchCluster,
  createMany,
  endBench,
  ensureNamespace,
  fmt,
  metricSum,
  rssMiB,
  scrape,
  startOperatorProcess,
  table,
} from './support.ts';

const total = Number(process.env.BENCH_DEPLOYMENTS ?? 10_000);
const optedIn = Number(process.env.BENCH_OPTED_IN ?? 100);
const OPT_IN = 'apps.mx.com/deploymenthook';
const ns = 'bench-bounded';
const empty = 'bench-bounded-empty';

const cluster = await benchCluster('bounded', 2);
const { state, client } = cluster;
await installCrdsFor(client);
await ensureNamespace(client, ns);
await ensureNamespace(client, empty);

// Scaled to zero: no pods, but each object is the size of a real one (labels, env, probes).
const deployment = (i: number): KubeObject => {
  const hooked = i < optedIn;
  const labels = {
    app: `app-${i}`,
    team: `team-${i % 40}`,
    ...(hooked ? { hooked: 'true', [OPT_IN]: 'finished' } : {}),
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: `app-${i}`,
      namespace: ns,
      labels,
      annotations: { 'example.com/owner': `team-${i % 40}` },
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: `app-${i}` } },
      template: {
        metadata: { labels: { app: `app-${i}`, team: `team-${i % 40}` } },
        spec: {
          containers: [
            {
              name: 'web',
              image: `registry.example/app-${i}:2026.11.${i % 28}`,
              ports: [{ containerPort: 8080, name: 'http' }],
              env: Array.from({ length: 8 }, (_, k) => ({ name: `SETTING_${k}`, value: `value-${i}-${k}` })),
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
            },
          ],
        },
      },
    },
  };
};

process.stderr.write(`# creating ${total} Deployments (${optedIn} labelled ${OPT_IN})\n`);
const created = Date.now();
await createMany(
  client,
  Resources.deployments,
  Array.from({ length: total }, (_, i) => deployment(i)),
);
process.stderr.write(`# created in ${((Date.now() - created) / 1000).toFixed(0)} s\n`);

const template = {
  spec: { spec: { containers: [{ name: 'migrate', image: 'registry.example/migrate:1' }] } },
};

interface Result {
  mode: string;
  readyS: number;
  matched: number;
  rss: number;
  peak: number;
  heap: number;
  cached: number;
  requests: number;
}

async function measure(
  mode: string,
  hookName: string,
  args: string[],
  namespace = ns,
  hooked = optedIn,
): Promise<Result> {
  const metricsPort = 18080 + Math.floor(Math.random() * 1000);
  const started = Date.now();
  const operator = startOperatorProcess(state.kubeconfig, [
    `--namespace=${namespace}`,
    `--metrics-bind-address=127.0.0.1:${metricsPort}`,
    '--health-probe-bind-address=0',
    ...args,
  ]);
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB(operator.pid as number));
  }, 250);
  await waitFor(() => scrape(metricsPort), { what: 'operator metrics', timeoutMs: 60_000 });
  await client.apply(HOOKS, {
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'DeploymentHook',
    metadata: { name: hookName, namespace },
    spec: { selector: { matchLabels: { hooked: 'true' } }, template },
  });
  const hook = await waitFor(
    async () => {
      const h = await client.get(HOOKS, namespace, hookName);
      return h.status?.succeeded === hooked && h.status.matched === hooked
        ? h
        : { pending: `${h.status?.succeeded ?? 0}/${hooked} succeeded` };
    },
    { what: `${mode}: every opted-in Deployment's hook succeeded`, timeoutMs: 900_000, intervalMs: 1000 },
  );
  const readyS = (Date.now() - started) / 1000;
  // Let the cache gauge (every 5 s) and the heap settle before reading them.
  await sleep(10_000);
  const text = await scrape(metricsPort);
  const rss = rssMiB(operator.pid as number);
  clearInterval(sampler);
  operator.kill('SIGTERM');
  await new Promise((r) => operator.once('exit', r));
  await client.delete(HOOKS, namespace, hookName, 'Foreground');
  return {
    mode,
    readyS,
    matched: hook.status.matched,
    rss,
    peak: Math.max(peak, rss),
    heap: metricSum(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    cached: metricSum(text, 'bosun_watch_cache_objects', 'resource="deployments.apps"'),
    requests: metricSum(text, 'rest_client_requests_total'),
  };
}

const results = [
  await measure('baseline (empty namespace)', 'migrate-baseline', [], empty, 0),
  await measure('unbounded', 'migrate-unbounded', []),
  await measure('bounded', 'migrate-bounded', [`--hook-opt-in-label=${OPT_IN}`]),
];

process.stdout.write(`\n${cluster.startingState}\n`);
process.stdout.write(
  table(
    `Bounded watching: ${total} Deployments in one namespace, ${optedIn} labelled ${OPT_IN}; one hook selecting those ${optedIn}`,
    [
      'mode',
      'hook matched',
      'Deployments cached',
      'RSS MiB (settled)',
      'RSS MiB (peak)',
      'V8 heap used MiB',
      'API requests',
      'start → all hooks succeeded s',
    ],
    results.map((r) => [
      r.mode,
      r.matched,
      r.cached,
      fmt(r.rss),
      fmt(r.peak),
      fmt(r.heap),
      r.requests,
      fmt(r.readyS),
    ]),
  ),
);
process.stdout.write('\n');
await endBench(cluster);
