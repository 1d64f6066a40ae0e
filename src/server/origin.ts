// Where users reach this server. Configured (`--public-url`), it is the one answer; otherwise it is
// where a request was sent, as its client saw it: behind an ingress that ends TLS, the proto is in
// X-Forwarded-Proto. Used for links back to this server (the GitHub login's redirect, the web UI).
// Links put where anyone may read them (on GitHub) come only from the configured URL: a Host
// header is the sender's to choose.
import type { FastifyRequest } from 'fastify';

export function isHttps(request: FastifyRequest): boolean {
  const forwarded = String(request.headers['x-forwarded-proto'] ?? '')
    .split(',')[0]
    ?.trim();
  return request.protocol === 'https' || forwarded === 'https';
}

/** "https://host[:port]" of the request. */
export const originOf = (request: FastifyRequest) =>
  `${isHttps(request) ? 'https' : 'http'}://${request.headers.host ?? request.hostname}`;

/** `--public-url`: an http(s) origin, "https://host[:port]" (the UI and API are served at its root). */
export function parsePublicUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`--public-url must be an absolute URL such as https://bosun.example.com, got "${raw}"`);
  }
  if (!['http:', 'https:'].includes(url.protocol))
    throw new Error(`--public-url must be http or https, got "${raw}"`);
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password)
    throw new Error(
      `--public-url is an origin (scheme, host and port) where Bosun is served at the root, got "${raw}"`,
    );
  return url.origin;
}
