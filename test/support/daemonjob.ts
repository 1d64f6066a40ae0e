// DaemonJob test helpers: a pool of kwok nodes per test (a label the DaemonJob selects, so tests
// do not see each other's nodes), DaemonJob manifests, and waits on its status.
import type { TestContext } from 'node:test';
import { DAEMONJOBS } from '../../src/controllers/daemonjob/controller.ts';
import { addNodes, deleteNodes } from '../../src/dev/nodes.ts';
import { type KubeClient, type KubeObject, Resources } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';

export async function pool(
  t: TestContext,
  client: KubeClient,
  name: string,
  count: number,
  labels: Record<string, string>[] = [],
): Promise<string[]> {
  const nodes = await addNodes(client, count);
  t.after(() => deleteNodes(client, nodes));
  await Promise.all(
    nodes.map((n, i) =>
      client.mergePatch(Resources.nodes, undefined, n, {
        metadata: { labels: { pool: name, ...labels[i] } },
      }),
    ),
  );
  return nodes;
}

export function daemonJob(
  ns: string,
  name: string,
  spec: Record<string, unknown> & {
    podLabels?: Record<string, string>;
    podAnnotations?: Record<string, string>;
    podSpec?: Record<string, unknown>;
  },
): KubeObject {
  const { podLabels, podAnnotations, podSpec, ...rest } = spec;
  return {
    apiVersion: 'bosun.dev/v1alpha1',
    kind: 'DaemonJob',
    metadata: { name, namespace: ns },
    spec: {
      template: {
        metadata: { labels: podLabels ?? {}, annotations: podAnnotations ?? {} },
        spec: {
          restartPolicy: 'Never',
          nodeSelector: { pool: ns },
          containers: [{ name: 'clean', image: 'busybox', command: ['rm', '-rf', '/host/tmp/cache'] }],
          ...podSpec,
        },
      },
      ...rest,
    },
  };
}

export const get = (client: KubeClient, ns: string, name: string) => client.get(DAEMONJOBS, ns, name);
export const waitPhase = (client: KubeClient, ns: string, name: string, phase: string, timeoutMs = 90_000) =>
  waitFor(
    async () => {
      const d = await get(client, ns, name);
      return d.status?.phase === phase ? d : { pending: JSON.stringify(d.status ?? {}) };
    },
    { what: `DaemonJob ${name} ${phase}`, timeoutMs },
  );
/** The per-node pods of every DaemonJob in the namespace. */
export const podsOf = async (client: KubeClient, ns: string) =>
  (await client.list(Resources.pods, ns, { labelSelector: 'bosun.dev/daemonjob' })).items;
export const nodeOf = (p: KubeObject) => p.metadata.annotations?.['bosun.dev/node'] as string;
export const podSucceeded = (p: KubeObject) => p.status?.phase === 'Succeeded';
