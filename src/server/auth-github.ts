// Signing in with GitHub (an OAuth app), the second way to authenticate besides bearer tokens.
// `--github-oauth-secret NS/NAME` names a Secret with `clientId`, `clientSecret`, a random
// `sessionKey` (at least 32 characters) and optionally `scopes` (e.g. `repo`, for private
// repositories). A signed-in person reads every preview; what they may change is decided per
// repository by their GitHub permission on it (admin, maintain, write: operate; triage, read:
// read), asked of GitHub and kept a few minutes. Their cookie is sealed and HttpOnly; a change
// made with it must carry the X-Bosun-CSRF header that only our page can read (from whoami). Only
// accounts with at least read access to one of the repositories served may sign in at all.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isNotFound, type KubeClient, type KubeObject } from '../runtime/kube-client.ts';
import { HttpError } from './api/errors.ts';
import { AuthError, type Identity, parseSecretRef, type Scope, type SessionAuthenticator } from './auth.ts';
import {
  type CookieKeys,
  checkState,
  csrfToken,
  deriveKeys,
  newState,
  parseCookies,
  sameString,
  seal,
  serializeCookie,
  unseal,
} from './auth-cookies.ts';
import { callGitHub, GitHubUnavailable, type Permission, permissionOf } from './auth-github-http.ts';
import { isHttps, originOf } from './origin.ts';

export const SESSION_COOKIE = 'bosun_session';
export const STATE_COOKIE = 'bosun_oauth_state';
export const CSRF_HEADER = 'x-bosun-csrf';
const LOGIN = '/auth/github/login';
const CALLBACK = '/auth/github/callback';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const SECRETS = { group: '', version: 'v1', plural: 'secrets', namespaced: true } as const;

export interface GitHubLoginOptions {
  client: KubeClient;
  log: Logger;
  /** NAMESPACE/NAME of the OAuth Secret. */
  secret: string;
  /** https://github.com, or a GitHub Enterprise Server's host. */
  webUrl: string;
  /** https://api.github.com, or `<host>/api/v3`. */
  apiUrl: string;
  /** The forge repositories ("owner/name") of the PreviewRepositories served: a login needs access to one. */
  repositories: () => string[];
  /** `--public-url`: the redirect and the cookies' Secure flag come from it, not from the request. */
  publicUrl?: string;
  sessionTtlMs?: number;
  permissionTtlMs?: number;
  refreshMs?: number;
}

interface OAuthConfig {
  clientId: string;
  clientSecret: string;
  scopes: string;
  keys: CookieKeys;
}

/** What the sealed session cookie holds: login, access token, session id, expiry (ms). */
interface SessionCookie {
  l: string;
  t: string;
  s: string;
  e: number;
}

/** https when the request came over TLS, or through a proxy that says it did. */
export class GitHubLogin implements SessionAuthenticator {
  readonly loginUrl = LOGIN;
  private readonly opts: GitHubLoginOptions;
  private readonly ref: { namespace: string; name: string };
  private config: OAuthConfig | undefined;
  private problem = 'not loaded yet';
  private timer: NodeJS.Timeout | undefined;
  /** Sessions ended by logout, until their cookie would have expired anyway. */
  private readonly ended = new Map<string, number>();
  private readonly permissions = new Map<string, { permission: Permission; until: number }>();

  constructor(opts: GitHubLoginOptions) {
    this.opts = opts;
    this.ref = parseSecretRef(opts.secret, '--github-oauth-secret');
  }

  private get web() {
    return this.opts.webUrl.replace(/\/+$/, '');
  }
  private get api() {
    return this.opts.apiUrl.replace(/\/+$/, '');
  }

  async start(): Promise<void> {
    if (!this.timer) {
      this.timer = setInterval(() => void this.reload(), this.opts.refreshMs ?? 60_000);
      this.timer.unref();
    }
    await this.reload();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async reload(): Promise<void> {
    const where = `${this.ref.namespace}/${this.ref.name}`;
    try {
      const secret = await this.opts.client.get<KubeObject>(SECRETS, this.ref.namespace, this.ref.name);
      const data = (secret.data ?? {}) as Record<string, string>;
      const value = (k: string) =>
        Buffer.from(data[k] ?? '', 'base64')
          .toString('utf8')
          .trim();
      const missing = ['clientId', 'clientSecret', 'sessionKey'].filter((k) => !value(k));
      if (missing.length) throw new Error(`the Secret lacks ${missing.join(', ')}`);
      const config = {
        clientId: value('clientId'),
        clientSecret: value('clientSecret'),
        scopes: value('scopes'),
        keys: deriveKeys(value('sessionKey')),
      };
      if (!this.config) this.opts.log.info({ secret: where }, 'GitHub login configured');
      this.config = config;
      this.problem = '';
    } catch (e) {
      // Keep a configuration we had through an API server hiccup; a deleted Secret ends logins.
      this.problem = isNotFound(e) ? `the Secret ${where} does not exist` : (e as Error).message;
      if (isNotFound(e)) this.config = undefined;
      this.opts.log.warn({ secret: where, err: this.problem }, 'cannot read the GitHub OAuth Secret');
    }
  }

  private configured(): OAuthConfig {
    if (!this.config)
      throw new HttpError(503, 'LoginNotConfigured', `GitHub login is not available: ${this.problem}`);
    return this.config;
  }

  async authenticate(request: FastifyRequest): Promise<Identity | undefined> {
    const raw = parseCookies(request.headers.cookie)[SESSION_COOKIE];
    if (!raw || !this.config) return undefined;
    const keys = this.config.keys;
    const session = unseal<SessionCookie>(keys.seal, raw);
    if (!session || !(session.e > Date.now()) || this.ended.has(session.s)) return undefined;
    const csrf = csrfToken(keys.csrf, session.s);
    if (!SAFE.has(request.method)) {
      const sent = request.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameString(sent, csrf))
        throw new AuthError(
          403,
          `a change made with the GitHub login cookie needs the ${CSRF_HEADER} header (its value is the csrfToken of /api/v1/whoami)`,
        );
    }
    return {
      subject: session.l,
      scopes: [],
      github: { login: session.l, token: session.t, sessionId: session.s, csrfToken: csrf },
    };
  }

  async authorize(identity: Identity, action: Scope, repository: string | undefined): Promise<boolean> {
    const who = identity.github;
    if (!who || !repository) return false;
    const permission = await this.permission(who.login, who.token, repository);
    if (action === 'read') return permission !== 'none';
    return action === 'operate' && permission === 'operate';
  }

  /** The user's permission on `owner/name`, from GitHub or the cache of the last few minutes. */
  async permission(login: string, token: string, repository: string): Promise<Permission> {
    const key = `${login}\n${repository.toLowerCase()}`;
    const cached = this.permissions.get(key);
    if (cached && cached.until > Date.now()) return cached.permission;
    const [owner, repo] = repository.split('/').map(encodeURIComponent);
    const answer = await callGitHub(
      'GET',
      `${this.api}/repos/${owner}/${repo}/collaborators/${encodeURIComponent(login)}/permission`,
      { token },
    );
    if (answer.status === 401)
      throw new AuthError(401, 'GitHub no longer accepts this login session; sign in again');
    let permission: Permission;
    if (answer.status === 200) permission = permissionOf(answer.body ?? {});
    else if (answer.status === 403 || answer.status === 404) permission = 'none';
    else
      throw new GitHubUnavailable(
        `GitHub answered ${answer.status} to the permission check of ${repository}`,
      );
    if (this.permissions.size > 10_000) this.permissions.clear();
    this.permissions.set(key, { permission, until: Date.now() + (this.opts.permissionTtlMs ?? 180_000) });
    return permission;
  }

  private cookie(request: FastifyRequest, name: string, value: string, path: string, maxAge: number) {
    const sameSite = name === SESSION_COOKIE ? 'Strict' : 'Lax';
    const publicUrl = this.opts.publicUrl;
    const secure = publicUrl ? publicUrl.startsWith('https:') : isHttps(request);
    return serializeCookie(name, value, { path, sameSite, secure, maxAge });
  }

  registerRoutes(app: FastifyInstance): void {
    app.get(LOGIN, async (request, reply) => {
      const config = this.configured();
      const { state, cookie } = newState(config.keys.sign, Date.now(), 600_000);
      const query = new URLSearchParams({
        client_id: config.clientId,
        redirect_uri: `${this.opts.publicUrl ?? originOf(request)}${CALLBACK}`,
        state,
        ...(config.scopes ? { scope: config.scopes } : {}),
      });
      return reply
        .header('set-cookie', this.cookie(request, STATE_COOKIE, cookie, '/auth/github', 600))
        .header('cache-control', 'no-store')
        .redirect(`${this.web}/login/oauth/authorize?${query}`, 302);
    });

    app.get<{ Querystring: Record<string, string | undefined> }>(CALLBACK, async (request, reply) => {
      const config = this.configured();
      const { code, state, error } = request.query;
      reply.header('set-cookie', this.cookie(request, STATE_COOKIE, '', '/auth/github', 0));
      if (error) throw new HttpError(403, 'LoginRefused', `GitHub did not sign you in: ${error}`);
      const problem = checkState(
        config.keys.sign,
        parseCookies(request.headers.cookie)[STATE_COOKIE],
        state,
        Date.now(),
      );
      if (problem) throw new HttpError(403, 'InvalidState', `login refused: ${problem}`);
      if (!code) throw new HttpError(400, 'BadRequest', 'the callback has no code');
      const exchange = await this.github('POST', `${this.web}/login/oauth/access_token`, {
        body: { client_id: config.clientId, client_secret: config.clientSecret, code },
      });
      const token = exchange.body?.access_token;
      if (exchange.status !== 200 || typeof token !== 'string')
        throw new HttpError(
          403,
          'CodeRefused',
          `GitHub refused the login code: ${exchange.body?.error_description ?? exchange.body?.error ?? exchange.status}`,
        );
      const user = await this.github('GET', `${this.api}/user`, { token });
      const login = user.body?.login;
      if (user.status !== 200 || typeof login !== 'string')
        throw new HttpError(502, 'GitHubError', `GitHub answered ${user.status} to GET /user`);
      await this.requireSomeAccess(login, token);
      const ttl = this.opts.sessionTtlMs ?? 8 * 3600_000;
      const session: SessionCookie = {
        l: login,
        t: token,
        s: randomBytes(16).toString('base64url'),
        e: Date.now() + ttl,
      };
      request.log.info({ login }, 'signed in with GitHub');
      reply.header('set-cookie', [
        this.cookie(request, STATE_COOKIE, '', '/auth/github', 0),
        this.cookie(request, SESSION_COOKIE, seal(config.keys.seal, session), '/', Math.floor(ttl / 1000)),
      ]);
      return reply.header('cache-control', 'no-store').redirect('/', 302);
    });

    app.post('/auth/logout', async (request, reply) => {
      let who: Identity | undefined;
      try {
        who = await this.authenticate(request);
      } catch (e) {
        if (e instanceof AuthError) throw new HttpError(e.code, 'Forbidden', e.message);
        throw e;
      }
      reply.header('set-cookie', this.cookie(request, SESSION_COOKIE, '', '/', 0));
      if (who?.github && this.config) await this.end(who.github, this.config, request);
      return reply.code(204).send();
    });
  }

  /** 403 unless the account may read at least one repository served here (asked 10 at a time). */
  private async requireSomeAccess(login: string, token: string): Promise<void> {
    const repositories = [...new Set(this.opts.repositories().map((r) => r.toLowerCase()))];
    for (let at = 0; at < repositories.length; at += 10) {
      const batch = repositories.slice(at, at + 10);
      let found: Permission[];
      try {
        found = await Promise.all(batch.map((r) => this.permission(login, token, r)));
      } catch (e) {
        if (e instanceof GitHubUnavailable) throw new HttpError(502, 'GitHubUnavailable', e.message);
        if (e instanceof AuthError) throw new HttpError(403, 'LoginRefused', e.message);
        throw e;
      }
      if (found.some((p) => p !== 'none')) return;
    }
    throw new HttpError(
      403,
      'NoRepositoryAccess',
      `GitHub user "${login}" has no access to any repository with previews here (${repositories.length} served)`,
    );
  }

  /** Ends a session here and revokes its token at GitHub, so other replicas stop accepting it too. */
  private async end(session: NonNullable<Identity['github']>, config: OAuthConfig, request: FastifyRequest) {
    const now = Date.now();
    for (const [id, until] of this.ended) if (until < now) this.ended.delete(id);
    this.ended.set(session.sessionId, now + (this.opts.sessionTtlMs ?? 8 * 3600_000));
    for (const key of this.permissions.keys())
      if (key.startsWith(`${session.login}\n`)) this.permissions.delete(key);
    const revoked = await callGitHub(
      'DELETE',
      `${this.api}/applications/${encodeURIComponent(config.clientId)}/token`,
      {
        basic: { user: config.clientId, password: config.clientSecret },
        body: { access_token: session.token },
      },
    ).catch((e: Error) => ({ status: 0, body: e.message }));
    if (revoked.status !== 204)
      request.log.warn({ login: session.login, status: revoked.status }, 'GitHub did not revoke the token');
    request.log.info({ login: session.login }, 'signed out');
  }

  private async github(method: string, url: string, call: Parameters<typeof callGitHub>[2]) {
    try {
      return await callGitHub(method, url, call);
    } catch (e) {
      if (e instanceof GitHubUnavailable) throw new HttpError(502, 'GitHubUnavailable', e.message);
      throw e;
    }
  }
}
