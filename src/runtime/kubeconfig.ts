// Where the API server is and how to reach it: a kubeconfig file (--kubeconfig, else $KUBECONFIG,
// else ~/.kube/config) or, with none, the pod's service account. Our own small loader: the official
// client library costs ~90 MiB of memory to import, for what is a YAML file and a few TLS options.
// The rules follow kubectl's: a $KUBECONFIG list merges (the first file to name a cluster, user or
// context wins), and relative paths inside a file are relative to that file's directory.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import {
  type AuthSource,
  basicAuth,
  type ExecConfig,
  ExecPlugin,
  noAuth,
  staticToken,
  TokenFile,
} from './kubeconfig-auth.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Everything a request needs: the server, TLS options and a source of credentials. */
export interface Kubeconfig {
  server: URL;
  /** The context's namespace (in-cluster: the pod's), if any. */
  namespace: string | undefined;
  tls: TlsOptions;
  auth: AuthSource;
  /** An http(s) proxy for every request (the cluster's proxy-url). */
  proxyUrl: string | undefined;
  /** Where this came from, for messages: a file path or "in-cluster". */
  source: string;
}

export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  servername?: string;
}

/** The files and environment to read; tests inject their own. */
export interface LoadOptions {
  /** An explicit kubeconfig (--kubeconfig): must exist. */
  path?: string;
  env?: Record<string, string | undefined>;
  home?: string;
  serviceAccountDir?: string;
}

// The kubeconfig's own shape (kubectl's field names).
interface Named<T> {
  name: string;
  [k: string]: unknown;
  value: T;
}
export interface ClusterEntry {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}
export interface UserEntry {
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  exec?: ExecConfig;
  'auth-provider'?: { name?: string };
}
interface ContextEntry {
  cluster?: string;
  user?: string;
  namespace?: string;
}

/** One kubeconfig file, parsed, with the directory its relative paths start from. */
export interface KubeconfigFile {
  path: string;
  clusters: Map<string, { entry: ClusterEntry; dir: string }>;
  users: Map<string, { entry: UserEntry; dir: string }>;
  contexts: Map<string, ContextEntry>;
  currentContext: string | undefined;
}

export function parseKubeconfig(path: string, text: string): KubeconfigFile {
  let doc: Record<string, unknown>;
  try {
    doc = (parse(text) ?? {}) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`kubeconfig ${path} is not valid YAML: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`kubeconfig ${path} is not a mapping`);
  const dir = dirname(path);
  const entries = <T>(list: unknown, field: string): Map<string, T> => {
    const map = new Map<string, T>();
    if (list == null) return map;
    if (!Array.isArray(list)) throw new Error(`kubeconfig ${path}: ${field}s must be a list`);
    for (const item of list as Named<T>[]) {
      if (!item?.name) throw new Error(`kubeconfig ${path}: a ${field} has no name`);
      if (!map.has(item.name)) map.set(item.name, (item[field] ?? {}) as T);
    }
    return map;
  };
  const withDir = <T>(m: Map<string, T>) => new Map([...m].map(([k, entry]) => [k, { entry, dir }]));
  return {
    path,
    clusters: withDir(entries<ClusterEntry>(doc.clusters, 'cluster')),
    users: withDir(entries<UserEntry>(doc.users, 'user')),
    contexts: entries<ContextEntry>(doc.contexts, 'context'),
    currentContext: (doc['current-context'] as string | undefined) || undefined,
  };
}

/** Merges files the way kubectl does: for every name, and for current-context, the first file wins. */
export function mergeKubeconfigs(files: KubeconfigFile[]): KubeconfigFile {
  const merged: KubeconfigFile = {
    path: files.map((f) => f.path).join(delimiter),
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
    currentContext: files.find((f) => f.currentContext)?.currentContext,
  };
  for (const f of files) {
    for (const [k, v] of f.clusters) if (!merged.clusters.has(k)) merged.clusters.set(k, v);
    for (const [k, v] of f.users) if (!merged.users.has(k)) merged.users.set(k, v);
    for (const [k, v] of f.contexts) if (!merged.contexts.has(k)) merged.contexts.set(k, v);
  }
  return merged;
}

/** The current context's cluster and user, with every relative path made absolute. */
export function currentContext(kc: KubeconfigFile) {
  const name = kc.currentContext;
  if (!name)
    throw new Error(`kubeconfig ${kc.path} has no current-context (kubectl config use-context NAME)`);
  const context = kc.contexts.get(name);
  if (!context) throw new Error(`kubeconfig ${kc.path}: current-context "${name}" is not among its contexts`);
  const cluster = context.cluster ? kc.clusters.get(context.cluster) : undefined;
  if (!cluster) throw new Error(`kubeconfig ${kc.path}: context "${name}" names no known cluster`);
  if (!cluster.entry.server)
    throw new Error(`kubeconfig ${kc.path}: cluster "${context.cluster}" has no server`);
  const user = context.user ? kc.users.get(context.user) : undefined;
  if (context.user && !user)
    throw new Error(`kubeconfig ${kc.path}: context "${name}" names unknown user "${context.user}"`);
  return {
    name,
    namespace: context.namespace,
    cluster: cluster.entry,
    clusterDir: cluster.dir,
    user: user?.entry ?? {},
    userDir: user?.dir ?? '',
  };
}

type Read = (path: string) => string;

/** Turns the current context into what requests need, reading the files it names. */
export function resolveContext(kc: KubeconfigFile, read: Read): Kubeconfig {
  const { namespace, cluster, clusterDir, user, userDir } = currentContext(kc);
  const abs = (dir: string, p: string) => (isAbsolute(p) ? p : join(dir, p));
  const data = (inline: string | undefined, file: string | undefined, dir: string) =>
    inline ? Buffer.from(inline, 'base64').toString('utf8') : file ? read(abs(dir, file)) : undefined;
  const server = new URL(cluster.server as string);
  if (server.protocol !== 'https:')
    throw new Error(`kubeconfig ${kc.path}: server ${cluster.server} must be an https:// URL`);
  const ca = data(cluster['certificate-authority-data'], cluster['certificate-authority'], clusterDir);
  // As kubectl: verifying against a CA and not verifying at all cannot both be meant.
  if (ca && cluster['insecure-skip-tls-verify'])
    throw new Error(
      `kubeconfig ${kc.path}: the cluster sets both a certificate authority and insecure-skip-tls-verify; remove one`,
    );
  const tls: TlsOptions = {
    ...(ca ? { ca } : {}),
    rejectUnauthorized: !cluster['insecure-skip-tls-verify'],
    ...(cluster['tls-server-name'] ? { servername: cluster['tls-server-name'] } : {}),
  };
  const cert = data(user['client-certificate-data'], user['client-certificate'], userDir);
  const key = data(user['client-key-data'], user['client-key'], userDir);
  if (Boolean(cert) !== Boolean(key))
    throw new Error(`kubeconfig ${kc.path}: a client certificate needs its key, and a key its certificate`);
  if (cert && key) Object.assign(tls, { cert, key });
  const auth = (): AuthSource => {
    if (user['auth-provider'])
      throw new Error(
        `kubeconfig ${kc.path}: auth-provider "${user['auth-provider'].name}" is not supported; ` +
          'use an exec credential plugin (e.g. kubelogin, gke-gcloud-auth-plugin, aws eks get-token)',
      );
    if (user.exec)
      return new ExecPlugin(user.exec, userDir, {
        server: server.href,
        ...(ca ? { 'certificate-authority-data': Buffer.from(ca).toString('base64') } : {}),
        ...(cluster['insecure-skip-tls-verify'] ? { 'insecure-skip-tls-verify': true } : {}),
        ...(cluster['tls-server-name'] ? { 'tls-server-name': cluster['tls-server-name'] } : {}),
      });
    if (user.tokenFile) return new TokenFile(abs(userDir, user.tokenFile), read);
    if (user.token) return staticToken(user.token);
    if (user.username !== undefined && user.password !== undefined)
      return basicAuth(user.username, user.password);
    return noAuth;
  };
  return { server, namespace, tls, auth: auth(), proxyUrl: cluster['proxy-url'], source: kc.path };
}

/** The pod's own service account: KUBERNETES_SERVICE_HOST/PORT, the token (re-read as it rotates), ca.crt. */
export function inCluster(env: LoadOptions['env'], dir: string, read: Read): Kubeconfig {
  const host = env?.KUBERNETES_SERVICE_HOST;
  const port = env?.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw new Error('not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset');
  const namespaceFile = join(dir, 'namespace');
  return {
    server: new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`),
    namespace: existsSync(namespaceFile) ? read(namespaceFile).trim() : undefined,
    tls: { ca: read(join(dir, 'ca.crt')), rejectUnauthorized: true },
    auth: new TokenFile(join(dir, 'token'), read),
    proxyUrl: undefined,
    source: 'in-cluster',
  };
}

/** Loads --kubeconfig, else the $KUBECONFIG list, else ~/.kube/config, else the in-cluster service account. */
export function loadKubeconfig(opts: LoadOptions = {}): Kubeconfig {
  const env = opts.env ?? process.env;
  const read: Read = (p) => {
    try {
      return readFileSync(p, 'utf8');
    } catch (e) {
      throw new Error(`cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const load = (paths: string[]) =>
    resolveContext(mergeKubeconfigs(paths.map((p) => parseKubeconfig(p, read(p)))), read);
  if (opts.path) return load([opts.path]);
  if (env.KUBECONFIG) {
    // Missing files in the list are skipped, as kubectl does.
    const listed = env.KUBECONFIG.split(delimiter).filter((p) => p && existsSync(p));
    if (!listed.length) throw new Error(`KUBECONFIG=${env.KUBECONFIG}: none of these files exists`);
    return load(listed);
  }
  const home = join(opts.home ?? env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return load([home]);
  if (env.KUBERNETES_SERVICE_HOST) return inCluster(env, opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR, read);
  throw new Error(
    `no kubeconfig: pass --kubeconfig, set KUBECONFIG, create ${home}, or run in a pod with a service account`,
  );
}
