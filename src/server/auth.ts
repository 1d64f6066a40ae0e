// Bearer tokens and their scopes. Tokens live in a Secret (`--tokens-secret NAMESPACE/NAME`): each
// data key names a token, each value is "<scope>:<token>" with scope read, operate or admin. The
// Secret is read through the API server and re-read every 30 s (and at once, at most every 5 s, when
// an unknown token is presented, so a new token works without waiting). Tokens are compared in
// constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isNotFound, type KubeClient, type KubeObject } from '../runtime/kube-client.ts';

export type Scope = 'read' | 'operate' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'operate', 'admin'];

export interface Identity {
  subject?: string;
  scopes: Scope[];
  /** A GitHub login session (cookie): what it may change is decided per repository. */
  github?: { login: string; token: string; sessionId: string; csrfToken: string };
}

export interface Authenticator {
  authenticate(request: FastifyRequest): Promise<Identity>;
  /** May `identity` do `action` on the previews of `repository` (the forge's "owner/name")? */
  authorize?(identity: Identity, action: Scope, repository: string | undefined): Promise<boolean>;
  /** Where a browser starts a login, when one is configured. */
  loginUrl?: string;
}

/** Sessions of people signed in elsewhere (the GitHub login): undefined when the request has none. */
export interface SessionAuthenticator {
  readonly loginUrl: string;
  authenticate(request: FastifyRequest): Promise<Identity | undefined>;
  authorize(identity: Identity, action: Scope, repository: string | undefined): Promise<boolean>;
}

/**
 * Bearer tokens first (a request with an Authorization header is judged by it alone), then the
 * session cookie, else anonymous. Tokens are authorized by their scopes everywhere; sessions per
 * repository.
 */
export class Authenticators implements Authenticator {
  readonly loginUrl: string | undefined;
  private readonly tokens: Authenticator;
  private readonly sessions: SessionAuthenticator | undefined;
  constructor(tokens: Authenticator, sessions?: SessionAuthenticator) {
    this.tokens = tokens;
    this.sessions = sessions;
    this.loginUrl = sessions?.loginUrl;
  }

  async authenticate(request: FastifyRequest): Promise<Identity> {
    if (request.headers.authorization === undefined && this.sessions) {
      const session = await this.sessions.authenticate(request);
      // A login reads and operates per repository; besides, it may do what anyone may (public reads).
      if (session) return { ...session, scopes: (await this.tokens.authenticate(request)).scopes };
    }
    return this.tokens.authenticate(request);
  }

  async authorize(identity: Identity, action: Scope, repository: string | undefined): Promise<boolean> {
    if (identity.scopes.includes(action)) return true;
    if (identity.github && this.sessions) return this.sessions.authorize(identity, action, repository);
    return false;
  }
}

/** What a scope grants: admin ⊃ operate ⊃ read. */
export function grants(scope: Scope): Scope[] {
  return SCOPES.slice(0, SCOPES.indexOf(scope) + 1);
}

export interface TokenEntry {
  subject: string;
  scope: Scope;
  digest: Buffer;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

/** Parses the Secret's decoded data; entries that are not "<scope>:<token>" are reported, not used. */
export function parseTokens(data: Record<string, string>): { entries: TokenEntry[]; problems: string[] } {
  const entries: TokenEntry[] = [];
  const problems: string[] = [];
  for (const [subject, value] of Object.entries(data)) {
    const at = value.indexOf(':');
    const scope = value.slice(0, at) as Scope;
    const token = value.slice(at + 1).trim();
    if (at < 0 || !SCOPES.includes(scope)) {
      problems.push(`key "${subject}": the value must be "<scope>:<token>" with scope ${SCOPES.join(', ')}`);
      continue;
    }
    if (!token) {
      problems.push(`key "${subject}": the token after "${scope}:" is empty`);
      continue;
    }
    entries.push({ subject, scope, digest: digest(token) });
  }
  return { entries, problems };
}

/** The bearer token of an Authorization header: undefined when absent, null when malformed. */
export function bearerToken(header: string | undefined): string | undefined | null {
  if (header === undefined || header === '') return undefined;
  const m = /^Bearer +(\S+) *$/i.exec(header);
  return m ? m[1] : null;
}

/** Finds the entry of a token, comparing against every entry in constant time. */
export function findToken(entries: TokenEntry[], token: string): TokenEntry | undefined {
  const d = digest(token);
  let found: TokenEntry | undefined;
  for (const e of entries) if (timingSafeEqual(e.digest, d) && !found) found = e;
  return found;
}

export class AuthError extends Error {
  readonly code: 401 | 403;
  constructor(code: 401 | 403, message: string) {
    super(message);
    this.code = code;
  }
}

export interface TokenAuthenticatorOptions {
  client: KubeClient;
  log: Logger;
  /** NAMESPACE/NAME of the tokens Secret; undefined: no tokens (nothing can be changed). */
  secret?: string;
  publicReads: boolean;
  refreshMs?: number;
}

const SECRETS = { group: '', version: 'v1', plural: 'secrets', namespaced: true } as const;

export function parseSecretRef(ref: string, flag = '--tokens-secret'): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(ref);
  if (!m) throw new Error(`${flag} must be NAMESPACE/NAME, got "${ref}"`);
  return { namespace: m[1] as string, name: m[3] as string };
}

export class TokenAuthenticator implements Authenticator {
  readonly publicReads: boolean;
  private readonly opts: TokenAuthenticatorOptions;
  private readonly ref: { namespace: string; name: string } | undefined;
  private entries: TokenEntry[] = [];
  private loaded: Promise<void> | undefined;
  private loadedAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: TokenAuthenticatorOptions) {
    this.opts = opts;
    this.publicReads = opts.publicReads;
    this.ref = opts.secret ? parseSecretRef(opts.secret) : undefined;
  }

  /** Loads the Secret now and every refresh period until stop(). */
  start(): Promise<void> {
    if (!this.timer && this.ref) {
      this.timer = setInterval(() => void this.reload(), this.opts.refreshMs ?? 30_000);
      this.timer.unref();
    }
    return this.reload();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  reload(): Promise<void> {
    const ref = this.ref;
    if (!ref) return Promise.resolve();
    this.loadedAt = Date.now();
    this.loaded = (async () => {
      const where = `${ref.namespace}/${ref.name}`;
      try {
        const secret = await this.opts.client.get<KubeObject>(SECRETS, ref.namespace, ref.name);
        const data = Object.fromEntries(
          Object.entries((secret.data ?? {}) as Record<string, string>).map(([k, v]) => [
            k,
            Buffer.from(v, 'base64').toString('utf8'),
          ]),
        );
        const { entries, problems } = parseTokens(data);
        for (const p of problems) this.opts.log.warn({ secret: where }, `tokens Secret: ${p}`);
        if (entries.length !== this.entries.length)
          this.opts.log.info({ secret: where, tokens: entries.length }, 'tokens loaded');
        this.entries = entries;
      } catch (e) {
        // Keep the tokens we had: an API server hiccup must not lock everyone out.
        const message = isNotFound(e) ? 'the Secret does not exist' : (e as Error).message;
        this.opts.log.warn({ secret: where, err: message }, 'cannot read the tokens Secret');
        if (isNotFound(e)) this.entries = [];
      }
    })();
    return this.loaded;
  }

  async authenticate(request: FastifyRequest): Promise<Identity> {
    const token = bearerToken(request.headers.authorization);
    const anonymous: Identity = { scopes: this.publicReads ? ['read'] : [] };
    if (token === undefined) return anonymous;
    if (token === null) throw new AuthError(401, 'the Authorization header must be "Bearer <token>"');
    if (!this.ref)
      throw new AuthError(401, 'this server has no tokens: start it with --tokens-secret NAMESPACE/NAME');
    await this.loaded;
    let entry = findToken(this.entries, token);
    if (!entry && Date.now() - this.loadedAt > 5000) {
      await this.reload();
      entry = findToken(this.entries, token);
    }
    if (!entry) throw new AuthError(401, 'unknown token (tokens are the values of the tokens Secret)');
    return { subject: entry.subject, scopes: grants(entry.scope) };
  }
}
