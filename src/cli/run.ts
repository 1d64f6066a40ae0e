// `bosun run`: the operator process.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { isLabelKey, LABEL_KEY_MESSAGE } from '../api/selector.ts';
import { registerControllers } from '../controllers/index.ts';
import { KubeClient } from '../runtime/kube-client.ts';
import { createLogger } from '../runtime/log.ts';
import { Manager } from '../runtime/manager.ts';
import { Metrics } from '../runtime/metrics.ts';
import { startAdmission } from '../server/admission/index.ts';
import { ADMISSION_OPTIONS, parseAdmissionFlags } from './admission-flags.ts';
import { duration } from './preview-args.ts';
import { HTTP_OPTIONS, httpFlags, publicUrlFlag, startHttp } from './serve.ts';

export const RUN_USAGE = `usage: bosun run [flags]   (each flag also reads the environment variable shown)
  --kubeconfig PATH                 kubeconfig file (KUBECONFIG; default: ~/.kube/config, else in-cluster)
  --namespace NS[,NS...]            watch only these namespaces (BOSUN_NAMESPACES; default: all)
  --hook-opt-in-label KEY           DeploymentHooks see only workloads with this label, e.g. apps.mx.com/deploymenthook
                                    (BOSUN_HOOK_OPT_IN_LABEL; default: every workload; see docs/deploymenthook.md)
  --leader-elect                    elect a leader through a Lease before reconciling (BOSUN_LEADER_ELECT=true)
  --leader-election-namespace NS    namespace of the Lease (POD_NAMESPACE; default: default)
  --leader-election-id NAME         name of the Lease (default: bosun-operator)
  --workers N                       concurrent reconciles per controller (BOSUN_WORKERS; default: 4)
  --metrics-bind-address ADDR       /metrics (BOSUN_METRICS_ADDRESS; default: :8080; "0" disables)
  --health-probe-bind-address ADDR  /healthz and /readyz (BOSUN_HEALTH_ADDRESS; default: :8081; "0" disables)
  --http-address ADDR               serve the previews' REST API, webhooks and UI here (BOSUN_HTTP_ADDRESS; default: off)
  --tokens-secret NS/NAME           with --http-address: Secret of API tokens (BOSUN_TOKENS_SECRET; see bosun serve --help)
  --public-reads                    with --http-address: reads need no token (BOSUN_PUBLIC_READS=true)
  --github-oauth-secret NS/NAME     with --http-address: sign in with GitHub (BOSUN_GITHUB_OAUTH_SECRET; see bosun serve --help)
  --github-web-url URL              GitHub's web host for the login (BOSUN_GITHUB_WEB_URL; default: https://github.com)
  --public-url URL                  where users reach the web UI, e.g. https://bosun.example.com (BOSUN_PUBLIC_URL): the login's
                                    redirect, and links from GitHub (comments, a fork's pending status) to the UI; see bosun serve --help
  --admission-address ADDR          serve the BeforeRollout admission webhook (TLS) here (BOSUN_ADMISSION_ADDRESS; default: off)
  --admission-url URL               with --admission-address: the API server calls this URL (a local control plane)
  --admission-service NS/NAME       ... or this Service on port 443 (in a cluster; BOSUN_ADMISSION_SERVICE)
  --admission-secret NS/NAME        Secret of the webhook's CA and certificate (BOSUN_ADMISSION_SECRET; default: POD_NAMESPACE/bosun-webhook-tls)
  --admission-webhook NAME          the MutatingWebhookConfiguration (default: bosun-before-rollout)
  --shutdown-timeout SECONDS        time to finish in-flight reconciles on SIGTERM (default: 30)
  --preview-max-initializing N      default cap for repositories that set none (BOSUN_PREVIEW_MAX_INITIALIZING; default: 2)
  --preview-max-running N           (BOSUN_PREVIEW_MAX_RUNNING; default: 6)
  --preview-max-deployed N          (BOSUN_PREVIEW_MAX_DEPLOYED; default: 10)
  --github-api-url URL              GitHub's REST API for statuses, comments, deployments (BOSUN_GITHUB_API_URL; default: https://api.github.com)
  --github-resync-interval DURATION undeploy previews whose pull request closed or branch went while no webhook came,
                                    checked this often per repository (BOSUN_GITHUB_RESYNC_INTERVAL; default: 15m; 0: never)
  --log-level LEVEL                 trace, debug, info, warn, error (BOSUN_LOG_LEVEL; default: info)`;

const env = process.env;

/** 0 (off), or from a second to a day: a timer cannot wait longer, and GitHub should not be asked more often. */
export function resyncInterval(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (raw === '0') return 0;
  const ms = duration(raw, '--github-resync-interval');
  if (ms < 1000 || ms > 86_400_000)
    throw new Error(`--github-resync-interval must be between 1s and 24h (or 0 for never), got "${raw}"`);
  return ms;
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string', multiple: true },
      'hook-opt-in-label': { type: 'string' },
      'leader-elect': { type: 'boolean' },
      'leader-election-namespace': { type: 'string' },
      'leader-election-id': { type: 'string' },
      workers: { type: 'string' },
      'metrics-bind-address': { type: 'string' },
      'health-probe-bind-address': { type: 'string' },
      'shutdown-timeout': { type: 'string' },
      ...HTTP_OPTIONS,
      ...ADMISSION_OPTIONS,
      'log-level': { type: 'string' },
      'preview-max-initializing': { type: 'string' },
      'preview-max-running': { type: 'string' },
      'preview-max-deployed': { type: 'string' },
      'github-resync-interval': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  const workers = Number(values.workers ?? env.BOSUN_WORKERS ?? 4);
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`--workers must be a positive integer, got "${values.workers ?? env.BOSUN_WORKERS}"`);
  const shutdownSeconds = Number(values['shutdown-timeout'] ?? 30);
  if (!(shutdownSeconds >= 0)) throw new Error('--shutdown-timeout must be a number of seconds');
  const namespaces = (values.namespace ?? (env.BOSUN_NAMESPACES ? [env.BOSUN_NAMESPACES] : []))
    .flatMap((n) => n.split(','))
    .map((n) => n.trim())
    .filter(Boolean);
  const address = (flag: string | undefined, variable: string | undefined, fallback: string) => {
    const a = flag ?? variable ?? fallback;
    return a === '0' ? undefined : a;
  };
  const leaderElect = values['leader-elect'] ?? env.BOSUN_LEADER_ELECT === 'true';
  const hookOptInLabel = values['hook-opt-in-label'] ?? env.BOSUN_HOOK_OPT_IN_LABEL ?? undefined;
  if (hookOptInLabel !== undefined && !isLabelKey(hookOptInLabel))
    throw new Error(`--hook-opt-in-label ${LABEL_KEY_MESSAGE}, got "${hookOptInLabel}"`);
  // Every flag is checked before anything connects: a typo is named, not a missing cluster.
  const publicUrl = publicUrlFlag(values);
  const githubResyncMs = resyncInterval(values['github-resync-interval'] ?? env.BOSUN_GITHUB_RESYNC_INTERVAL);
  const httpAddress = values['http-address'] ?? env.BOSUN_HTTP_ADDRESS;
  const http = httpAddress ? httpFlags(values, httpAddress) : undefined;

  const log = createLogger(values['log-level'] ?? env.BOSUN_LOG_LEVEL ?? 'info');
  const client = KubeClient.fromKubeconfig(values.kubeconfig);
  const metrics = new Metrics();
  const manager = new Manager({
    client,
    log,
    metrics,
    namespaces,
    metricsAddress: address(values['metrics-bind-address'], env.BOSUN_METRICS_ADDRESS, ':8080'),
    healthAddress: address(values['health-probe-bind-address'], env.BOSUN_HEALTH_ADDRESS, ':8081'),
    shutdownTimeoutMs: shutdownSeconds * 1000,
    leaderElection: leaderElect
      ? {
          namespace: values['leader-election-namespace'] ?? env.POD_NAMESPACE ?? 'default',
          name: values['leader-election-id'] ?? 'bosun-operator',
          identity: `${hostname()}_${randomUUID()}`,
        }
      : undefined,
  });
  const cap = (flag: string, variable: string) => {
    const raw = values[flag as 'preview-max-running'] ?? env[variable];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`--${flag} must be a non-negative integer, got "${raw}"`);
    return n;
  };
  const previewCaps = {
    maxInitializing: cap('preview-max-initializing', 'BOSUN_PREVIEW_MAX_INITIALIZING'),
    maxRunning: cap('preview-max-running', 'BOSUN_PREVIEW_MAX_RUNNING'),
    maxDeployed: cap('preview-max-deployed', 'BOSUN_PREVIEW_MAX_DEPLOYED'),
  };
  registerControllers(manager, {
    workers,
    ...(hookOptInLabel ? { hookOptInLabel } : {}),
    previewCaps: Object.fromEntries(Object.entries(previewCaps).filter(([, v]) => v !== undefined)),
    githubApiUrl: values['github-api-url'] ?? env.BOSUN_GITHUB_API_URL,
    publicUrl,
    githubResyncMs,
  });

  // Registered before start: the same informers (and caches) as the controllers.
  const server = http ? await startHttp(manager, namespaces, http) : undefined;

  const admissionFlags = parseAdmissionFlags(values, env);
  const admission = admissionFlags
    ? await startAdmission(manager, admissionFlags, hookOptInLabel)
    : undefined;

  let signals = 0;
  const onSignal = (signal: string) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, 'second signal; exiting now');
      process.exit(1);
    }
    log.info({ signal }, 'received signal');
    Promise.all([server?.stop(), admission?.stop(), manager.stop()]).then(
      () => process.exit(0),
      (e) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await manager.start();
  log.info(
    { namespaces: namespaces.length ? namespaces : 'all', leaderElect, workers, hookOptInLabel },
    'bosun operator started',
  );
  return new Promise<number>(() => {}); // runs until a signal
}
