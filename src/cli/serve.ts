// `bosun serve`: the HTTP server of previews (REST API, webhooks, UI) as its own process, with its
// own watch caches; and startHttp, which `bosun run --http-address` uses inside the operator.
import { parseArgs } from 'node:util';
import {
  PREVIEW_REPOSITORIES,
  PREVIEWS,
  type PreviewObject,
  type RepositoryObject,
} from '../controllers/preview/model.ts';
import { KubeClient } from '../runtime/kube-client.ts';
import { createLogger } from '../runtime/log.ts';
import { Manager } from '../runtime/manager.ts';
import { Metrics } from '../runtime/metrics.ts';
import { createHttpServer } from '../server/app.ts';
import { TokenAuthenticator } from '../server/auth.ts';
import { parseAddress } from '../server/probes.ts';

export const SERVE_USAGE = `usage: bosun serve [flags]   (each flag also reads the environment variable shown)
  --kubeconfig PATH                 kubeconfig file (KUBECONFIG; default: ~/.kube/config, else in-cluster)
  --namespace NS[,NS...]            serve only these namespaces (BOSUN_NAMESPACES; default: all)
  --http-address ADDR               the REST API, webhooks and UI (BOSUN_HTTP_ADDRESS; default: :8090)
  --tokens-secret NS/NAME           Secret of API tokens, "<scope>:<token>" per key (BOSUN_TOKENS_SECRET)
  --public-reads                    reads need no token (BOSUN_PUBLIC_READS=true; default: false)
  --health-probe-bind-address ADDR  /healthz and /readyz (BOSUN_HEALTH_ADDRESS; default: :8081; "0" disables)
  --log-level LEVEL                 trace, debug, info, warn, error (BOSUN_LOG_LEVEL; default: info)`;

export interface HttpFlags {
  address: string;
  tokensSecret?: string;
  publicReads: boolean;
}

/** Serves the HTTP side from the manager's informers (shared with its controllers, if any). */
export async function startHttp(manager: Manager, namespaces: string[], flags: HttpFlags) {
  const log = manager.log;
  const auth = new TokenAuthenticator({
    client: manager.client,
    log: log.child({ component: 'auth' }),
    secret: flags.tokensSecret,
    publicReads: flags.publicReads,
  });
  const app = createHttpServer(
    {
      client: manager.client,
      previews: manager.informer<PreviewObject>(PREVIEWS),
      repositories: manager.informer<RepositoryObject>(PREVIEW_REPOSITORIES),
      log,
      auth,
      namespaces,
    },
    { readiness: () => manager.readinessChecks() },
  );
  const { host, port } = parseAddress(flags.address);
  await auth.start();
  await app.listen({ host, port });
  log.info(
    { address: flags.address, tokensSecret: flags.tokensSecret ?? null, publicReads: flags.publicReads },
    'http server listening',
  );
  return {
    app,
    async stop() {
      auth.stop();
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
      'http-address': { type: 'string' },
      'tokens-secret': { type: 'string' },
      'public-reads': { type: 'boolean' },
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
  const log = createLogger(values['log-level'] ?? env.BOSUN_LOG_LEVEL ?? 'info');
  const manager = new Manager({
    client: KubeClient.fromKubeconfig(values.kubeconfig),
    log,
    metrics: new Metrics(),
    namespaces,
    healthAddress: health === '0' ? undefined : health,
  });
  const http = await startHttp(manager, namespaces, {
    address: values['http-address'] ?? env.BOSUN_HTTP_ADDRESS ?? ':8090',
    tokensSecret: values['tokens-secret'] ?? env.BOSUN_TOKENS_SECRET,
    publicReads: values['public-reads'] ?? env.BOSUN_PUBLIC_READS === 'true',
  });
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
