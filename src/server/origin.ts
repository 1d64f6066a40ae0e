// Where a request was sent, as its client saw it: behind an ingress that ends TLS, the proto is in
// X-Forwarded-Proto. Used for links back to this server (the GitHub login's redirect, the web UI).
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
