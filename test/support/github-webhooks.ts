// Posts GitHub webhooks to a running Bosun the way GitHub does: the JSON body signed with
// HMAC-SHA256 (X-Hub-Signature-256) under the secret read back from the cluster's Secret.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { sign } from '@octokit/webhooks-methods';
import { SECRETS } from '../../src/github/secrets.ts';
import type { KubeClient } from '../../src/runtime/kube-client.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The webhook secret as a user stores it: a Secret in the repository's namespace. */
export async function createWebhookSecret(
  client: KubeClient,
  namespace: string,
  name: string,
  value: string,
) {
  await client.create(SECRETS, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    stringData: { secret: value },
  });
}

/** Reads the secret back from the cluster: the HMAC is computed with what Bosun will read. */
export async function secretValue(client: KubeClient, namespace: string, name: string, key = 'secret') {
  const s = await client.get(SECRETS, namespace, name);
  return Buffer.from(s.data[key], 'base64').toString('utf8');
}

export interface Delivery {
  event: string;
  body: string;
  /** The HMAC key; undefined sends no signature. */
  secret?: string;
  delivery?: string;
  /** Overrides the computed signature. */
  signature?: string;
}

export async function postWebhook(url: string, d: Delivery): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': d.event,
    'x-github-delivery': d.delivery ?? randomUUID(),
    'user-agent': 'GitHub-Hookshot/test',
  };
  const signature = d.signature ?? (d.secret !== undefined ? await sign(d.secret, d.body) : undefined);
  if (signature) headers['x-hub-signature-256'] = signature;
  const res = await fetch(`${url}/webhooks/github`, { method: 'POST', headers, body: d.body });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}
