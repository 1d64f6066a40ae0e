// Benchmark of DaemonJob on fleets of kwok nodes: per fleet size, time from creation to every node
// done, split into stages time-stamped from watch events (per-node object created, pod created,
// scheduled, running, succeeded, recorded in the DaemonJob's status); in the same run, a DaemonSet
// with the same template reaching that many Ready pods through kube-controller-manager. Also
// operator RSS, API requests per node and the status size.
//   npm run bench:daemonjob      (BENCH_SIZES=1000,5000; BENCH_NODES=1000 for one size)
import { DAEMONJOBS } from '../src/controllers/daemonjob/controller.ts';
import { NODE_LABEL } from '../src/controllers/daemonjob/labels.ts';
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
  percentile,
  rssMiB,
  scrape,
  startOperatorProcess,
  table,
} from './support.ts';

const sizes = (process.env.BENCH_SIZES ?? process.env.BENCH_NODES ?? '1000,5000')
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
const NS = 'bench-dj';
const POOL = 'bench-dj';
const log = (line: string) => process.stderr.write(`# ${line}\n`);
const s = (ms: number) => fmt(ms / 1000, 1);

const cluster = await benchCluster('daemonjob', 3);
const { state, client } = cluster;
await installCrdsFor(client);
await ensureNamespace(client, NS);

const podSpec = {
  nodeSelector: { pool: POOL },
  containers: [{ name: 'audit', image: 'registry.example/audit:1' }],
};

/** When each node first reached each stage, as the bench's watches saw it. */
class Stages {
  readonly at = new Map<string, Map<string, number>>();
  readonly names: string[];
  constructor(names: string[]) {
    this.names = names;
    for (const n of names) this.at.set(n, new Map());
  }
  mark(stage: string, node: string | undefined) {
    const seen = this.at.get(stage);
    if (node && seen && !seen.has(node)) seen.set(node, Date.now());
  }
  /** Per stage: when half and all of `count` nodes had reached it, and the median gap from the stage before. */
  rows(start: number, count: number): string[][] {
    return this.names.map((name, i) => {
      const times = [...(this.at.get(name) as Map<string, number>).values()].sort((a, b) => a - b);
      const prev = i > 0 ? this.at.get(this.names[i - 1] as string) : undefined;
      const gaps = prev
        ? [...(this.at.get(name) as Map<string, number>)]
            .filter(([node]) => prev.has(node))
            .map(([node, t]) => t - (prev.get(node) as number))
        : [];
      const when = (k: number) => (times.length >= k ? s((times[k - 1] as number) - start) : 'n/a');
      return [name, when(Math.ceil(count / 2)), when(count), prev ? s(percentile(gaps, 50)) : ''];
    });
  }
}

/** Watches the pods (and per-node Jobs, if any) matching a selector and marks their stages per node. */
function watchStages(selector: string, nodeOf: (o: KubeObject) => string | undefined, stages: Stages) {
  const caches = [Resources.jobs, Resources.pods].map(
    (ref) => new WatchCache(client, ref, { namespace: NS, labelSelector: selector, log: silentLogger }),
  );
  const [jobs, pods] = caches as [WatchCache, WatchCache];
  jobs.onEvent((e) => {
    if (e.type === 'deleted') return;
    stages.mark('Job created', nodeOf(e.object));
    const done = e.object.status?.conditions?.some(
      (c: { type: string; status: string }) => c.type === 'Complete' && c.status === 'True',
    );
    if (done) stages.mark('Job complete', nodeOf(e.object));
  });
  pods.onEvent((e) => {
    if (e.type === 'deleted') return;
    const pod = e.object;
    const node = nodeOf(pod);
    stages.mark('pod created', node);
    if (pod.spec?.nodeName) stages.mark('pod scheduled', node);
    const ready = pod.status?.conditions?.some(
      (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
    );
    if (pod.status?.phase === 'Running' && ready) stages.mark('pod running', node);
    if (pod.status?.phase === 'Succeeded') {
      stages.mark('pod succeeded', node);
      if (!pod.metadata.finalizers?.length) stages.mark('finalizer released', node);
    }
  });
  for (const c of caches) c.start();
  return {
    synced: Promise.all(caches.map((c) => c.synced)),
    stop: () => {
      for (const c of caches) c.stop();
    },
  };
}

function requestsByCall(after: string, before: string): Record<string, number> {
  const counts = (text: string) => {
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^rest_client_requests_total\{method="(\w+)",code="(\w+)"\} (\d+)/gm))
      out[`${m[1]} ${m[2]}`] = Number(m[3]);
    return out;
  };
  const [a, b] = [counts(after), counts(before)];
  return Object.fromEntries(
    Object.entries(a)
      .map(([k, v]) => [k, v - (b[k] ?? 0)] as const)
      .filter(([, v]) => v > 0),
  );
}

async function growPool(count: number): Promise<void> {
  const have = (await listSimulatedNodes(client)).filter((n) => n.metadata.labels?.pool === POOL).length;
  log(`adding ${Math.max(0, count - have)} nodes to pool ${POOL}`);
  const added = await addNodes(client, Math.max(0, count - have));
  await inParallel(added, 32, async (n) => {
    await client.mergePatch(Resources.nodes, undefined, n, { metadata: { labels: { pool: POOL } } });
  });
  await waitFor(
    async () =>
      (await client.list(Resources.nodes, undefined, { labelSelector: `pool=${POOL}` })).items.filter((n) =>
        n.status?.conditions?.some(
          (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
        ),
      ).length >= count || { pending: 'nodes not Ready' },
    { what: `${count} Ready nodes`, timeoutMs: 1_200_000, intervalMs: 2000 },
  );
}

/** Waits until nothing of an earlier size is left in the namespace, so sizes do not share load. */
async function waitNamespaceEmpty() {
  await waitFor(
    async () => {
      const [pods, jobs] = await Promise.all([
        client.list(Resources.pods, NS, { limit: 1 }),
        client.list(Resources.jobs, NS, { limit: 1 }),
      ]);
      return (!pods.items.length && !jobs.items.length) || { pending: 'pods or Jobs of the last size' };
    },
    { what: 'an empty namespace', timeoutMs: 1_200_000, intervalMs: 2000 },
  );
}

interface SizeResult {
  count: number;
  djMs: number;
  dsMs: number;
  rss: number;
  /** After the DaemonJob is gone and the DaemonSet part ran: the operator idle all that time. */
  rssIdle: number;
  requests: number;
  statusBytes: number;
  /** Requests by method and response code, e.g. "POST 201". */
  byCall: Record<string, number>;
  djStages: string[][];
  dsStages: string[][];
}

async function measure(count: number): Promise<SizeResult> {
  await growPool(count);
  const name = `audit-${count}`;
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
    { what: 'the operator to cache the nodes', timeoutMs: 300_000 },
  );

  // DaemonJob
  const djStages = new Stages([
    'Job created',
    'pod created',
    'pod scheduled',
    'pod running',
    'pod succeeded',
    'Job complete',
    'recorded in status',
    'finalizer released',
  ]);
  const byNodeLabel = (o: KubeObject) => o.metadata.labels?.[NODE_LABEL];
  const djWatch = watchStages(`bosun.dev/daemonjob=${name}`, byNodeLabel, djStages);
  const djCache = new WatchCache(client, DAEMONJOBS, { namespace: NS, log: silentLogger });
  djCache.onEvent((e) => {
    if (e.type === 'deleted') return;
    for (const [node, result] of Object.entries(e.object.status?.nodeResults ?? {}))
      if (result === 'Succeeded') djStages.mark('recorded in status', node);
  });
  djCache.start();
  await Promise.all([djWatch.synced, djCache.synced]);
  const before = await scrape(metricsPort);
  const djStart = Date.now();
  await client.apply(DAEMONJOBS, {
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'DaemonJob',
    metadata: { name, namespace: NS },
    spec: { template: { spec: { ...podSpec, restartPolicy: 'Never' } } },
  });
  const dj = await waitFor(
    async () => {
      const d = djCache.get(NS, name);
      return d?.status?.phase === 'Complete' && d.status.succeeded === count
        ? d
        : { pending: `${d?.status?.succeeded ?? 0}/${count}` };
    },
    { what: 'the DaemonJob to complete', timeoutMs: 3_600_000, intervalMs: 100 },
  );
  const djDone = Date.now();
  // Bosun's work ends when the last result finalizer goes (the reconcile after the last record).
  await waitFor(
    async () =>
      (djStages.at.get('finalizer released') as Map<string, number>).size >= count || {
        pending: 'result finalizers',
      },
    { what: 'every result finalizer released', timeoutMs: 600_000, intervalMs: 100 },
  );
  const after = await scrape(metricsPort);
  const rss = rssMiB(operator.pid as number);
  djWatch.stop();
  djCache.stop();
  await client.delete(DAEMONJOBS, NS, name);
  // The operator releases the per-node objects of the deleted DaemonJob, then idles (it watches no
  // DaemonSet pod) until the DaemonSet part is over.
  await waitNamespaceEmpty();

  // DaemonSet through kube-controller-manager, same template
  const dsStages = new Stages(['pod created', 'pod scheduled', 'pod running']);
  const dsWatch = watchStages(`app=${name}`, (p) => p.metadata.name, dsStages);
  await dsWatch.synced;
  const dsStart = Date.now();
  await client.create(Resources.daemonSets, {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: NS },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec },
    },
  });
  await waitFor(
    async () => {
      const d = await client.get(Resources.daemonSets, NS, name);
      return d.status?.numberReady >= count || { pending: `${d.status?.numberReady ?? 0}/${count}` };
    },
    { what: 'the DaemonSet to be ready everywhere', timeoutMs: 3_600_000, intervalMs: 100 },
  );
  const dsDone = Date.now();
  const rssIdle = rssMiB(operator.pid as number);
  operator.kill('SIGTERM');
  dsWatch.stop();
  await client.delete(Resources.daemonSets, NS, name, 'Background');
  await waitNamespaceEmpty();
  const requests =
    metricSum(after, 'rest_client_requests_total') - metricSum(before, 'rest_client_requests_total');
  const byCall = requestsByCall(after, before);
  return {
    count,
    djMs: djDone - djStart,
    dsMs: dsDone - dsStart,
    rss,
    rssIdle,
    requests,
    statusBytes: JSON.stringify(dj.status).length,
    byCall,
    djStages: djStages.rows(djStart, count),
    dsStages: dsStages.rows(dsStart, count),
  };
}

const print = (text: string) => process.stdout.write(`${text}\n`);
print(`\n${cluster.startingState}`);
// Each size's stages are printed as soon as it is measured: a long run shows its first sizes early.
const results: SizeResult[] = [];
for (const size of sizes) {
  log(`measuring ${size} nodes`);
  const r = await measure(size);
  results.push(r);
  print(
    table(
      `DaemonJob on ${r.count} kwok nodes: when half / all nodes reached each stage, seconds from creation`,
      ['stage', 'half', 'all', 'median per node since the stage before'],
      r.djStages,
    ),
  );
  print(
    table(
      `DaemonSet (kube-controller-manager) on ${r.count} kwok nodes, same template`,
      ['stage', 'half', 'all', 'median per node since the stage before'],
      r.dsStages,
    ),
  );
  log(
    `${r.count} nodes: DaemonJob ${s(r.djMs)} s, DaemonSet ${s(r.dsMs)} s, ${fmt(r.requests / r.count, 2)} requests/node (${JSON.stringify(r.byCall)}), RSS ${fmt(r.rss)} MiB working, ${fmt(r.rssIdle)} MiB idle`,
  );
}
print(
  table(
    'DaemonJob vs DaemonSet, and how they grow',
    [
      'nodes',
      'DaemonJob: every node done (s)',
      'DaemonSet: all pods Ready (s)',
      'ratio',
      'operator RSS MiB, working / idle',
      'API requests / node',
      'status bytes',
      'requests by call',
    ],
    results.map((r) => [
      r.count,
      s(r.djMs),
      s(r.dsMs),
      fmt(r.djMs / r.dsMs, 2),
      `${fmt(r.rss)} / ${fmt(r.rssIdle)}`,
      fmt(r.requests / r.count, 2),
      r.statusBytes,
      Object.entries(r.byCall)
        .map(([call, n]) => `${call}: ${n}`)
        .join(', '),
    ]),
  ),
);
await endBench(cluster);
