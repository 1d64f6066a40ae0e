// Streams a container's log through the API server's pods/log subresource, which the API server
// answers by calling the kubelet of the pod's node. KubeClient.request buffers whole bodies, so
// this opens its own request with the same kubeconfig credentials.
import https from 'node:https';
import type { KubeClient } from '../runtime/kube-client.ts';

export class LogError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export interface LogOptions {
  follow: boolean;
  /** Aborting ends the stream quietly (the caller decided it is over). */
  signal?: AbortSignal;
}

/** Writes the log to `out` as it arrives; resolves when the stream ends or is aborted. */
export async function streamPodLog(
  client: KubeClient,
  namespace: string,
  pod: string,
  container: string,
  opts: LogOptions,
  out: (chunk: Buffer) => void,
): Promise<void> {
  const query = new URLSearchParams({ container, ...(opts.follow ? { follow: 'true' } : {}) });
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?${query}`;
  const { options: reqOpts } = await client.requestOptions('GET', path, { Accept: '*/*' }, true);
  if (opts.signal?.aborted) return;
  await new Promise<void>((resolve, reject) => {
    const req = https.request({ ...reqOpts, signal: opts.signal }, (res) => {
      const code = res.statusCode ?? 0;
      if (code !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          reject(new LogError(code, statusMessage(Buffer.concat(chunks).toString('utf8')))),
        );
        return;
      }
      res.on('data', out);
      res.on('end', resolve);
      res.on('error', (e) => (opts.signal?.aborted ? resolve() : reject(e)));
    });
    req.on('error', (e) => (opts.signal?.aborted ? resolve() : reject(e)));
    req.end();
  });
}

function statusMessage(text: string): string {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    return text.trim() || '(empty response)';
  }
}

/** What to tell a person when the API server could not get a log (see LogError.code). */
export function explainLogError(e: LogError, pod: string, node: string | undefined): string {
  const where = node ? `the kubelet of node ${node}` : 'a kubelet (the pod is not scheduled yet)';
  if (e.code >= 500)
    return `the API server could not read pod ${pod}'s log from ${where}: ${e.message}\n  (the API server must reach the node's kubelet: its InternalIP and kubelet port)`;
  return `pod ${pod}: ${e.message}`;
}
