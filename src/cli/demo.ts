// `bosun demo`: the local cluster and a migration hook at work, narrated.
import { parseArgs } from 'node:util';
import { crdManifest } from '../api/crd.ts';
import { KINDS } from '../api/index.ts';
import { DAEMONJOBS } from '../controllers/daemonjob/controller.ts';
import { HOOKS } from '../controllers/deploymenthook/controller.ts';
import { rolloutState } from '../controllers/deploymenthook/rollout.ts';
import { registerControllers } from '../controllers/index.ts';
import { up } from '../dev/cluster.ts';
import { addNodes, isNodeReady, listSimulatedNodes } from '../dev/nodes.ts';
import { isAlreadyExists, KubeClient, Resources } from '../runtime/kube-client.ts';
import { silentLogger } from '../runtime/log.ts';
import { Manager } from '../runtime/manager.ts';
import { Metrics } from '../runtime/metrics.ts';
import { waitFor } from '../runtime/wait.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const NS = 'bosun-demo';

function demoDeployment(image: string, replicas = 3) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'shop', namespace: NS, labels: { app: 'shop' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'shop' } },
      template: {
        metadata: { labels: { app: 'shop' }, annotations: { 'kwok.bosun.dev/ready-after': '2s' } },
        spec: { containers: [{ name: 'web', image }] },
      },
    },
  };
}

const migrationHook = {
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'DeploymentHook',
  metadata: { name: 'migrate', namespace: NS },
  spec: {
    selector: { matchLabels: { app: 'shop' } },
    inheritImage: { fromContainer: 'web' },
    template: {
      spec: {
        metadata: { annotations: { 'kwok.bosun.dev/finish-after': '3s' } },
        spec: { containers: [{ name: 'migrate', image: 'set-by-inheritImage', command: ['./migrate'] }] },
      },
    },
  },
};

const cleanTmp = {
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'DaemonJob',
  metadata: { name: 'clean-tmp', namespace: NS },
  spec: {
    maxParallel: 2,
    template: {
      metadata: { annotations: { 'kwok.bosun.dev/finish-after': '1s' } },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'clean', image: 'busybox', command: ['rm', '-rf', '/host/tmp/cache'] }],
      },
    },
  },
};

async function showDaemonJob(client: KubeClient, nodes: number): Promise<void> {
  let most = 0;
  const dj = await waitFor(
    async () => {
      const d = await client.get(DAEMONJOBS, NS, 'clean-tmp');
      most = Math.max(most, d.status?.active ?? 0);
      return d.status?.phase === 'Complete' && d.status.succeeded === nodes
        ? d
        : { pending: JSON.stringify(d.status ?? {}) };
    },
    { what: 'the DaemonJob to complete', timeoutMs: 60_000, intervalMs: 100 },
  );
  const jobs = await client.list(Resources.jobs, NS, { labelSelector: 'bosun.dev/daemonjob=clean-tmp' });
  say(
    `  phase ${dj.status.phase}: ${dj.status.succeeded}/${dj.status.desired} nodes succeeded, at most ${most} at once, ${jobs.items.length} Jobs in all`,
  );
  say(
    `  per-node results: ${Object.entries(dj.status.nodeResults)
      .map(([n, r]) => `${n}=${r}`)
      .join(', ')}`,
  );
}

async function rollOut(client: KubeClient, image: string, replicas = 3): Promise<string> {
  const started = Date.now();
  await client.apply(Resources.deployments, demoDeployment(image, replicas));
  const revision = await waitFor(
    async () => {
      const d = await client.get(Resources.deployments, NS, 'shop');
      const state = rolloutState(d);
      if (state.phase !== 'Complete') return { pending: state.message };
      return d.status.availableReplicas === replicas ? state.revision : { pending: 'scaling' };
    },
    { what: 'the shop Deployment to roll out', timeoutMs: 120_000 },
  );
  say(
    `  ${image} × ${replicas}: revision ${revision}, rolled out in ${((Date.now() - started) / 1000).toFixed(1)}s`,
  );
  return revision;
}

async function showHookRun(client: KubeClient, revision: string): Promise<void> {
  const hook = await waitFor(
    async () => {
      const h = await client.get(HOOKS, NS, 'migrate');
      const run = h.status?.deployments?.[0]?.lastRun;
      return run?.revision === revision && run.phase === 'Succeeded'
        ? h
        : { pending: JSON.stringify(run ?? {}) };
    },
    { what: `the migration for revision ${revision}`, timeoutMs: 60_000 },
  );
  const run = hook.status.deployments[0].lastRun;
  const job = await client.get(Resources.jobs, NS, run.jobName);
  const ready = hook.status.conditions.find((c: { type: string }) => c.type === 'Ready');
  say(`  hook Job ${run.jobName} ran ${job.spec.template.spec.containers[0].image}: ${run.phase}`);
  say(
    `  hook status: matched ${hook.status.matched}, succeeded ${hook.status.succeeded}, Ready=${ready.status} (${ready.reason})`,
  );
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { nodes: { type: 'string', default: '3' } } });
  say(
    'Bosun demo: a local Kubernetes control plane (etcd, kube-apiserver, controller manager, scheduler; kwok nodes)',
  );
  const state = await up({ nodes: Number(values.nodes), log: (l) => say(`  ${l}`) });
  const client = KubeClient.fromKubeconfig(state.kubeconfig);
  const version = await client.request<{ gitVersion: string }>('GET', '/version');
  const nodes = await listSimulatedNodes(client);
  say(`\nServer ${version.gitVersion}; ${nodes.filter(isNodeReady).length} of ${nodes.length} nodes Ready:`);
  for (const n of nodes)
    say(`  ${n.metadata.name}  zone=${n.metadata.labels?.['topology.kubernetes.io/zone']}`);

  try {
    await client.create(Resources.namespaces, { metadata: { name: NS } });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
  for (const kind of KINDS) await client.apply(Resources.crds, crdManifest(kind));
  await waitFor(() => client.list(HOOKS, NS), { what: 'the Bosun CRDs to be served' });
  say(
    '\nBosun CRDs installed; the operator runs inside this command (`bosun run` is the same in a cluster).',
  );
  const mgr = new Manager({
    client,
    log: silentLogger,
    metrics: new Metrics({ processMetrics: false }),
    namespaces: [NS],
  });
  registerControllers(mgr, { workers: 2 });
  await mgr.start();
  try {
    await client.apply(HOOKS, migrationHook);
    say(
      'DeploymentHook "migrate": after each rollout of app=shop, a 3s migration Job with the rolled-out image.',
    );
    say('\nA Deployment whose pods take 2s to become ready; the hook waits for the rollout to finish:');
    await showHookRun(client, await rollOut(client, 'registry.example/shop:1.0'));
    say('\nA new image is a new revision, so the migration runs again:');
    await showHookRun(client, await rollOut(client, 'registry.example/shop:1.1'));
    say('\nScaling is not a new revision, so nothing runs:');
    await rollOut(client, 'registry.example/shop:1.1', 5);
    const jobs = await client.list(Resources.jobs, NS, { labelSelector: 'bosun.dev/hook=migrate' });
    say(
      `  hook Jobs, one per revision: ${jobs.items
        .map((j) => j.metadata.name)
        .sort()
        .join(', ')}`,
    );

    say('\nDaemonJob "clean-tmp": a 1s clean-up pod once on every node, 2 nodes at a time:');
    await client.apply(DAEMONJOBS, cleanTmp);
    await showDaemonJob(client, nodes.length);
    const [joined] = await addNodes(client, 1);
    say(`A node joins (${joined}); it runs there too, and only there:`);
    await showDaemonJob(client, nodes.length + 1);
  } finally {
    await mgr.stop();
  }
  say(
    `\nThe cluster keeps running. Try:\n  eval "$(npm run --silent bosun -- dev env)"\n  kubectl -n ${NS} get deploymenthooks,daemonjobs,deployments,jobs\n  npm run bosun -- dev down`,
  );
  return 0;
}
