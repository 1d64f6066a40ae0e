// Child process of bench/runtime.ts: caches Deployments and Jobs cluster-wide, reports memory and
// sync time, then measures event-to-reconcile latency through a real Controller.
import { Controller } from '../src/runtime/controller.ts';
import { KubeClient, Resources } from '../src/runtime/kube-client.ts';
import { silentLogger } from '../src/runtime/log.ts';
import { Metrics } from '../src/runtime/metrics.ts';
import { WatchCache } from '../src/runtime/watch-cache.ts';

const send = (m: object) => process.send?.(m);
const client = KubeClient.fromKubeconfig(process.argv[2]);
const started = performance.now();
const deployments = new WatchCache(client, Resources.deployments, { log: silentLogger });
const jobs = new WatchCache(client, Resources.jobs, { log: silentLogger });
deployments.start();
jobs.start();
await Promise.all([deployments.synced, jobs.synced]);
const syncMs = performance.now() - started;
globalThis.gc?.();
const mem = process.memoryUsage();
send({
  type: 'memory',
  objects: deployments.size + jobs.size,
  syncMs,
  heapMiB: mem.heapUsed / 2 ** 20,
  rssMiB: mem.rss / 2 ** 20,
});

const latencies: number[] = [];
const measured = new Map<string, number>(); // key → the stamp already measured (later status updates reuse it)
const controller = new Controller({
  name: 'bench',
  workers: 4,
  metrics: new Metrics({ processMetrics: false }),
  log: silentLogger,
  reconcile: async (_ctx, key) => {
    const [ns, name] = key.split('/');
    const stamp = Number(deployments.get(ns, name as string)?.metadata.annotations?.['bench.bosun.dev/ts']);
    if (stamp && measured.get(key) !== stamp) {
      measured.set(key, stamp);
      latencies.push(Date.now() - stamp);
    }
    return undefined;
  },
});
controller.watch(deployments, (e) =>
  e.type === 'updated' ? [`${e.object.metadata.namespace}/${e.object.metadata.name}`] : [],
);
controller.start();
send({ type: 'ready' });
process.on('message', async (m: { type: string }) => {
  if (m.type !== 'stop') return;
  await controller.stop();
  send({ type: 'latency', latencies });
  process.exit(0);
});
