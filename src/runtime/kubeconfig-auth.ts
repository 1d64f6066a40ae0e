// The credentials a kubeconfig user stands for: a fixed token or username/password, a token file
// re-read as it rotates (a projected service account token), or an exec credential plugin whose
// ExecCredential is kept until it expires. A 401 drops what was cached so the next request fetches
// fresh credentials.
import { execFile } from 'node:child_process';
import { isAbsolute, join } from 'node:path';

/** What one request carries: an Authorization header and/or a client certificate. */
export interface Credentials {
  authorization?: string;
  cert?: string;
  key?: string;
}

export interface AuthSource {
  /** Credentials for the next request (cached; fetched again once expired). */
  credentials(): Promise<Credentials>;
  /** The server refused `used` (401). Forgets them if still cached; true when a retry may succeed. */
  invalidate(used: Credentials): boolean;
}

const fixed = (creds: Credentials): AuthSource => ({
  credentials: async () => creds,
  invalidate: () => false,
});
export const noAuth = fixed({});
export const staticToken = (token: string) => fixed({ authorization: `Bearer ${token}` });
export const basicAuth = (username: string, password: string) =>
  fixed({ authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` });

/** How long a token file is trusted before it is read again (client-go waits a minute too). */
export const TOKEN_FILE_TTL_MS = 60_000;

/** A bearer token in a file that its owner rotates (kubelet's projected service account token). */
export class TokenFile implements AuthSource {
  private cached: { creds: Credentials; readAt: number } | undefined;
  private readonly path: string;
  private readonly read: (path: string) => string;
  private readonly now: () => number;

  constructor(path: string, read: (path: string) => string, now: () => number = Date.now) {
    this.path = path;
    this.read = read;
    this.now = now;
  }

  async credentials(): Promise<Credentials> {
    if (!this.cached || this.now() - this.cached.readAt >= TOKEN_FILE_TTL_MS) {
      const token = this.read(this.path).trim();
      if (!token) throw new Error(`token file ${this.path} is empty`);
      this.cached = { creds: { authorization: `Bearer ${token}` }, readAt: this.now() };
    }
    return this.cached.creds;
  }

  invalidate(used: Credentials): boolean {
    if (this.cached?.creds === used) this.cached = undefined;
    return true;
  }
}

/** The `exec` section of a kubeconfig user. */
export interface ExecConfig {
  apiVersion?: string;
  command?: string;
  args?: string[] | null;
  env?: { name: string; value: string }[] | null;
  installHint?: string;
  provideClusterInfo?: boolean;
  interactiveMode?: string;
}

const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];
const EXEC_TIMEOUT_MS = 60_000;
/** How long a failed plugin run answers for itself before the plugin runs again. */
export const EXEC_RETRY_MS = 5_000;
/** Fetch new credentials this long before they expire, so none expires in flight. */
const EXPIRY_MARGIN_MS = 10_000;

interface ExecCredential {
  apiVersion?: string;
  kind?: string;
  status?: {
    token?: string;
    clientCertificateData?: string;
    clientKeyData?: string;
    expirationTimestamp?: string;
  };
}

/** An exec credential plugin (kubelogin, aws eks get-token, gke-gcloud-auth-plugin, ...). */
export class ExecPlugin implements AuthSource {
  private cached: { creds: Credentials; expiresAt: number } | undefined;
  private running: Promise<Credentials> | undefined;
  private failed: { error: Error; until: number } | undefined;
  /** How many times the plugin ran, for tests. */
  runs = 0;
  private readonly config: ExecConfig;
  private readonly command: string;
  private readonly cluster: Record<string, unknown>;
  private readonly now: () => number;

  constructor(
    config: ExecConfig,
    dir: string,
    cluster: Record<string, unknown>,
    now: () => number = Date.now,
  ) {
    if (!config.command) throw new Error('kubeconfig exec plugin has no command');
    if (!EXEC_API_VERSIONS.includes(config.apiVersion ?? ''))
      throw new Error(
        `kubeconfig exec plugin "${config.command}": apiVersion "${config.apiVersion ?? ''}" is not supported (use ${EXEC_API_VERSIONS.join(' or ')})`,
      );
    if (config.interactiveMode === 'Always')
      throw new Error(
        `kubeconfig exec plugin "${config.command}" needs a terminal (interactiveMode: Always); Bosun cannot provide one`,
      );
    this.config = config;
    // A command with a slash is a path, relative to the kubeconfig's directory; a bare name is looked up in PATH.
    this.command =
      config.command.includes('/') && !isAbsolute(config.command)
        ? join(dir, config.command)
        : config.command;
    this.cluster = cluster;
    this.now = now;
  }

  async credentials(): Promise<Credentials> {
    if (this.cached && this.now() < this.cached.expiresAt - EXPIRY_MARGIN_MS) return this.cached.creds;
    // A plugin that just failed is not run again by every request meanwhile.
    if (this.failed && this.now() < this.failed.until) throw this.failed.error;
    // Concurrent requests share one run of the plugin.
    this.running ??= this.run()
      .catch((error: Error) => {
        this.failed = { error, until: this.now() + EXEC_RETRY_MS };
        throw error;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  invalidate(used: Credentials): boolean {
    if (this.cached?.creds === used) this.cached = undefined;
    return true;
  }

  private async run(): Promise<Credentials> {
    this.runs++;
    const apiVersion = this.config.apiVersion as string;
    const info = {
      apiVersion,
      kind: 'ExecCredential',
      spec: { interactive: false, ...(this.config.provideClusterInfo ? { cluster: this.cluster } : {}) },
    };
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
    for (const { name, value } of this.config.env ?? []) env[name] = value;
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        this.command,
        this.config.args ?? [],
        { env, timeout: EXEC_TIMEOUT_MS, encoding: 'utf8' },
        (err, out, stderr) => {
          if (!err) return resolve(out);
          const hint = this.config.installHint ? `\n${this.config.installHint}` : '';
          if ((err as NodeJS.ErrnoException).code === 'ENOENT')
            return reject(new Error(`exec plugin "${this.command}" not found${hint}`));
          reject(new Error(`exec plugin "${this.command}" failed: ${stderr.trim() || err.message}`));
        },
      );
      child.stdin?.end();
    });
    const creds = parseExecCredential(stdout, apiVersion, this.command);
    this.cached = { creds: creds.creds, expiresAt: creds.expiresAt };
    return creds.creds;
  }
}

/** Reads a plugin's ExecCredential: a token and/or a client certificate, and when they expire. */
export function parseExecCredential(
  text: string,
  apiVersion: string,
  command: string,
): { creds: Credentials; expiresAt: number } {
  let cred: ExecCredential;
  try {
    cred = JSON.parse(text) as ExecCredential;
  } catch {
    throw new Error(`exec plugin "${command}" printed no ExecCredential JSON: ${text.slice(0, 200)}`);
  }
  if (cred.kind !== 'ExecCredential' || cred.apiVersion !== apiVersion)
    throw new Error(
      `exec plugin "${command}" printed ${cred.apiVersion}/${cred.kind}, expected an ExecCredential of ${apiVersion}`,
    );
  const s = cred.status ?? {};
  if (Boolean(s.clientCertificateData) !== Boolean(s.clientKeyData))
    throw new Error(`exec plugin "${command}": clientCertificateData and clientKeyData come together`);
  if (!s.token && !s.clientCertificateData)
    throw new Error(`exec plugin "${command}" returned neither a token nor a client certificate`);
  const expiresAt = s.expirationTimestamp ? Date.parse(s.expirationTimestamp) : Number.POSITIVE_INFINITY;
  if (Number.isNaN(expiresAt))
    throw new Error(`exec plugin "${command}": expirationTimestamp "${s.expirationTimestamp}" is not a time`);
  return {
    creds: {
      ...(s.token ? { authorization: `Bearer ${s.token}` } : {}),
      ...(s.clientCertificateData ? { cert: s.clientCertificateData, key: s.clientKeyData } : {}),
    },
    expiresAt,
  };
}
