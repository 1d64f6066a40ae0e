// What the HTTP handlers share: the API client for writes, the informers for reads, the logger and
// the authenticator. The same context serves `bosun serve` and `bosun run --http-address`.

import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { PreviewObject, RepositoryObject } from '../controllers/preview/model.ts';
import type { GitHubClients } from '../github/client.ts';
import type { KubeClient } from '../runtime/kube-client.ts';
import type { Informer } from '../runtime/manager.ts';
import type { Authenticator } from './auth.ts';

export interface HttpContext {
  /** Writes go through the API server. */
  client: KubeClient;
  /** Watch cache of Previews: reads never hit the API server. */
  previews: Informer<PreviewObject>;
  repositories: Informer<RepositoryObject>;
  log: Logger;
  auth: Authenticator;
  /** The GitHub login's routes (/auth/...), when it is configured. */
  login?: { registerRoutes(app: FastifyInstance): void };
  /** GitHub clients per PreviewRepository, for what the webhook reports itself (a fork awaiting approval). */
  github?: GitHubClients;
  /** `--public-url`: where users reach the web UI, for links put on GitHub. */
  publicUrl?: string;
  /** Namespaces served; empty = all. */
  namespaces: string[];
}
