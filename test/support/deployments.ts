// Helpers for tests that roll Deployments out and watch hook Jobs.

import { HOOKS } from '../../src/controllers/deploymenthook/controller.ts';
import { rolloutState } from '../../src/controllers/deploymenthook/rollout.ts';
import type { KubeClient, KubeObject } from '../../src/runtime/kube-client.ts';
import { Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';

export interface DeploymentOptions {
  image?: string;
  replicas?: number;
  labels?: Record<string, string>;
  podAnnotations?: Record<string, string>;
  progressDeadlineSeconds?: number;
}

export function deployment(namespace: string, name: string, o: DeploymentOptions = {}): KubeObject {
  const labels = o.labels ?? { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: o.replicas ?? 1,
      ...(o.progressDeadlineSeconds ? { progressDeadlineSeconds: o.progressDeadlineSeconds } : {}),
      selector: { matchLabels: { 'test.bosun.dev/deployment': name } },
      template: {
        metadata: {
          labels: { ...labels, 'test.bosun.dev/deployment': name },
          annotations: o.podAnnotations ?? {},
        },
        spec: { containers: [{ name: 'web', image: o.image ?? 'registry.example/web:1' }] },
      },
    },
  };
}

/** Waits until the Deployment has rolled out `revision` completely; returns it. */
export function waitRolledOut(
  client: KubeClient,
  namespace: string,
  name: string,
  revision: string,
  timeoutMs = 90_000,
): Promise<KubeObject> {
  return waitFor(
    async () => {
      const d = await client.get(Resources.deployments, namespace, name);
      const s = rolloutState(d);
      return s.phase === 'Complete' && s.revision === revision
        ? d
        : { pending: `${s.phase} revision ${s.revision} ${'message' in s ? s.message : ''}` };
    },
    { what: `Deployment ${name} revision ${revision} rolled out`, timeoutMs },
  );
}

export async function hookJobs(client: KubeClient, namespace: string, hook?: string): Promise<KubeObject[]> {
  const list = await client.list(Resources.jobs, namespace, {
    labelSelector: hook ? `bosun.dev/hook=${hook}` : 'bosun.dev/hook',
  });
  return list.items.sort(
    (a, b) =>
      String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)) ||
      String(a.metadata.name).localeCompare(String(b.metadata.name)),
  );
}

export const jobSucceeded = (j: KubeObject) =>
  (j.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'Complete' && c.status === 'True',
  );

export function hook(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  annotations?: Record<string, string>,
): KubeObject {
  return {
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'DeploymentHook',
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec,
  };
}

export async function getHook(client: KubeClient, namespace: string, name: string): Promise<KubeObject> {
  return client.get(HOOKS, namespace, name);
}

/** Waits until the hook's status satisfies `check`; returns the hook. */
export function waitHook(
  client: KubeClient,
  namespace: string,
  name: string,
  what: string,
  check: (h: KubeObject) => boolean,
  timeoutMs = 60_000,
): Promise<KubeObject> {
  return waitFor(
    async () => {
      const h = await getHook(client, namespace, name);
      return check(h) ? h : { pending: JSON.stringify(h.status ?? {}) };
    },
    { what: `hook ${name}: ${what}`, timeoutMs },
  );
}

export const condition = (o: KubeObject, type: string) =>
  (o.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
