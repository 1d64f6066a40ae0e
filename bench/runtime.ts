// Benchmark of the runtime: cache memory and sync time at 1k and 10k cached Deployments and Jobs,
// event-to-reconcile latency at 100 changes/s; beside each, kube-controller-manager in the same run.
//   npm run bench:runtime            (BENCH_SIZES=1000,10000 BENCH_RATE=100 BENCH_SECONDS=20)
import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Resources } from '../src/runtime/kube-client.ts';
import {
  benchCluster,
  createMany,
  endBench,
  ensureNamespace,
  fmt,
  OPERATOR_NODE_FLAGS,
  percentile,
  rssMiB,
  table,
} from './support.ts';

const sizes = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const rate = Number(process.env.BENCH_RATE ?? 100);
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const NS = 'bench-cache';

const cluster = await benchCluster('runtime', 3);
const { state, client } = cluster;
await ensureNamespace(client, NS);
const kcm = state.components['kube-controller-manager'].pid;

const deployment = (i: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: `d-${i}`, namespace: NS, labels: { app: `d-${i}`, bench: 'cache' } },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: `d-${i}` } },
    template: {
      metadata: { labels: { app: `d-${i}` } },
      spec: {
        containers: [
          { name: 'c', image: 'registry.example/app:1', env: [{ name: 'A', value: 'x'.repeat(64) }] },
        ],
      },
    },
  },
});
const job = (i: number) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: `j-${i}`, namespace: NS, labels: { bench: 'cache' } },
  spec: {
    suspend: true,
    template: {
      spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'registry.example/job:1' }] },
    },
  },
});

interface Probe {
  memory: { objects: number; syncMs: number; heapMiB: number; rssMiB: number };
  latencies?: number[];
}

async function probe(measureLatency: boolean): Promise<Probe> {
  const child = fork(new URL('./cache-probe.ts', import.meta.url).pathname, [state.kubeconfig], {
    execArgv: ['--expose-gc', ...OPERATOR_NODE_FLAGS],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const result: Partial<Probe> = {};
  const done = new Promise<void>((resolve) => {
    child.on('message', async (m: { type: string } & Record<string, never>) => {
      if (m.type === 'memory') result.memory = m as unknown as Probe['memory'];
      if (m.type === 'ready') {
        if (!measureLatency) return void child.kill();
        await drive();
        child.send({ type: 'stop' });
      }
      if (m.type === 'latency') result.latencies = m.latencies as unknown as number[];
    });
    child.on('exit', () => resolve());
  });
  await done;
  return result as Probe;
}

/** Patches `rate` Deployments per second for `seconds`, stamping each with the time of the write. */
async function drive() {
  const start = Date.now();
  let i = 0;
  while (Date.now() - start < seconds * 1000) {
    const tickStart = Date.now();
    await Promise.all(
      Array.from({ length: rate / 10 }, () => {
        const name = `d-${i++ % ((sizes[0] as number) / 2)}`;
        return client.mergePatch(Resources.deployments, NS, name, {
          metadata: { annotations: { 'bench.bosun.dev/ts': String(Date.now()) } },
        });
      }),
    );
    await sleep(Math.max(0, 100 - (Date.now() - tickStart)));
  }
}

const rows: (string | number)[][] = [];
let created = 0;
for (const size of sizes) {
  const half = size / 2;
  process.stderr.write(`# creating ${half - created} Deployments and ${half - created} Jobs\n`);
  const indexes = Array.from({ length: half - created }, (_, k) => created + k);
  await createMany(client, Resources.deployments, indexes.map(deployment));
  await createMany(client, Resources.jobs, indexes.map(job));
  created = half;
  await sleep(5000); // let kube-controller-manager settle on the new objects before reading its memory
  const p = await probe(false);
  rows.push([
    size,
    p.memory.objects,
    fmt(p.memory.syncMs / 1000, 2),
    fmt(p.memory.heapMiB),
    fmt(p.memory.rssMiB),
    fmt(rssMiB(kcm)),
    fmt(p.memory.rssMiB / rssMiB(kcm), 2),
  ]);
}
const lat = await probe(true);
const latencies = lat.latencies ?? [];

process.stdout.write(`\n${cluster.startingState}\n`);
process.stdout.write(
  table(
    'Watch cache: Deployments and Jobs, cluster-wide (one process, both caches)',
    [
      'cached objects',
      'seen',
      'initial sync s',
      'Bosun heap MiB',
      'Bosun RSS MiB',
      'kube-controller-manager RSS MiB',
      'RSS ratio Bosun/KCM',
    ],
    rows,
  ),
);
process.stdout.write(
  table(
    `Event-to-reconcile latency, ${rate} Deployment changes/s for ${seconds}s (${latencies.length} reconciles)`,
    ['p50 ms', 'p99 ms', 'max ms'],
    [[fmt(percentile(latencies, 50)), fmt(percentile(latencies, 99)), fmt(Math.max(...latencies))]],
  ),
);
process.stdout.write(
  '\nKCM RSS is the whole kube-controller-manager, which caches these kinds and more (pods, ReplicaSets, ...).\n' +
    `Bosun runs with the image's Node flags (${OPERATOR_NODE_FLAGS.join(' ')}) from the TypeScript sources: ` +
    "Node's type stripping adds ~20 MiB that the built image does not carry.\n",
);
await endBench(cluster);
