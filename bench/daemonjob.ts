// Benchmark of DaemonJob on a fleet of kwok nodes: time from creation to all per-node Jobs created
// and to Complete; in the same run, a DaemonSet with the same template reaching that many ready
// pods through kube-controller-manager. Also operator RSS, API requests and the status size.
//   npm run bench:daemonjob      (BENCH_NODES=1000)
import { DAEMONJOBS } from '../src/controllers/daemonjob/controller.ts';
import { type DaemonJobObject, planDaemonJob, templateHash } from '../src/controllers/daemonjob/plan.ts';
import { addNodes, listSimulatedNodes } from '../src/dev/nodes.ts';
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
  rssMiB,
  scrape,
  startOperatorProcess,
  table,
} from './support.ts';

const count = Number(process.env.BENCH_NODES ?? 1000);
const NS = 'bench-dj';
const POOL = 'bench-dj';

const cluster = await benchCluster('daemonjob', 3);
const { state, client } = cluster;
await installCrdsFor(client);
await ensureNamespace(client, NS);
const have = (await listSimulatedNodes(client))
  .filter((n) => n.metadata.labels?.pool === POOL)
  .map((n) => n.metadata.name as string);
process.stderr.write(`# adding ${Math.max(0, count - have.length)} nodes to pool ${POOL}\n`);
const added = await addNodes(client, Math.max(0, count - have.length));
await inParallel(added, 32, async (n) => {
  await client.mergePatch(Resources.nodes, undefined, n, { metadata: { labels: { pool: POOL } } });
});
const pool = [...have, ...added];
await waitFor(
  async () =>
    (await client.list(Resources.nodes, undefined, { labelSelector: `pool=${POOL}` })).items.filter((n) =>
      n.status?.conditions?.some(
        (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
      ),
    ).length >= count || { pending: 'nodes not Ready' },
  { what: `${count} Ready nodes`, timeoutMs: 600_000, intervalMs: 1000 },
);

const podSpec = {
  nodeSelector: { pool: POOL },
  containers: [{ name: 'audit', image: 'registry.example/audit:1' }],
};
const metricsPort = 19080 + Math.floor(Math.random() * 1000);
const operator = startOperatorProcess(state.kubeconfig, [
  `--namespace=${NS}`,
  `--metrics-bind-address=127.0.0.1:${metricsPort}`,
  '--health-probe-bind-address=0',
  '--workers=4',
]);
await waitFor(() => scrape(metricsPort), { what: 'operator metrics', timeoutMs: 60_000 });
await waitFor(
  async () => metricSum(await scrape(metricsPort), 'bosun_watch_cache_objects', 'nodes') >= count,
  { what: 'the operator to cache the nodes', timeoutMs: 120_000 },
);

// DaemonJob
const jobs = new WatchCache(client, Resources.jobs, {
  namespace: NS,
  labelSelector: 'bosun.dev/daemonjob',
  log: silentLogger,
});
let allJobsAt = 0;
jobs.onEvent(() => {
  if (!allJobsAt && jobs.size >= count) allJobsAt = Date.now();
});
jobs.start();
await jobs.synced;
const before = await scrape(metricsPort);
const djStart = Date.now();
await client.apply(DAEMONJOBS, {
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'DaemonJob',
  metadata: { name: 'audit', namespace: NS },
  spec: { template: { spec: { ...podSpec, restartPolicy: 'Never' } } },
});
const dj = await waitFor(
  async () => {
    const d = await client.get(DAEMONJOBS, NS, 'audit');
    return d.status?.phase === 'Complete' && d.status.succeeded === count
      ? d
      : { pending: `${d.status?.succeeded ?? 0}/${count}` };
  },
  { what: 'the DaemonJob to complete', timeoutMs: 1_800_000, intervalMs: 250 },
);
const djDone = Date.now();
const after = await scrape(metricsPort);
const operatorRss = rssMiB(operator.pid as number);
operator.kill('SIGTERM');
jobs.stop();

// DaemonSet through kube-controller-manager, same template
const dsStart = Date.now();
await client.create(Resources.daemonSets, {
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'audit', namespace: NS },
  spec: {
    selector: { matchLabels: { app: 'audit' } },
    template: { metadata: { labels: { app: 'audit' } }, spec: podSpec },
  },
});
await waitFor(
  async () => {
    const d = await client.get(Resources.daemonSets, NS, 'audit');
    return d.status?.numberReady >= count || { pending: `${d.status?.numberReady ?? 0}/${count}` };
  },
  { what: 'the DaemonSet to be ready everywhere', timeoutMs: 1_800_000, intervalMs: 250 },
);
const dsDone = Date.now();

// Status size: measured at this fleet; at 5,000 nodes from the planner with the same template.
const statusBytes = JSON.stringify(dj.status).length;
const fleet = (n: number): KubeObject[] =>
  Array.from({ length: n }, (_, i) => ({
    metadata: { name: `kwok-node-${i}`, labels: { pool: POOL } },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  }));
const template = (dj as DaemonJobObject).spec.template;
const big = fleet(5000);
const planned = planDaemonJob({
  daemonJob: {
    ...(dj as DaemonJobObject),
    status: {
      templateHash: templateHash(template),
      startTime: dj.status.startTime,
      nodeResults: Object.fromEntries(big.map((n) => [n.metadata.name, 'Succeeded'])),
    },
  },
  nodes: big,
  jobs: [],
  now: new Date(),
});

const s = (ms: number) => fmt(ms / 1000, 1);
process.stdout.write(`\n${cluster.startingState}\n`);
process.stdout.write(
  table(
    `DaemonJob vs DaemonSet on ${pool.length} kwok nodes`,
    ['figure', 'Bosun DaemonJob', 'kube-controller-manager DaemonSet', 'ratio'],
    [
      ['creation → every per-node Job created (s)', s(allJobsAt - djStart), '', ''],
      [
        'creation → every node done (s): Complete / all pods Ready',
        s(djDone - djStart),
        s(dsDone - dsStart),
        fmt((djDone - djStart) / (dsDone - dsStart), 2),
      ],
    ],
  ),
);
process.stdout.write(
  table(
    'Cost',
    ['figure', 'value'],
    [
      ['operator RSS MiB', fmt(operatorRss)],
      [
        'API requests by the operator',
        metricSum(after, 'rest_client_requests_total') - metricSum(before, 'rest_client_requests_total'),
      ],
      [
        'API requests per node',
        fmt(
          (metricSum(after, 'rest_client_requests_total') - metricSum(before, 'rest_client_requests_total')) /
            count,
          2,
        ),
      ],
      [`status size at ${count} nodes (bytes, measured)`, statusBytes],
      ['status size at 5000 nodes (bytes, planner)', JSON.stringify(planned.status).length],
    ],
  ),
);
await endBench(cluster);
