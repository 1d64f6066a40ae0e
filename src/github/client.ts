// One Octokit per PreviewRepository, authenticated with its credentials: a token from a Secret, or
// a GitHub App installation (@octokit/auth-app signs the JWT with the private key from a Secret and
// caches installation tokens). `baseUrl` is https://api.github.com, a GitHub Enterprise Server's
// /api/v3, or a test's fake.
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import type { RepositoryObject } from '../controllers/preview/model.ts';
import type { KubeClient } from '../runtime/kube-client.ts';
import { type Logger, silentLogger } from '../runtime/log.ts';
import { DEFAULT_RETRY, installRetry, type RetryPolicy } from './retry.ts';
import { SecretReader } from './secrets.ts';

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

export interface GitHubClientOptions {
  baseUrl?: string;
  retry?: RetryPolicy;
  /** How long a client (and the credentials read for it) is reused. */
  reuseMs?: number;
  /** Octokit's warnings (deprecations); failed requests are logged by the caller, after retries. */
  log?: Logger;
}

export interface RepositoryClient {
  octokit: Octokit;
  owner: string;
  repo: string;
}

export class GitHubClients {
  private readonly secrets: SecretReader;
  private readonly opts: Required<GitHubClientOptions>;
  private readonly clients = new Map<string, { client: RepositoryClient; identity: string; at: number }>();

  constructor(kube: KubeClient, opts: GitHubClientOptions = {}) {
    this.secrets = new SecretReader(kube, 0);
    this.opts = {
      baseUrl: DEFAULT_GITHUB_API_URL,
      retry: DEFAULT_RETRY,
      reuseMs: 10 * 60_000,
      log: silentLogger,
      ...opts,
    };
  }

  /** The repository's client, or undefined when it has no credentials (nothing is reported). */
  async forRepository(repository: RepositoryObject): Promise<RepositoryClient | undefined> {
    const credentials = repository.spec.credentials;
    if (!credentials?.tokenSecretRef && !credentials?.githubApp) return undefined;
    const key = `${repository.metadata.namespace}/${repository.metadata.name}`;
    const identity = JSON.stringify([credentials, repository.spec.repository]);
    const cached = this.clients.get(key);
    if (cached && cached.identity === identity && Date.now() - cached.at < this.opts.reuseMs)
      return cached.client;
    const octokit = await this.build(repository);
    installRetry(octokit, this.opts.retry);
    const [owner, repo] = repository.spec.repository.split('/') as [string, string];
    const client = { octokit, owner, repo };
    this.clients.set(key, { client, identity, at: Date.now() });
    return client;
  }

  /** Forgets a client whose credentials GitHub refused, so the Secret is read again. */
  forget(repository: RepositoryObject): void {
    this.clients.delete(`${repository.metadata.namespace}/${repository.metadata.name}`);
  }

  private async build(repository: RepositoryObject): Promise<Octokit> {
    const namespace = repository.metadata.namespace as string;
    const { tokenSecretRef, githubApp } = repository.spec.credentials ?? {};
    const log = this.opts.log;
    const quiet = () => {};
    const common = {
      baseUrl: this.opts.baseUrl.replace(/\/+$/, ''),
      userAgent: 'bosun-preview',
      log: { debug: quiet, info: quiet, error: quiet, warn: (message: string) => log.warn(message) },
    };
    if (githubApp) {
      const privateKey = await this.secrets.read(namespace, githubApp.privateKeySecretRef);
      return new Octokit({
        ...common,
        authStrategy: createAppAuth,
        auth: { appId: githubApp.appId, installationId: githubApp.installationId, privateKey },
      });
    }
    const token = await this.secrets.read(namespace, tokenSecretRef as { name: string; key: string });
    return new Octokit({ ...common, auth: token });
  }
}
