// GitHub's side of an OAuth app's login, for the loopback fake GitHub: the authorize page (the
// person "signed in at GitHub" is named by a `user_session` cookie the test sends, and is sent back
// to the app's redirect_uri with a one-time code), the code exchange (client id, secret and code
// checked the way GitHub does: a 200 with an `error` field when refused), and the answers of the
// REST operations that depend on who asks: /user, a repository permission, a token's revocation.
import { randomBytes } from 'node:crypto';
import type http from 'node:http';

// biome-ignore lint/suspicious/noExplicitAny: JSON of GitHub's shapes
type Json = any;

export type Role = 'admin' | 'maintain' | 'write' | 'triage' | 'read';

export interface WebAnswer {
  operationId: string;
  status: number;
  body: Json;
  headers?: Record<string, string>;
  problem: string;
}

export interface OAuthSide {
  addOAuthApp(app: { clientId: string; clientSecret: string }): void;
  /** A GitHub account; returns the Cookie header of a browser signed in at GitHub as it. */
  addUser(login: string): string;
  /** The role of `login` on `owner/name`; undefined removes it (GitHub then answers 404). */
  setPermission(repository: string, login: string, role: Role | undefined): void;
  serveWeb(req: http.IncomingMessage, url: URL, raw: string): WebAnswer | undefined;
  checkBasic(scheme: string, credential: string, clientId: string): string;
  personalize(
    operationId: string,
    params: Record<string, string>,
    credential: string,
    body: Json,
    example: Json,
  ): { status: number; body: Json } | undefined;
}

const BASE_PERMISSION: Record<Role, string> = {
  admin: 'admin',
  maintain: 'write',
  write: 'write',
  triage: 'read',
  read: 'read',
};

export function oauthSide(tokens: Set<string>): OAuthSide {
  const apps = new Map<string, string>();
  const users = new Map<string, number>();
  const codes = new Map<string, { clientId: string; login: string; redirectUri: string; expires: number }>();
  const tokenUsers = new Map<string, string>();
  const permissions = new Map<string, Role>();
  const key = (repository: string, login: string) => `${repository.toLowerCase()}\n${login.toLowerCase()}`;

  function authorize(req: http.IncomingMessage, url: URL): WebAnswer {
    const q = url.searchParams;
    const refuse = (status: number, problem: string): WebAnswer => ({
      operationId: 'oauth/authorize',
      status,
      body: { error: problem },
      problem,
    });
    const clientId = q.get('client_id') ?? '';
    if (!apps.has(clientId)) return refuse(404, `no OAuth app with client_id "${clientId}"`);
    const redirect = q.get('redirect_uri') ?? '';
    if (!/^https?:\/\/[^/]+\/\S*$/.test(redirect))
      return refuse(400, `redirect_uri "${redirect}" is not a URL`);
    const state = q.get('state');
    if (!state) return refuse(400, 'no state: an app must send one (CSRF)');
    const session = /(?:^|;\s*)user_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (!session || !users.has(session)) return refuse(401, 'nobody is signed in at GitHub in this browser');
    const code = randomBytes(10).toString('hex');
    codes.set(code, { clientId, login: session, redirectUri: redirect, expires: Date.now() + 600_000 });
    const back = new URL(redirect);
    back.searchParams.set('code', code);
    back.searchParams.set('state', state);
    return {
      operationId: 'oauth/authorize',
      status: 302,
      body: {},
      headers: { location: back.toString() },
      problem: '',
    };
  }

  function exchange(req: http.IncomingMessage, raw: string): WebAnswer {
    const type = req.headers['content-type'] ?? '';
    const form: Record<string, string> = type.startsWith('application/json')
      ? JSON.parse(raw || '{}')
      : Object.fromEntries(new URLSearchParams(raw));
    const refused = (error: string): WebAnswer => ({
      operationId: 'oauth/access-token',
      status: 200,
      body: { error, error_description: error.replaceAll('_', ' ') },
      problem: error,
    });
    if (!String(req.headers.accept ?? '').includes('application/json'))
      return refused('accept_header_must_ask_for_json');
    const { client_id: clientId = '', client_secret: secret = '', code = '' } = form;
    if (!apps.has(clientId) || apps.get(clientId) !== secret) return refused('incorrect_client_credentials');
    const grant = codes.get(code);
    codes.delete(code);
    if (!grant || grant.clientId !== clientId || grant.expires < Date.now())
      return refused('bad_verification_code');
    if (form.redirect_uri && form.redirect_uri !== grant.redirectUri) return refused('redirect_uri_mismatch');
    const token = `gho_${randomBytes(12).toString('hex')}`;
    tokens.add(token);
    tokenUsers.set(token, grant.login);
    return {
      operationId: 'oauth/access-token',
      status: 200,
      body: { access_token: token, token_type: 'bearer', scope: '' },
      problem: '',
    };
  }

  return {
    addOAuthApp: ({ clientId, clientSecret }) => void apps.set(clientId, clientSecret),
    addUser(login) {
      if (!users.has(login)) users.set(login, 5000 + users.size);
      return `user_session=${login}`;
    },
    setPermission(repository, login, role) {
      if (role) permissions.set(key(repository, login), role);
      else permissions.delete(key(repository, login));
    },
    serveWeb(req, url, raw) {
      if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') return authorize(req, url);
      if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') return exchange(req, raw);
      return undefined;
    },
    checkBasic(scheme, credential, clientId) {
      if (scheme.toLowerCase() !== 'basic')
        return 'this operation needs Basic auth with the client id and secret';
      const [id, secret] = Buffer.from(credential, 'base64').toString('utf8').split(':');
      if (id !== clientId || !apps.has(clientId) || apps.get(clientId) !== secret) return 'Bad credentials';
      return '';
    },
    personalize(operationId, params, credential, body, example) {
      if (operationId === 'users/get-authenticated') {
        const login = tokenUsers.get(credential);
        if (!login) return undefined;
        return { status: 200, body: { ...example, login, id: users.get(login) } };
      }
      if (operationId === 'repos/get-collaborator-permission-level') {
        const role = permissions.get(key(`${params.owner}/${params.repo}`, params.username ?? ''));
        const asker = tokenUsers.get(credential);
        if (!role || (asker && !permissions.has(key(`${params.owner}/${params.repo}`, asker))))
          return { status: 404, body: { message: 'Not Found' } };
        return {
          status: 200,
          body: {
            ...example,
            permission: BASE_PERMISSION[role],
            role_name: role,
            user: { ...example.user, login: params.username },
          },
        };
      }
      if (operationId === 'apps/delete-token') {
        const token = body?.access_token;
        if (!tokenUsers.has(token)) return { status: 404, body: { message: 'Not Found' } };
        tokens.delete(token);
        tokenUsers.delete(token);
        return { status: 204, body: undefined };
      }
      return undefined;
    },
  };
}
