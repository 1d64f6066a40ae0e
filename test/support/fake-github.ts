// A loopback GitHub for tests. Every request is checked against GitHub's published REST
// description (@octokit/openapi, api.github.com): the method and path must be an operation of it,
// the JSON body must validate against the operation's request schema (unknown top-level fields
// refused too), and the credentials must be a token it knows or, for the App flow, a JWT signed by
// the App's key. Answers are the spec's own examples (fresh ids for creations); failures (5xx,
// 429 with headers) are served on demand. Every call is recorded. It also plays GitHub's web side
// of an OAuth app's login (fake-github-oauth.ts): the authorize page, the code exchange, and the
// users and repository permissions that /user and the permission endpoint answer with.
import { createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import { SECRETS } from '../../src/github/secrets.ts';
import type { KubeClient } from '../../src/runtime/kube-client.ts';
import { type OAuthSide, oauthSide } from './fake-github-oauth.ts';

const require = createRequire(import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: GitHub's description is plain JSON
type Json = any;

export interface Call {
  method: string;
  path: string;
  operationId: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: Json;
  status: number;
  /** Why the request was refused ('' when it was valid). */
  problem: string;
}

interface Operation {
  method: string;
  template: string;
  regex: RegExp;
  names: string[];
  op: Json;
}

let spec: { operations: Operation[] } | undefined;

/** The description is large (70 MB dereferenced): read it once per process. */
function loadSpec() {
  spec ??= (() => {
    const file = require.resolve('@octokit/openapi/generated/api.github.com.deref.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    const operations: Operation[] = [];
    for (const [template, item] of Object.entries<Json>(doc.paths))
      for (const method of ['get', 'post', 'patch', 'put', 'delete']) {
        if (!item[method]) continue;
        const names: string[] = [];
        const source = template.replace(/\{([^}]+)\}/g, (_m, n: string) => {
          names.push(n);
          return '([^/]+)';
        });
        operations.push({
          method: method.toUpperCase(),
          template,
          regex: new RegExp(`^${source}$`),
          names,
          op: item[method],
        });
      }
    // Literal segments win over parameters (/repos/{o}/{r}/issues/comments/{id} over .../issues/{n}/...).
    operations.sort((a, b) => a.names.length - b.names.length);
    return { operations };
  })();
  return spec;
}

const ajv = new Ajv({ strict: false, allErrors: true, logger: false, validateFormats: false });
const validators = new Map<string, ValidateFunction>();

function bodyValidator(op: Json): ValidateFunction | undefined {
  const schema = op.requestBody?.content?.['application/json']?.schema;
  if (!schema) return undefined;
  let v = validators.get(op.operationId);
  if (!v) {
    // GitHub ignores unknown fields; Bosun must not send any, so they are refused here.
    const strict =
      schema.type === 'object' && schema.properties ? { ...schema, additionalProperties: false } : schema;
    v = ajv.compile(strict);
    validators.set(op.operationId, v);
  }
  return v;
}

function example(op: Json, status: string): Json {
  const content = op.responses?.[status]?.content?.['application/json'];
  if (!content) return undefined;
  const first = content.examples ? Object.values<Json>(content.examples)[0]?.value : content.example;
  return structuredClone(first);
}

export interface App {
  appId: number;
  installationId: number;
  /** PEM of the App's public key: installation tokens are given only to JWTs it verifies. */
  publicKey: string;
}

export interface FakeGitHub extends Omit<OAuthSide, 'serveWeb' | 'checkBasic' | 'personalize'> {
  /** The web host (OAuth pages) and the REST API are both served here. */
  url: string;
  calls: Call[];
  /** Calls of one operation, e.g. 'repos/create-commit-status'. */
  callsOf(operationId: string): Call[];
  /** Tokens accepted as `token X` / `Bearer X`. */
  tokens: Set<string>;
  addApp(app: App): void;
  /**
   * What `owner/name` has: its pull requests and branches answer the listings (paged as GitHub
   * pages, with Link headers) and the lookups (404 for one it lacks). Unset: the spec's examples.
   */
  setRepository(fullName: string, state: RepositoryState): void;
  /** The next `times` requests (optionally of one operation) get `status` with `headers`. */
  failNext(times: number, status: number, headers?: Record<string, string>, operationId?: string): void;
  /** Ends every failure `failNext` asked for. */
  clearFailures(): void;
  /** Requests of `operationId` wait unanswered (counted by `held`) until `release`. */
  hold(operationId: string): { held: () => number; release: () => void };
  close(): Promise<void>;
}

export async function startFakeGitHub(): Promise<FakeGitHub> {
  const { operations } = loadSpec();
  const calls: Call[] = [];
  const tokens = new Set<string>();
  const apps = new Map<number, App>();
  const failures: { times: number; status: number; headers: Record<string, string>; operationId?: string }[] =
    [];
  const holds = new Map<string, (() => void)[]>();
  const repositories = new Map<string, RepositoryState>();
  let nextId = 1000;
  const oauth = oauthSide(tokens);

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = req.method ?? 'GET';
      const call: Call = {
        method,
        path: url.pathname,
        operationId: '',
        params: {},
        query: Object.fromEntries(url.searchParams),
        body: undefined,
        status: 0,
        problem: '',
      };
      calls.push(call);
      const answer = (status: number, body: Json, headers: Record<string, string> = {}) => {
        call.status = status;
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      const web = oauth.serveWeb(req, url, Buffer.concat(chunks).toString('utf8'));
      if (web) {
        Object.assign(call, { operationId: web.operationId, problem: web.problem, status: web.status });
        res.writeHead(web.status, { 'content-type': 'application/json; charset=utf-8', ...web.headers });
        return res.end(JSON.stringify(web.body));
      }
      const refuse = (status: number, problem: string) => {
        call.problem = problem;
        answer(status, { message: problem, documentation_url: 'https://docs.github.com/rest' });
      };
      const operation = operations.find((o) => o.method === method && o.regex.test(url.pathname));
      if (!operation) return refuse(404, `${method} ${url.pathname} is no operation of GitHub's REST API`);
      const { op } = operation;
      call.operationId = op.operationId;
      const match = operation.regex.exec(url.pathname) as RegExpExecArray;
      operation.names.forEach((n, i) => {
        call.params[n] = decodeURIComponent(match[i + 1] as string);
      });
      const raw = Buffer.concat(chunks).toString('utf8');
      if (raw) {
        try {
          call.body = JSON.parse(raw);
        } catch {
          return refuse(400, 'Problems parsing JSON');
        }
      }
      const validate = bodyValidator(op);
      if (validate) {
        if (op.requestBody?.required && call.body === undefined) return refuse(422, 'a body is required');
        if (call.body !== undefined && !validate(call.body))
          return refuse(422, `invalid body for ${op.operationId}: ${ajv.errorsText(validate.errors)}`);
      } else if (call.body !== undefined && method !== 'GET' && Object.keys(call.body).length) {
        return refuse(422, `${op.operationId} takes no body`);
      }
      const queryProblem = checkQuery(op, url.searchParams);
      if (queryProblem) return refuse(422, queryProblem);
      const auth = req.headers.authorization ?? '';
      const [scheme, credential = ''] = auth.split(' ');
      if (op.operationId === 'apps/delete-token') {
        const problem = oauth.checkBasic(scheme ?? '', credential, call.params.client_id ?? '');
        if (problem) return refuse(401, problem);
      } else if (op.operationId === 'apps/create-installation-access-token') {
        const app = apps.get(Number(call.params.installation_id));
        const problem = app ? checkJwt(credential, app) : `no installation ${call.params.installation_id}`;
        if (scheme?.toLowerCase() !== 'bearer' || problem)
          return refuse(401, problem || 'A JSON web token is required');
      } else if (!['token', 'bearer'].includes(scheme?.toLowerCase() ?? '') || !tokens.has(credential)) {
        return refuse(401, 'Bad credentials');
      }
      const waiting = holds.get(op.operationId);
      if (waiting) return void waiting.push(() => respond());
      respond();
      function respond() {
        const failure = failures.find((f) => !f.operationId || f.operationId === op.operationId);
        if (failure) {
          if (--failure.times <= 0) failures.splice(failures.indexOf(failure), 1);
          call.problem = `failure asked by the test (${failure.status})`;
          return answer(failure.status, { message: 'injected failure' }, failure.headers);
        }
        const personal = oauth.personalize(
          op.operationId,
          call.params,
          credential,
          call.body,
          example(op, '200'),
        );
        if (personal) return answer(personal.status, personal.body);
        const held = repositories.get(`${call.params.owner}/${call.params.repo}`.toLowerCase());
        const fromState = held && answerFromState(op, call, url, held, `http://${req.headers.host}`);
        if (fromState) return answer(fromState.status, fromState.body, fromState.headers);
        const status = Object.keys(op.responses ?? {}).find((s) => /^2/.test(s)) ?? '200';
        let body = example(op, status);
        if (op.operationId === 'apps/create-installation-access-token') {
          const token = `ghs_${randomBytes(12).toString('hex')}`;
          tokens.add(token);
          body = { ...body, token, expires_at: new Date(Date.now() + 3600_000).toISOString() };
        } else if (method === 'POST' && body && typeof body === 'object' && 'id' in body) {
          body.id = nextId++;
        }
        answer(Number(status), body);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    callsOf: (id) => calls.filter((c) => c.operationId === id && !c.problem),
    tokens,
    addOAuthApp: oauth.addOAuthApp,
    addUser: oauth.addUser,
    setPermission: oauth.setPermission,
    addApp: (app) => void apps.set(app.installationId, app),
    setRepository: (fullName, state) => void repositories.set(fullName.toLowerCase(), state),
    failNext: (times, status, headers = {}, operationId) =>
      void failures.push({ times, status, headers, operationId }),
    clearFailures: () => void failures.splice(0),
    hold: (operationId) => {
      const waiting: (() => void)[] = [];
      holds.set(operationId, waiting);
      return {
        held: () => waiting.length,
        release: () => {
          holds.delete(operationId);
          for (const respond of waiting.splice(0)) respond();
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RepositoryState {
  /** `unlisted`: open, but not in the listing yet (GitHub's listings can lag behind). */
  pullRequests: { number: number; state: 'open' | 'closed'; updatedAt: string; unlisted?: boolean }[];
  branches: string[];
  /** Branches renamed: old name → new. GitHub answers the old name with a 301 to the new. */
  renamed?: Record<string, string>;
}

/**
 * A fake GitHub for the namespace's PreviewRepositories: it accepts one token, stored as a user
 * would in the Secret `github`, which `credentials` names.
 */
export async function fakeGitHubFor(t: TestContext, client: KubeClient, namespace: string) {
  const gh = await startFakeGitHub();
  t.after(() => gh.close());
  gh.tokens.add('ghp_fake');
  await client.create(SECRETS, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'github', namespace },
    stringData: { token: 'ghp_fake' },
  });
  return { gh, credentials: { tokenSecretRef: { name: 'github', key: 'token' } } };
}

/** '' when every query parameter is one the operation declares, of its type and enum. */
function checkQuery(op: Json, query: URLSearchParams): string {
  for (const [name, value] of query) {
    const declared = (op.parameters ?? []).find((p: Json) => p.in === 'query' && p.name === name);
    if (!declared) return `${op.operationId} has no query parameter ${name}`;
    const schema = declared.schema ?? {};
    if (schema.enum && !schema.enum.includes(value))
      return `${name}=${value} is not one of ${schema.enum.join(', ')}`;
    if (schema.type === 'integer' && !/^\d+$/.test(value)) return `${name}=${value} is not an integer`;
    if (schema.type === 'boolean' && !['true', 'false'].includes(value))
      return `${name}=${value} is not a boolean`;
  }
  if (Number(query.get('per_page') ?? 0) > 100) return 'per_page is at most 100';
  return '';
}

/** The listings and lookups of a repository whose state the test set; undefined for other operations. */
function answerFromState(
  op: Json,
  call: Call,
  url: URL,
  state: RepositoryState,
  origin: string,
): { status: number; body: Json; headers?: Record<string, string> } | undefined {
  const base = (status: string) => {
    const e = example(op, status);
    return Array.isArray(e) ? e[0] : e;
  };
  const pull = (p: RepositoryState['pullRequests'][number]) => ({
    ...base('200'),
    number: p.number,
    state: p.state,
    updated_at: p.updatedAt,
  });
  const missing = {
    status: 404,
    body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' },
  };
  const page = (items: Json[]) => {
    const perPage = Number(url.searchParams.get('per_page') ?? 30);
    const n = Number(url.searchParams.get('page') ?? 1);
    const next = new URL(url.href);
    next.searchParams.set('page', String(n + 1));
    const more = n * perPage < items.length;
    return {
      status: 200,
      body: items.slice((n - 1) * perPage, n * perPage),
      headers: more ? { link: `<${origin}${next.pathname}${next.search}>; rel="next"` } : undefined,
    };
  };
  switch (op.operationId) {
    case 'pulls/list': {
      const wanted = url.searchParams.get('state') ?? 'open';
      const listed = state.pullRequests.filter((p) => !p.unlisted);
      return page(listed.filter((p) => wanted === 'all' || p.state === wanted).map(pull));
    }
    case 'pulls/get': {
      const found = state.pullRequests.find((p) => p.number === Number(call.params.pull_number));
      return found ? { status: 200, body: pull(found) } : missing;
    }
    case 'repos/list-branches':
      return page(state.branches.map((name) => ({ ...base('200'), name })));
    case 'repos/get-branch': {
      const branch = call.params.branch as string;
      const now = state.renamed?.[branch];
      if (now) {
        const to = `${origin}${url.pathname.replace(/[^/]+$/, encodeURIComponent(now))}`;
        return { status: 301, body: { message: 'Moved Permanently', url: to }, headers: { location: to } };
      }
      return state.branches.includes(branch)
        ? { status: 200, body: { ...base('200'), name: branch } }
        : { status: 404, body: { ...missing.body, message: 'Branch not found' } };
    }
    default:
      return undefined;
  }
}

/** '' when the JWT is an RS256 token of this App, signed by its key and valid now; else why not. */
function checkJwt(jwt: string, app: App): string {
  const [header, payload, signature] = jwt.split('.');
  if (!header || !payload || !signature) return 'not a JWT';
  const head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
  if (head.alg !== 'RS256') return `JWT algorithm ${head.alg}, not RS256`;
  const ok = verifySignature(
    'RSA-SHA256',
    Buffer.from(`${header}.${payload}`),
    createPublicKey(app.publicKey),
    Buffer.from(signature, 'base64url'),
  );
  if (!ok) return 'JWT signature does not verify with the App public key';
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  const now = Math.floor(Date.now() / 1000);
  if (String(claims.iss) !== String(app.appId)) return `JWT issuer ${claims.iss}, not App ${app.appId}`;
  if (!(claims.exp > now) || claims.exp - claims.iat > 600 + 60) return 'JWT expired or valid too long';
  if (claims.iat > now + 60) return 'JWT issued in the future';
  return '';
}
