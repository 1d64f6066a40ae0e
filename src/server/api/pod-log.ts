// Streams a container's log through the API server's pods/log subresource. KubeClient.request
// buffers whole bodies, so this opens its own request with the client's kubeconfig credentials.
import https from 'node:https';
import type { KubeClient } from '../../runtime/kube-client.ts';
import { ApiError } from '../../runtime/kube-client.ts';

export interface PodLogRequest {
  namespace: string;
  pod: string;
  container: string;
  follow: boolean;
  signal: AbortSignal;
}

/**
 * Opens the log stream. Resolves with the response once the API server answered 200 (the caller
 * pipes it), rejects with an ApiError carrying the API server's status otherwise.
 */
export async function openPodLog(client: KubeClient, r: PodLogRequest): Promise<NodeJS.ReadableStream> {
  const query = new URLSearchParams({ container: r.container, ...(r.follow ? { follow: 'true' } : {}) });
  const path = `/api/v1/namespaces/${encodeURIComponent(r.namespace)}/pods/${encodeURIComponent(r.pod)}/log?${query}`;
  const { options: opts } = await client.requestOptions('GET', path, { Accept: '*/*' }, true);
  return new Promise((resolve, reject) => {
    const req = https.request({ ...opts, signal: r.signal }, (res) => {
      const code = res.statusCode ?? 0;
      if (code === 200) return resolve(res);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => reject(statusError(code, Buffer.concat(chunks).toString('utf8'))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function statusError(code: number, text: string): ApiError {
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string };
    return new ApiError(code, s.reason ?? `HTTP${code}`, s.message ?? text);
  } catch {
    return new ApiError(code, `HTTP${code}`, text.trim() || `HTTP ${code}`);
  }
}
