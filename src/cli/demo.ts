// `bosun demo`: the local cluster, a migration hook, a DaemonJob and previews at work, narrated;
// then a pull request from GitHub's webhook to its URL, followed through the REST API.
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { sign } from '@octokit/webhooks-methods';
import { crdManifest } from '../api/crd.ts';
import { KINDS } from '../api/index.ts';
import { DAEMONJOBS } from '../controllers/daemonjob/controller.ts';
import { HOOKS } from '../controllers/deploymenthook/controller.ts';
import { rolloutState } from '../controllers/deploymenthook/rollout.ts';
import { registerControllers } from '../controllers/index.ts';
import { PREVIEW_REPOSITORIES, PREVIEW_TEMPLATES, PREVIEWS } from '../controllers/preview/model.ts';
import { previewName } from '../controllers/preview/naming.ts';
import { up } from '../dev/cluster.ts';
import { addNodes, isNodeReady, listSimulatedNodes } from '../dev/nodes.ts';
import { SECRETS } from '../github/secrets.ts';
import { isAlreadyExists, KubeClient, type KubeObject, Resources } from '../runtime/kube-client.ts';
import { silentLogger } from '../runtime/log.ts';
import { Manager } from '../runtime/manager.ts';
import { Metrics } from '../runtime/metrics.ts';
import { waitFor } from '../runtime/wait.ts';
import type { PreviewView } from '../server/api/views.ts';
import { startHttp } from './serve.ts';

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
  const pods = await client.list(Resources.pods, NS, { labelSelector: 'bosun.dev/daemonjob=clean-tmp' });
  say(
    `  phase ${dj.status.phase}: ${dj.status.succeeded}/${dj.status.desired} nodes succeeded, at most ${most} at once, ${pods.items.length} pods in all`,
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

// Previews: a template whose build, init and cleanup Jobs take a moment on the simulated nodes.
const quick = (seconds: number) => ({ annotations: { 'kwok.bosun.dev/finish-after': `${seconds}s` } });
const previewTemplate = {
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'PreviewTemplate',
  metadata: { name: 'shop', namespace: NS },
  spec: {
    build: {
      image: 'registry.example/shop:${shortCommit}',
      template: {
        metadata: quick(2),
        spec: { containers: [{ name: 'build', image: 'kaniko', args: ['--destination=${image}'] }] },
      },
    },
    initialize: {
      template: {
        metadata: quick(2),
        spec: { containers: [{ name: 'seed', args: ['createdb', '${preview}'] }] },
      },
    },
    app: { port: 8080, template: { spec: { containers: [{ name: 'web' }] } } },
    ingress: { domain: 'preview.example' },
    cleanup: {
      template: {
        metadata: quick(1),
        spec: { containers: [{ name: 'drop', image: 'postgres', args: ['dropdb', '${preview}'] }] },
      },
    },
    resources: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: '${preview}-settings' },
        data: { BRANCH: '${branch}' },
      },
    ],
  },
};
const previewRepository = {
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'PreviewRepository',
  metadata: { name: 'shop', namespace: NS },
  spec: {
    repository: 'acme/shop',
    template: 'shop',
    branches: ['*'],
    pullRequestTargets: ['main'],
    capacity: { maxInitializing: 2, maxRunning: 1, maxDeployed: 3 },
  },
};

interface Source {
  branch: string;
  commit: string;
  pullRequest?: number;
}
const previewOf = (src: Source, state: 'Running' | 'Stopped') => ({
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'Preview',
  metadata: { name: previewName('shop', src, false), namespace: NS },
  spec: {
    repository: 'shop',
    branch: src.branch,
    commit: src.commit,
    ...(src.pullRequest ? { pullRequest: src.pullRequest, targetBranch: 'main' } : {}),
    state,
  },
});

const PREVIEW_CHILDREN = [
  Resources.jobs,
  Resources.deployments,
  Resources.replicaSets,
  Resources.pods,
  { group: '', version: 'v1', plural: 'services', namespaced: true },
  { group: '', version: 'v1', plural: 'configmaps', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', namespaced: true },
];

/** Objects labelled bosun.dev/preview=<name>, of every kind the demo's previews create. */
async function labelledObjects(client: KubeClient, name: string): Promise<number> {
  let n = 0;
  for (const ref of PREVIEW_CHILDREN)
    n += (await client.list(ref, NS, { labelSelector: `bosun.dev/preview=${name}` })).items.length;
  return n;
}

/** Waits until each named preview is in its phase (null: gone), then prints the previews. */
async function showPreviews(client: KubeClient, want: Record<string, string | null>): Promise<void> {
  const previews = await waitFor(
    async () => {
      const list = (await client.list(PREVIEWS, NS)).items;
      const wrong = Object.entries(want).filter(
        ([name, phase]) => (list.find((p) => p.metadata.name === name)?.status?.phase ?? null) !== phase,
      );
      return wrong.length ? { pending: wrong.map(([n]) => n).join(', ') } : list;
    },
    { what: `previews ${JSON.stringify(want)}`, timeoutMs: 90_000 },
  );
  for (const p of previews.sort((a: KubeObject, b: KubeObject) =>
    (a.metadata.name as string).localeCompare(b.metadata.name as string),
  ))
    say(
      `  ${(p.metadata.name as string).padEnd(26)} ${String(p.spec.state).padEnd(8)} ${String(p.status?.phase).padEnd(9)} ${p.status?.url ?? ''}`,
    );
}

/** Prints the capacity Events recorded on previews since `since`. */
async function capacityEvents(client: KubeClient, since: number): Promise<void> {
  const events = await client.list(Resources.events, NS);
  for (const e of events.items) {
    const at = Date.parse(e.series?.lastObservedTime ?? e.eventTime ?? '');
    if (['StoppedForCapacity', 'UndeployedForCapacity'].includes(e.reason) && at >= since - 1000)
      say(`  Event ${e.reason} on ${e.regarding?.name}: ${e.note}`);
  }
}

async function previewSection(client: KubeClient): Promise<void> {
  // A second run starts from a clean slate.
  for (const p of (await client.list(PREVIEWS, NS)).items)
    await client.delete(PREVIEWS, NS, p.metadata.name as string);
  await waitFor(async () => (await client.list(PREVIEWS, NS)).items.length === 0, {
    what: 'previews of an earlier run to be undeployed',
    timeoutMs: 60_000,
  });
  await client.apply(PREVIEW_TEMPLATES, previewTemplate);
  await client.apply(PREVIEW_REPOSITORIES, previewRepository);
  say(
    '\nPreviews of acme/shop: a 2s build Job, a 2s init Job, the app at <name>.preview.example, a cleanup Job.',
  );
  say('Caps of the repository: maxRunning 1, maxDeployed 3. Two branches and a pull request:');
  const main1 = { branch: 'main', commit: 'a1b2c3d4e5f6' };
  const cart = { branch: 'feature/cart', commit: 'b2c3d4e5f6a7' };
  const pr = { branch: 'fix-prices', commit: 'c3d4e5f6a7b8', pullRequest: 7 };
  const name = (src: Source) => previewName('shop', src, false);
  for (const [src, state] of [
    [main1, 'Running'],
    [cart, 'Stopped'],
    [pr, 'Stopped'],
  ] as const)
    await client.apply(PREVIEWS, previewOf(src, state));
  await showPreviews(client, { [name(main1)]: 'Running', [name(cart)]: 'Stopped', [name(pr)]: 'Stopped' });

  let since = Date.now();
  say('\nStarting the pull request preview stops the running one (maxRunning 1):');
  await client.apply(PREVIEWS, previewOf(pr, 'Running'));
  await showPreviews(client, { [name(main1)]: 'Stopped', [name(cart)]: 'Stopped', [name(pr)]: 'Running' });
  await capacityEvents(client, since);

  const before = await labelledObjects(client, name(main1));
  // Only a preview idle before the new one arrived makes room for it (times have 1s resolution).
  await sleep(1100);
  since = Date.now();
  const main2 = { branch: 'main', commit: 'd4e5f6a7b8c9' };
  say(
    `\nA new commit on main is a 4th preview (maxDeployed 3): the least recently used idle one that is not the newest of its branch is undeployed, ${name(main1)}:`,
  );
  await client.apply(PREVIEWS, previewOf(main2, 'Stopped'));
  await showPreviews(client, {
    [name(main1)]: null,
    [name(main2)]: 'Stopped',
    [name(cart)]: 'Stopped',
    [name(pr)]: 'Running',
  });
  await capacityEvents(client, since);
  say(
    `  objects labelled bosun.dev/preview=${name(main1)}: ${before} before (Jobs and their pods, Deployment, ReplicaSet, Service, Ingress, ConfigMap), ${await labelledObjects(client, name(main1))} after its cleanup Job`,
  );

  say('\nThe pull request is closed: its preview is deleted, the cleanup Job runs, nothing is left:');
  const prObjects = await labelledObjects(client, name(pr));
  await client.delete(PREVIEWS, NS, name(pr));
  await showPreviews(client, { [name(pr)]: null, [name(main2)]: 'Stopped', [name(cart)]: 'Stopped' });
  say(
    `  objects labelled bosun.dev/preview=${name(pr)}: ${prObjects} before, ${await labelledObjects(client, name(pr))} after`,
  );
}

// From GitHub: a PreviewRepository whose pull requests arrive as signed webhooks, a preview per
// pull request, followed through the REST API the web UI uses.
const TOKENS_SECRET = 'bosun-api-tokens';
const storefront = {
  apiVersion: 'bosun.dev/v1alpha1',
  kind: 'PreviewRepository',
  metadata: { name: 'storefront', namespace: NS },
  spec: {
    repository: 'acme/storefront',
    template: 'shop',
    pullRequestTargets: ['main'],
    previewPer: 'PullRequest',
    webhookSecretRef: { name: 'github-webhook', key: 'secret' },
    capacity: { maxInitializing: 2, maxRunning: 1, maxDeployed: 3 },
  },
};

const secretOf = (name: string, data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: NS },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

// biome-ignore lint/suspicious/noExplicitAny: GitHub's payloads, changed in a few fields
type Payload = Record<string, any>;

/**
 * A `pull_request` delivery as GitHub sends it: GitHub's own example (@octokit/webhooks-examples,
 * there in a clone) aimed at acme/storefront, else the fields Bosun reads in the same shape.
 */
function pullRequestPayload(action: string, number: number, head: string, sha: string): Payload {
  let p: Payload;
  try {
    const all = createRequire(import.meta.url)('@octokit/webhooks-examples/api.github.com/index.json') as {
      name: string;
      examples: Payload[];
    }[];
    const found = all.find((e) => e.name === 'pull_request')?.examples.find((e) => e.action === action);
    p = structuredClone(found ?? {});
  } catch {
    p = {};
  }
  p.action = action;
  p.number = number;
  // A pull request from a branch of the repository itself (a fork's would wait for approval).
  const repository = (r: Payload | undefined) => ({
    ...r,
    name: 'storefront',
    full_name: 'acme/storefront',
    owner: { ...r?.owner, login: 'acme' },
  });
  p.pull_request = {
    ...p.pull_request,
    number,
    state: action === 'closed' ? 'closed' : 'open',
    updated_at: new Date().toISOString(),
    head: { ...p.pull_request?.head, ref: head, sha, repo: repository(p.pull_request?.head?.repo) },
    base: { ...p.pull_request?.base, ref: 'main', repo: repository(p.pull_request?.base?.repo) },
  };
  p.repository = repository(p.repository);
  return p;
}

/** Posts a delivery to the operator's webhook receiver, signed the way GitHub signs it. */
async function postDelivery(url: string, event: string, body: string, secret: string) {
  const res = await fetch(`${url}/webhooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': await sign(secret, body),
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as Payload };
}

/** Polls the REST API, printing each change of the preview, until `done` holds (null: gone). */
async function follow(
  url: string,
  name: string,
  done: (p: PreviewView | null) => boolean,
  what: string,
): Promise<PreviewView | null> {
  const started = Date.now();
  let last = '';
  return waitFor(
    async () => {
      const res = await fetch(`${url}/api/v1/namespaces/${NS}/previews/${name}`);
      const p = res.status === 404 ? null : ((await res.json()) as PreviewView);
      const line = p
        ? `${p.phase.padEnd(12)} build ${(p.buildStatus ?? '-').padEnd(8)} init ${(p.initStatus ?? '-').padEnd(12)} commit ${p.commit.slice(0, 7)}`
        : 'gone (404)';
      if (line !== last) say(`  +${((Date.now() - started) / 1000).toFixed(1).padStart(4)}s  ${line}`);
      last = line;
      return done(p) ? { value: p } : { pending: line };
    },
    { what, timeoutMs: 90_000, intervalMs: 100 },
  ).then((r) => r.value ?? null);
}

async function appImage(client: KubeClient, name: string): Promise<string | undefined> {
  const list = await client.list(Resources.deployments, NS, { labelSelector: `bosun.dev/preview=${name}` });
  return list.items[0]?.spec.template.spec.containers[0].image;
}

async function webhookSection(client: KubeClient, url: string, token: string): Promise<void> {
  const secret = randomBytes(20).toString('hex');
  await client.apply(SECRETS, secretOf('github-webhook', { secret }));
  await client.apply(PREVIEW_REPOSITORIES, storefront);
  say(
    '\nFrom GitHub: PreviewRepository "storefront" (acme/storefront, a preview per pull request, same template),',
  );
  say('its webhook secret in Secret github-webhook. Pull request #12 is opened:');
  const name = 'storefront-pr12';
  const sha1 = 'c0ffee1aa1b2c3d4e5f60718293a4b5c6d7e8f90';
  const sha2 = 'deca1f2bb1b2c3d4e5f60718293a4b5c6d7e8f91';
  const opened = JSON.stringify(pullRequestPayload('opened', 12, 'better-search', sha1));
  const forged = await postDelivery(url, 'pull_request', opened, 'not-the-secret');
  say(`  POST /webhooks/github signed with another secret: ${forged.status} ${forged.body.error?.reason}`);
  const ok = await postDelivery(url, 'pull_request', opened, secret);
  const accepted = (ok.body.accepted ?? []) as { name: string; result: string }[];
  say(
    `  POST /webhooks/github, pull_request "opened", signed (X-Hub-Signature-256): ${ok.status} ${accepted.map((a) => `${a.name} ${a.result}`).join(', ')}`,
  );
  say(`  GET /api/v1/namespaces/${NS}/previews/${name}, every 0.1s:`);
  const stopped = await follow(url, name, (p) => p?.phase === 'Stopped', 'the preview to be deployed');
  say(`  deployed, idle: ${stopped?.url}`);

  const start = `${url}/api/v1/namespaces/${NS}/previews/${name}/start`;
  const anonymous = await fetch(start, { method: 'POST' });
  const authorized = await fetch(start, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  say(
    `\nReads are public; changes need a token (Secret ${TOKENS_SECRET}). POST .../start: ${anonymous.status} without one, ${authorized.status} with an operate token:`,
  );
  const running = await follow(url, name, (p) => p?.phase === 'Running', 'the preview to run');
  say(`  running at ${running?.url}`);

  say(
    `\nA new commit is pushed to the pull request (pull_request "synchronize"); ${sha1.slice(0, 7)} keeps running while it builds:`,
  );
  const sync = await postDelivery(
    url,
    'pull_request',
    JSON.stringify(pullRequestPayload('synchronize', 12, 'better-search', sha2)),
    secret,
  );
  say(`  POST /webhooks/github: ${sync.status}`);
  const image = `registry.example/shop:${sha2.slice(0, 7)}`;
  const rebuilt = await follow(
    url,
    name,
    (p) => p?.commit === sha2 && p.buildStatus === 'success' && p.phase === 'Running',
    'the new commit to be deployed',
  );
  await waitFor(async () => (await appImage(client, name)) === image, {
    what: `the app to run ${image}`,
    timeoutMs: 60_000,
  });
  say(`  same preview, same URL ${rebuilt?.url}, the app now runs ${image}`);

  say('\nThe pull request is closed (pull_request "closed"):');
  const objects = await labelledObjects(client, name);
  const closed = await postDelivery(
    url,
    'pull_request',
    JSON.stringify(pullRequestPayload('closed', 12, 'better-search', sha2)),
    secret,
  );
  say(`  POST /webhooks/github: ${closed.status}`);
  await follow(url, name, (p) => p === null, 'the preview to be undeployed');
  say(
    `  objects labelled bosun.dev/preview=${name}: ${objects} before, ${await labelledObjects(client, name)} after`,
  );
}

/** `preferred` when it is free on 127.0.0.1, else a port the system picks. */
function freePort(preferred: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(undefined));
      s.listen(port, '127.0.0.1', () => {
        const { port: got } = s.address() as net.AddressInfo;
        s.close(() => resolve(got));
      });
    });
  return tryPort(preferred).then(async (p) => p ?? ((await tryPort(0)) as number));
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { nodes: { type: 'string', default: '3' }, port: { type: 'string', default: '8090' } },
  });
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
  // The HTTP side as `bosun run --http-address=127.0.0.1:PORT --public-reads --tokens-secret ...`.
  const token = randomBytes(24).toString('hex');
  await client.apply(SECRETS, secretOf(TOKENS_SECRET, { demo: `operate:${token}` }));
  const address = `127.0.0.1:${await freePort(Number(values.port))}`;
  const http = await startHttp(mgr, [NS], {
    address,
    tokensSecret: `${NS}/${TOKENS_SECRET}`,
    publicReads: true,
  });
  await mgr.start();
  const url = `http://${address}`;
  say(
    `With --http-address=${address} --public-reads: its web UI, REST API and webhook receiver. Open ${url}/ to watch (while the demo runs).`,
  );
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

    await previewSection(client);
    await webhookSection(client, url, token);
  } finally {
    await http.stop();
    await mgr.stop();
  }
  say(
    `\nThe cluster keeps running. Try:\n  eval "$(npm run --silent bosun -- dev env)"\n  kubectl -n ${NS} get deploymenthooks,daemonjobs,previews,deployments,jobs\n  npm run bosun -- dev down`,
  );
  return 0;
}
