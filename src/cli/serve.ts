// `bosun serve`: the HTTP server of previews (REST API, webhooks, UI) as its own process, with its
// own watch caches; and startHttp, which `bosun run --http-address` uses inside the operator.
import { parseArgs } from 'node:util';
import {
  PREVIEW_REPOSITORIES,
  PREVIEWS,
  type PreviewObject,
  type RepositoryObject,
} from '../controllers/preview/model.ts';
import { DEFAULT_GITHUB_API_URL, GitHubClients } from '../github/client.ts';
import { KubeClient } from '../runtime/kube-client.ts';
import { createLogger } from '../runtime/log.ts';
import { Manager } from '../runtime/manager.ts';
import { Metrics } from '../runtime/metrics.ts';
import { createHttpServer } from '../server/app.ts';
import { Authenticators, TokenAuthenticator } from '../server/auth.ts';
import { GitHubLogin } from '../server/auth-github.ts';
import { parsePublicUrl } from '../server/origin.ts';
import { parseAddress } from '../server/probes.ts';

export const SERVE_USAGE = `usage: bosun serve [flags]   (each flag also reads the environment variable shown)
  --kubeconfig PATH                 kubeconfig file (KUBECONFIG; default: ~/.kube/config, else in-cluster)
  --namespace NS[,NS...]            serve only these namespaces (BOSUN_NAMESPACES; default: all)
  --http-address ADDR               the REST API, webhooks and UI (BOSUN_HTTP_ADDRESS; default: :8090)
  --tokens-secret NS/NAME           Secret of API tokens, "<scope>:<token>" per key (BOSUN_TOKENS_SECRET)
  --public-reads                    reads need no token (BOSUN_PUBLIC_READS=true; default: false)
  --github-oauth-secret NS/NAME     sign in with GitHub: Secret with clientId, clientSecret, sessionKey (BOSUN_GITHUB_OAUTH_SECRET)
  --github-web-url URL              GitHub's web host for the login (BOSUN_GITHUB_WEB_URL; default: https://github.com)
  --github-api-url URL              GitHub's REST API (BOSUN_GITHUB_API_URL; default: https://api.github.com)
  --public-url URL                  where users reach this server, e.g. https://bosun.example.com (BOSUN_PUBLIC_URL): the
                                    GitHub login's redirect, and links from GitHub to the web UI (default: none; the
                                    login then redirects to the Host the browser used)
  --health-probe-bind-address ADDR  /healthz and /readyz (BOSUN_HEALTH_ADDRESS; default: :8081; "0" disables)
  --log-level LEVEL                 trace, debug, info, warn, error (BOSUN_LOG_LEVEL; default: info)`;

export interface HttpFlags {
  address: string;
  tokensSecret?: string;
  publicReads: boolean;
  githubOAuthSecret?: string;
  githubWebUrl?: string;
  githubApiUrl?: string;
  publicUrl?: string;
}

/** The HTTP flags shared by `bosun run` and `bosun serve`, from their values and the environment. */
export function httpFlags(
  values: Record<string, string | boolean | string[] | undefined>,
  address: string,
): HttpFlags {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  return {
    address,
    tokensSecret: str('tokens-secret') ?? env.BOSUN_TOKENS_SECRET,
    publicReads: (values['public-reads'] as boolean | undefined) ?? env.BOSUN_PUBLIC_READS === 'true',
    githubOAuthSecret: str('github-oauth-secret') ?? env.BOSUN_GITHUB_OAUTH_SECRET,
    githubWebUrl: str('github-web-url') ?? env.BOSUN_GITHUB_WEB_URL,
    githubApiUrl: str('github-api-url') ?? env.BOSUN_GITHUB_API_URL,
    publicUrl: publicUrlFlag(values),
  };
}

export const HTTP_OPTIONS = {
  'http-address': { type: 'string' },
  'tokens-secret': { type: 'string' },
  'public-reads': { type: 'boolean' },
  'github-oauth-secret': { type: 'string' },
  'github-web-url': { type: 'string' },
  'github-api-url': { type: 'string' },
  'public-url': { type: 'string' },
} as const;

/** `--public-url` (or BOSUN_PUBLIC_URL), checked; `bosun run` reads it with or without --http-address. */
export function publicUrlFlag(values: Record<string, unknown>): string | undefined {
  const raw = typeof values['public-url'] === 'string' ? values['public-url'] : env.BOSUN_PUBLIC_URL;
  return raw ? parsePublicUrl(raw) : undefined;
}

/** Serves the HTTP side from the manager's informers (shared with its controllers, if any). */
export async function startHttp(manager: Manager, namespaces: string[], flags: HttpFlags) {
  const log = manager.log;
  const repositories = manager.informer<RepositoryObject>(PREVIEW_REPOSITORIES);
  const tokens = new TokenAuthenticator({
    client: manager.client,
    log: log.child({ component: 'auth' }),
    secret: flags.tokensSecret,
    publicReads: flags.publicReads,
  });
  const login = flags.githubOAuthSecret
    ? new GitHubLogin({
        client: manager.client,
        log: log.child({ component: 'github-login' }),
        secret: flags.githubOAuthSecret,
        webUrl: flags.githubWebUrl ?? 'https://github.com',
        apiUrl: flags.githubApiUrl ?? DEFAULT_GITHUB_API_URL,
        repositories: () => repositories.list().map((r) => r.spec.repository),
        publicUrl: flags.publicUrl,
      })
    : undefined;
  const auth = new Authenticators(tokens, login);
  const app = createHttpServer(
    {
      client: manager.client,
      previews: manager.informer<PreviewObject>(PREVIEWS),
      repositories,
      log,
      auth,
      login,
      github: new GitHubClients(manager.client, {
        baseUrl: flags.githubApiUrl ?? DEFAULT_GITHUB_API_URL,
        log: log.child({ component: 'github' }),
      }),
      namespaces,
      publicUrl: flags.publicUrl,
    },
    { readiness: () => manager.readinessChecks() },
  );
  const { host, port } = parseAddress(flags.address);
  await Promise.all([tokens.start(), login?.start()]);
  await app.listen({ host, port });
  log.info(
    {
      address: flags.address,
      tokensSecret: flags.tokensSecret ?? null,
      publicReads: flags.publicReads,
      githubOAuthSecret: flags.githubOAuthSecret ?? null,
    },
    'http server listening',
  );
  return {
    app,
    async stop() {
      tokens.stop();
      login?.stop();
      await app.close();
    },
  };
}

export const splitNamespaces = (values: string[] | undefined, variable: string | undefined) =>
  (values ?? (variable ? [variable] : []))
    .flatMap((n) => n.split(','))
    .map((n) => n.trim())
    .filter(Boolean);

const env = process.env;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string', multiple: true },
      ...HTTP_OPTIONS,
      'health-probe-bind-address': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  const namespaces = splitNamespaces(values.namespace, env.BOSUN_NAMESPACES);
  const health = values['health-probe-bind-address'] ?? env.BOSUN_HEALTH_ADDRESS ?? ':8081';
  const flags = httpFlags(values, values['http-address'] ?? env.BOSUN_HTTP_ADDRESS ?? ':8090');
  const log = createLogger(values['log-level'] ?? env.BOSUN_LOG_LEVEL ?? 'info');
  const manager = new Manager({
    client: KubeClient.fromKubeconfig(values.kubeconfig),
    log,
    metrics: new Metrics(),
    namespaces,
    healthAddress: health === '0' ? undefined : health,
  });
  const http = await startHttp(manager, namespaces, flags);
  const stop = (signal: string) => {
    log.info({ signal }, 'received signal');
    Promise.all([http.stop(), manager.stop()]).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await manager.start();
  log.info({ namespaces: namespaces.length ? namespaces : 'all' }, 'bosun serve started');
  return new Promise<number>(() => {});
}
