// Builders and observers for preview integration tests.
import { PREVIEW_REPOSITORIES, PREVIEW_TEMPLATES, PREVIEWS } from '../../src/controllers/preview/model.ts';
import type { KubeClient, KubeObject, ResourceRef } from '../../src/runtime/kube-client.ts';
import { Resources } from '../../src/runtime/kube-client.ts';
import { silentLogger } from '../../src/runtime/log.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { WatchCache } from '../../src/runtime/watch-cache.ts';

export { PREVIEW_REPOSITORIES, PREVIEW_TEMPLATES, PREVIEWS };

const container = (name: string, extra: Record<string, unknown> = {}) => ({ name, ...extra });
/** A pod template whose simulated pod fails (see docs/local-cluster.md). */
export const failing = { labels: { 'kwok.bosun.dev/fail': 'true' } };

export function template(namespace: string, name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'PreviewTemplate',
    metadata: { name, namespace },
    spec: {
      build: {
        image: 'registry.local/${repository}:${commit}',
        template: { spec: { containers: [container('build', { image: 'kaniko', args: ['${commit}'] })] } },
      },
      initialize: {
        template: { spec: { containers: [container('init', { args: ['createdb', '${preview}'] })] } },
      },
      app: { port: 8080, template: { spec: { containers: [container('web')] } } },
      ingress: { domain: 'preview.test' },
      cleanup: {
        template: {
          spec: { containers: [container('drop', { image: 'postgres', args: ['dropdb', '${preview}'] })] },
        },
      },
      resources: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: '${preview}-env' },
          data: { BRANCH: '${branch}' },
        },
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: '${preview}-data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      ...spec,
    },
  };
}

export function repository(namespace: string, name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'PreviewRepository',
    metadata: { name, namespace },
    spec: {
      repository: `acme/${name}`,
      template: 'web',
      branches: ['*'],
      pullRequestTargets: ['main'],
      ...spec,
    },
  };
}

export function preview(
  namespace: string,
  name: string,
  spec: { repository?: string; branch?: string; commit?: string; pullRequest?: number; state?: string } = {},
): KubeObject {
  return {
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'Preview',
    metadata: { name, namespace },
    spec: {
      repository: spec.repository ?? 'shop',
      branch: spec.branch ?? 'main',
      commit: spec.commit ?? 'abcdef0123',
      ...(spec.pullRequest ? { pullRequest: spec.pullRequest, targetBranch: 'main' } : {}),
      ...(spec.state ? { state: spec.state } : {}),
    },
  };
}

export const ready = (p: KubeObject) =>
  p.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');

/** Waits until the preview satisfies `check`; the timeout message shows its phase and Ready reason. */
export function waitPreview(
  client: KubeClient,
  namespace: string,
  name: string,
  check: (p: KubeObject) => boolean,
  what: string,
  timeoutMs = 90_000,
): Promise<KubeObject> {
  return waitFor(
    async () => {
      const p = await client.get(PREVIEWS, namespace, name);
      return check(p)
        ? p
        : { pending: `phase ${p.status?.phase}, Ready ${ready(p)?.reason}: ${ready(p)?.message}` };
    },
    { what: `preview ${name}: ${what}`, timeoutMs },
  );
}

export const phase = (want: string) => (p: KubeObject) => p.status?.phase === want;
export const readyReason = (want: string) => (p: KubeObject) => ready(p)?.reason === want;

const core = (plural: string): ResourceRef => ({ group: '', version: 'v1', plural, namespaced: true });
/** Every kind a preview creates in these tests. */
export const PREVIEW_CHILD_KINDS: ResourceRef[] = [
  Resources.jobs,
  Resources.pods,
  Resources.deployments,
  Resources.replicaSets,
  core('services'),
  core('configmaps'),
  core('persistentvolumeclaims'),
  { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', namespaced: true },
];

/** Objects labelled with the preview, of every kind it creates. */
export async function labelled(client: KubeClient, namespace: string, name: string): Promise<string[]> {
  const found: string[] = [];
  for (const ref of PREVIEW_CHILD_KINDS) {
    const list = await client.list(ref, namespace, { labelSelector: `bosun.dev/preview=${name}` });
    for (const o of list.items) found.push(`${ref.plural}/${o.metadata.name}`);
  }
  return found;
}

export interface CapSamples {
  max: { deployed: number; running: number; initializing: number };
  /** Events observed so far: a measure of progress. */
  events: number;
  /** The uids seen under each Job name: more than one is a duplicated Job. */
  jobsCreated: Map<string, Set<string>>;
  stop(): void;
}

/**
 * Watches what really exists (Previews, their Jobs and Deployments) and records, after every
 * event, the highest number of deployed, running and initializing previews, and how often each
 * Job name was created (a name created twice is a duplicated Job). Deployed counts the live
 * previews holding a deploy slot, from the Previews' watch alone: the slot is recorded before any
 * child is created, and one watch keeps the order of a deletion and the admission it made room for.
 */
export async function sampleCaps(client: KubeClient, namespace: string): Promise<CapSamples> {
  const opts = { namespace, log: silentLogger };
  const previews = new WatchCache(client, PREVIEWS, opts);
  const jobs = new WatchCache(client, Resources.jobs, { ...opts, labelSelector: 'bosun.dev/preview' });
  const deployments = new WatchCache(client, Resources.deployments, {
    ...opts,
    labelSelector: 'bosun.dev/preview',
  });
  const samples: CapSamples = {
    max: { deployed: 0, running: 0, initializing: 0 },
    events: 0,
    jobsCreated: new Map(),
    stop: () => {
      for (const c of [previews, jobs, deployments]) c.stop();
    },
  };
  const sample = () => {
    const deployed = previews.list((p) => !p.metadata.deletionTimestamp && !!p.status?.admittedAt);
    // Pods asked for or still there, terminating ones included.
    const running = deployments.list(
      (d) =>
        (d.spec?.replicas ?? 0) > 0 ||
        (d.status?.replicas ?? 0) > 0 ||
        (d.status?.terminatingReplicas ?? 0) > 0,
    );
    const initializing = jobs.list(
      (j) =>
        j.metadata.labels?.['bosun.dev/preview-role'] === 'init' &&
        !j.status?.conditions?.some(
          (c: { type: string; status: string }) =>
            ['Complete', 'Failed'].includes(c.type) && c.status === 'True',
        ),
    );
    samples.events++;
    const m = samples.max;
    m.deployed = Math.max(m.deployed, deployed.length);
    m.running = Math.max(m.running, running.length);
    m.initializing = Math.max(m.initializing, initializing.length);
  };
  for (const c of [previews, deployments]) c.onEvent(sample);
  jobs.onEvent((e) => {
    const name = e.object.metadata.name as string;
    samples.jobsCreated.set(
      name,
      (samples.jobsCreated.get(name) ?? new Set()).add(e.object.metadata.uid as string),
    );
    sample();
  });
  for (const c of [previews, jobs, deployments]) c.start();
  await Promise.all([previews.synced, jobs.synced, deployments.synced]);
  return samples;
}
