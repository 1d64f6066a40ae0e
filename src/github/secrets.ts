// Reads one key of a Secret (webhook HMAC keys, tokens, App private keys). Values are kept a short
// while so that a burst of webhooks does not read the same Secret a hundred times; a caller whose
// value no longer works (a rotated secret) asks again with `fresh`.
import type { KubeClient, ResourceRef } from '../runtime/kube-client.ts';

export const SECRETS: ResourceRef = { group: '', version: 'v1', plural: 'secrets', namespaced: true };

export interface SecretKeyRef {
  name: string;
  key: string;
}

/** A reference that names no usable value: the user has to fix the Secret or the reference. */
export class SecretError extends Error {
  override name = 'SecretError';
}

/** How old a value read again at once (`fresh`) may be. */
const FRESH_MS = 1000;

export class SecretReader {
  private readonly cache = new Map<string, { value: string; at: number }>();
  private readonly client: KubeClient;
  private readonly ttlMs: number;

  constructor(client: KubeClient, ttlMs = 10_000) {
    this.client = client;
    this.ttlMs = ttlMs;
  }

  /**
   * The value, from a cache of `ttlMs`. `fresh` asks for a value read within the last second: a
   * failed check reads a rotated Secret at once, and a flood of bad signatures reads it once a second.
   */
  async read(namespace: string, ref: SecretKeyRef, opts: { fresh?: boolean } = {}): Promise<string> {
    const id = `${namespace}/${ref.name}/${ref.key}`;
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < (opts.fresh ? FRESH_MS : this.ttlMs)) return hit.value;
    const secret = await this.client.get(SECRETS, namespace, ref.name).catch((e) => {
      throw new SecretError(`Secret ${namespace}/${ref.name}: ${e instanceof Error ? e.message : e}`);
    });
    const encoded = secret.data?.[ref.key] as string | undefined;
    if (!encoded) throw new SecretError(`Secret ${namespace}/${ref.name} has no key "${ref.key}"`);
    const value = Buffer.from(encoded, 'base64').toString('utf8').trim();
    if (!value) throw new SecretError(`Secret ${namespace}/${ref.name} key "${ref.key}" is empty`);
    this.cache.set(id, { value, at: Date.now() });
    return value;
  }
}
