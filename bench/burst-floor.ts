// The floor under a burst of previews: the same Kubernetes objects, written by a script with no
// decision to record, so that what remains is kube-controller-manager's and the API server's own
// work. `count` new sets (a Deployment at 0 replicas, its Service, a one-pod initialize Job, at most
// `cap` Jobs unfinished at once, the next one created the moment a watch shows a slot free) while
// `room` older sets are deleted in the background, as the burst's undeploys do. Measured in the
// previews' own namespace it includes what 10,000 Services there cost the cluster per pod and per
// Service (the EndpointSlice controller matches every pod against every Service of its namespace;
// the API server counts every allocated ClusterIP when it allocates or frees one).
import { jobOutcome } from '../src/controllers/job-outcome.ts';
import { type KubeClient, type KubeObject, type ResourceRef, Resources } from '../src/runtime/kube-client.ts';
import { silentLogger } from '../src/runtime/log.ts';
import { inParallel } from '../src/runtime/parallel.ts';
import { waitFor } from '../src/runtime/wait.ts';
import { WatchCache } from '../src/runtime/watch-cache.ts';

const SERVICES: ResourceRef = { group: '', version: 'v1', plural: 'services', namespaced: true };
const LABEL = 'bench-floor';

interface FloorOptions {
  count: number;
  cap: number;
  room: number;
  concurrency: number;
  timeoutMs: number;
}

/** Milliseconds until every new Job finished and every older set's pods are gone. */
export async function burstFloor(client: KubeClient, namespace: string, opts: FloorOptions): Promise<number> {
  const run = Date.now().toString(36);
  const labels = (set: string, role?: string) => ({ [LABEL]: run, set, ...(role ? { role } : {}) });
  const deployment = (set: string): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: set, namespace, labels: labels(set) },
    spec: {
      replicas: 0,
      selector: { matchLabels: { set, role: 'app' } },
      template: {
        metadata: { labels: labels(set, 'app') },
        spec: { containers: [{ name: 'web', image: 'app' }] },
      },
    },
  });
  const service = (set: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: set, namespace, labels: labels(set) },
    spec: { selector: { set, role: 'app' }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  const job = (set: string): KubeObject => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${set}-init`, namespace, labels: labels(set) },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: labels(set, 'init') },
        spec: { restartPolicy: 'Never', containers: [{ name: 'init', image: 'seed', args: ['seed'] }] },
      },
    },
  });
  const sets = (kind: string, n: number) => Array.from({ length: n }, (_, i) => `floor-${run}-${kind}${i}`);
  const older = sets('old', opts.room);
  const fresh = sets('new', opts.count);

  const jobs = new WatchCache(client, Resources.jobs, {
    namespace,
    labelSelector: `${LABEL}=${run}`,
    log: silentLogger,
  });
  const finished = new Set<string>();
  let topUp = () => {};
  jobs.onEvent((e) => {
    if (e.type !== 'deleted' && jobOutcome(e.object).phase !== 'Running')
      finished.add(e.object.metadata.name as string);
    topUp();
  });
  jobs.start();
  try {
    await jobs.synced;
    // The sets that make room, created and settled first.
    await inParallel(older, opts.concurrency, async (set) => {
      await client.create(SERVICES, service(set));
      await client.create(Resources.deployments, deployment(set));
      await client.create(Resources.jobs, job(set));
    });
    await waitFor(async () => older.every((s) => finished.has(`${s}-init`)) || { pending: 'older Jobs' }, {
      what: 'the floor’s older sets',
      timeoutMs: opts.timeoutMs,
    });

    const started = Date.now();
    let failure: unknown;
    let sent = 0;
    topUp = () => {
      const unfinished = fresh.slice(0, sent).filter((s) => !finished.has(`${s}-init`)).length;
      for (let free = opts.cap - unfinished; free > 0 && sent < fresh.length; free--)
        client.create(Resources.jobs, job(fresh[sent++] as string)).catch((e) => {
          failure ??= e;
        });
    };
    topUp();
    await Promise.all([
      inParallel(fresh, opts.concurrency, async (set) => {
        await client.create(SERVICES, service(set));
        await client.create(Resources.deployments, deployment(set));
      }),
      inParallel(older, opts.concurrency, async (set) => {
        await client.delete(Resources.deployments, namespace, set, 'Background');
        await client.delete(SERVICES, namespace, set);
        await client.delete(Resources.jobs, namespace, `${set}-init`, 'Background');
      }),
    ]);
    await waitFor(
      async () => {
        if (failure) throw failure;
        const done = fresh.filter((s) => finished.has(`${s}-init`)).length;
        return done === fresh.length || { pending: `${done}/${fresh.length} Jobs finished` };
      },
      { what: 'the floor’s Jobs', timeoutMs: opts.timeoutMs, intervalMs: 20 },
    );
    // The older sets' pods, which the garbage collector deletes.
    const oldPod = (p: KubeObject) => older.includes(p.metadata.labels?.set as string);
    await waitFor(
      async () => {
        const pods = await client.list(Resources.pods, namespace, { labelSelector: `${LABEL}=${run}` });
        const left = pods.items.filter(oldPod).length;
        return left === 0 || { pending: `${left} older pods` };
      },
      { what: 'the floor’s older pods gone', timeoutMs: opts.timeoutMs, intervalMs: 100 },
    );
    return Date.now() - started;
  } finally {
    jobs.stop();
    await inParallel(fresh, opts.concurrency, async (set) => {
      await client.delete(Resources.deployments, namespace, set, 'Background').catch(() => {});
      await client.delete(SERVICES, namespace, set).catch(() => {});
      await client.delete(Resources.jobs, namespace, `${set}-init`, 'Background').catch(() => {});
    });
  }
}
