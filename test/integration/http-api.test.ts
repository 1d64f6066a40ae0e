// The previews' REST API served by `bosun run --http-address` on the real control plane: every
// route, the auth matrix enumerated from the OpenAPI document, every response validated against
// that document, server-sent events, pod logs served by kwok, and a table of bad requests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  PREVIEW_REPOSITORIES,
  PREVIEW_TEMPLATES,
  PREVIEWS,
  type PreviewObject,
  type RepositoryObject,
} from '../../src/controllers/preview/model.ts';
import { SIMULATED_LOG_TEXT } from '../../src/dev/kwok-logs.ts';
import type { KubeClient, ResourceRef } from '../../src/runtime/kube-client.ts';
import { silentLogger } from '../../src/runtime/log.ts';
import { Informer } from '../../src/runtime/manager.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { WatchCache } from '../../src/runtime/watch-cache.ts';
import type { ApprovalView } from '../../src/server/api/approvals.ts';
import { openEventStreams } from '../../src/server/api/events.ts';
import { openApiDocument } from '../../src/server/api/openapi.ts';
import { createHttpServer } from '../../src/server/app.ts';
import { TokenAuthenticator } from '../../src/server/auth.ts';
import { testClient, testCluster, testNamespace } from '../support/cluster.ts';
import { installCrds, startOperator } from '../support/operator.ts';
import { preview, repository, template } from '../support/previews.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const TOKENS = { viewer: 'view-9f8e7d6c5b4a', ci: 'ci-1a2b3c4d5e6f', root: 'root-0a9b8c7d6e5f' };
const SECRETS = { group: '', version: 'v1', plural: 'secrets', namespaced: true };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function tokensSecret(client: KubeClient, ns: string) {
  await client.create(SECRETS, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'api-tokens', namespace: ns },
    stringData: { viewer: `read:${TOKENS.viewer}`, ci: `operate:${TOKENS.ci}`, root: `admin:${TOKENS.root}` },
  });
}

type Doc = typeof openApiDocument & { paths: Record<string, Record<string, Operation>> };
interface Operation {
  operationId: string;
  'x-bosun-scope'?: string;
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
}
const doc = openApiDocument as unknown as Doc;
const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
);

/** Validates responses against the OpenAPI document and records which operations were answered. */
class Conformance {
  readonly ajv = new Ajv2020({ strict: false, validateFormats: false });
  readonly seen = new Map<string, Set<number>>();
  constructor() {
    this.ajv.addSchema({ ...openApiDocument, $id: 'bosun' });
  }
  check(path: string, method: string, status: number, contentType: string, body: string) {
    const op = doc.paths[path]?.[method.toLowerCase()];
    assert.ok(op, `${method} ${path} is not in the OpenAPI document`);
    const response = op.responses[String(status)];
    assert.ok(
      response,
      `${method} ${path} answered ${status}, which the document does not list: ${body.slice(0, 300)}`,
    );
    const [mediaType, media] = Object.entries(response.content ?? {})[0] ?? [];
    assert.ok(mediaType && media, `${method} ${path} ${status} has no content in the document`);
    assert.ok(
      contentType.startsWith(mediaType),
      `${method} ${path} ${status}: content-type ${contentType}, documented ${mediaType}`,
    );
    if (mediaType === 'application/json') {
      const ref = media.schema.$ref;
      const validate = ref ? this.ajv.getSchema(`bosun${ref}`) : this.ajv.compile(media.schema);
      assert.ok(validate, `no schema for ${ref}`);
      const ok = validate(JSON.parse(body));
      assert.ok(
        ok,
        `${method} ${path} ${status} does not match ${ref}: ${this.ajv.errorsText(validate.errors)}\n${body.slice(0, 500)}`,
      );
    }
    const key = `${method} ${path}`;
    this.seen.set(key, (this.seen.get(key) ?? new Set()).add(status));
  }
}

interface Reply {
  status: number;
  type: string;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON of several shapes
  json: any;
}

function apiClient(base: string, conformance: Conformance) {
  return async function call(
    method: string,
    template: string,
    opts: {
      params?: Record<string, string>;
      query?: string;
      token?: string;
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Reply> {
    const path = template.replace(/\{(\w+)\}/g, (_, k: string) => opts.params?.[k] ?? `{${k}}`);
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.rawBody;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${base}${path}${opts.query ? `?${opts.query}` : ''}`, { method, headers, body });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    if (doc.paths[template]) conformance.check(template, method, res.status, type, text);
    return {
      status: res.status,
      type,
      text,
      json: type.startsWith('application/json') ? JSON.parse(text) : undefined,
    };
  };
}

/** Reads server-sent events from a stream into a list, until aborted. */
function openEvents(url: string, token: string) {
  const events: { event: string; data: unknown }[] = [];
  const abort = new AbortController();
  const ready = (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    return res;
  })();
  const pump = ready.then(async (res) => {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        for (let at = buffered.indexOf('\n\n'); at >= 0; at = buffered.indexOf('\n\n')) {
          const block = buffered.slice(0, at);
          buffered = buffered.slice(at + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch (e) {
      // The operator stopping at the end of the test also ends the stream.
      if (!abort.signal.aborted) stream.error = e;
    }
  });
  pump.catch(() => {});
  const stream = { events, ready, close: () => abort.abort(), error: undefined as unknown };
  return stream;
}

const until = <T>(
  what: string,
  check: () => Promise<T | false | undefined | { pending: string }>,
  timeoutMs = 90_000,
) => waitFor(check, { what, timeoutMs });

async function setup(t: TestContext) {
  await installCrds();
  const ns = await testNamespace(t, 'http');
  const client = await testClient();
  await client.create(PREVIEW_TEMPLATES, template(ns, 'web'));
  await client.create(PREVIEW_REPOSITORIES, repository(ns, 'shop'));
  await client.create(
    PREVIEW_REPOSITORIES,
    repository(ns, 'review', { previewPer: 'PullRequest', repository: 'acme/review' }),
  );
  await tokensSecret(client, ns);
  const port = await freePort();
  const operator = await startOperator(t, {
    namespaces: [ns],
    args: [`--http-address=127.0.0.1:${port}`, `--tokens-secret=${ns}/api-tokens`],
  });
  const base = `http://127.0.0.1:${port}`;
  const conformance = new Conformance();
  return { ns, client, operator, base, conformance, call: apiClient(base, conformance) };
}

const ONE = '/api/v1/namespaces/{namespace}/previews/{name}';

describe('REST API (bosun run --http-address)', () => {
  it('serves every route, enforces tokens, streams events and logs, and matches its OpenAPI document', async (t) => {
    const { ns, client, base, conformance, call } = await setup(t);
    const { viewer, ci, root } = TOKENS;

    await t.test('whoami and the OpenAPI document', async () => {
      assert.deepEqual((await call('GET', '/api/v1/whoami')).json, { authenticated: false, scopes: [] });
      assert.deepEqual((await call('GET', '/api/v1/whoami', { token: ci })).json, {
        authenticated: true,
        subject: 'ci',
        scopes: ['read', 'operate'],
      });
      assert.equal((await call('GET', '/api/v1/whoami', { token: 'nope' })).status, 401);
      const openapi = await call('GET', '/api/v1/openapi.json');
      assert.equal(openapi.json.openapi, '3.1.0');
    });

    const stream = openEvents(`${base}/api/v1/events?namespace=${ns}`, viewer);
    t.after(() => stream.close());
    await stream.ready;
    await t.test('events: a snapshot comes first', async () => {
      await until('the snapshot', async () => stream.events.length > 0);
      assert.deepEqual(stream.events[0], { event: 'snapshot', data: { items: [] } });
    });

    const name = 'shop-main-abcdef0';
    await t.test('create: 201, then 200 for the same commit; the name comes from previewName', async () => {
      const body = { repository: 'shop', branch: 'main', commit: 'abcdef0123' };
      const created = await call('POST', '/api/v1/namespaces/{namespace}/previews', {
        params: { namespace: ns },
        token: ci,
        body,
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.json.name, name);
      assert.equal(created.json.forgeRepository, 'acme/shop');
      assert.equal(created.json.links.commit, 'https://github.com/acme/shop/commit/abcdef0123');
      const again = await call('POST', '/api/v1/namespaces/{namespace}/previews', {
        params: { namespace: ns },
        token: root,
        body,
      });
      assert.equal(again.status, 200);
      assert.equal(again.json.name, name);
      // Optional fields sent as null (as many clients do) are absent: the same preview.
      const nulls = await call('POST', '/api/v1/namespaces/{namespace}/previews', {
        params: { namespace: ns },
        token: ci,
        body: { ...body, pullRequest: null, targetBranch: null, template: null },
      });
      assert.equal(nulls.status, 200, nulls.text);
      assert.equal(nulls.json.name, name);
    });

    await t.test('events: live upserts follow the preview through its phases', async () => {
      await until(
        'an upsert with phase Stopped',
        async () =>
          stream.events.some(
            (e) =>
              e.event === 'upsert' &&
              (e.data as { name: string; phase: string }).name === name &&
              (e.data as { phase: string }).phase === 'Stopped',
          ) || {
            pending: `${stream.events.map((e) => `${e.event}:${(e.data as { phase?: string }).phase}`).join(' ')}`,
          },
      );
      assert.ok(stream.events.slice(1).every((e) => e.event === 'upsert'));
    });

    await t.test('get and list read the cache', async () => {
      const got = await call('GET', ONE, { params: { namespace: ns, name }, token: viewer });
      assert.equal(got.status, 200);
      assert.equal(got.json.phase, 'Stopped');
      assert.equal(got.json.buildStatus, 'success');
      assert.equal(got.json.initStatus, 'ready');
      assert.equal(got.json.url, `http://${name}.preview.test`);
      assert.equal(got.json.ready.status, 'False');
      const list = await call('GET', '/api/v1/previews', { token: viewer, query: `namespace=${ns}` });
      assert.deepEqual(
        list.json.items.map((v: { name: string }) => v.name),
        [name],
      );
      assert.equal(list.json.total, 1);
    });

    await t.test('logs: the build pod log, as kwok serves it', async () => {
      const log = await call('GET', `${ONE}/logs`, {
        params: { namespace: ns, name },
        token: viewer,
        query: 'step=build',
      });
      assert.equal(log.status, 200, log.text);
      assert.match(log.text, new RegExp(SIMULATED_LOG_TEXT));
      const none = await call('GET', `${ONE}/logs`, {
        params: { namespace: ns, name },
        token: viewer,
        query: 'step=cleanup',
      });
      assert.equal(none.status, 404);
      assert.equal(none.json.error.reason, 'NoPod');
    });

    await t.test('start: 202, Running; logs follow the app pod until the client leaves', async () => {
      const started = await call('POST', `${ONE}/start`, { params: { namespace: ns, name }, token: ci });
      assert.equal(started.status, 202);
      assert.equal(started.json.state, 'Running');
      await until('Running', async () => {
        const v = await call('GET', ONE, { params: { namespace: ns, name }, token: viewer });
        return v.json.phase === 'Running' || { pending: v.json.phase };
      });
      const text = await until('the followed app log', async () => {
        const abort = new AbortController();
        const res = await fetch(
          `${base}/api/v1/namespaces/${ns}/previews/${name}/logs?step=app&follow=true`,
          {
            headers: { authorization: `Bearer ${viewer}` },
            signal: abort.signal,
          },
        );
        if (res.status !== 200) return { pending: `${res.status} ${await res.text()}` };
        conformance.check(`${ONE}/logs`, 'GET', 200, res.headers.get('content-type') ?? '', '');
        let got = '';
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          got += Buffer.from(chunk).toString('utf8');
          if (got.includes(SIMULATED_LOG_TEXT)) break;
        }
        abort.abort();
        return got;
      });
      assert.match(text, new RegExp(SIMULATED_LOG_TEXT));
    });

    await t.test('stop: 202, Stopped', async () => {
      const stopped = await call('POST', `${ONE}/stop`, { params: { namespace: ns, name }, token: ci });
      assert.equal(stopped.status, 202);
      assert.equal(stopped.json.state, 'Stopped');
      await until('Stopped', async () => {
        const v = await call('GET', ONE, { params: { namespace: ns, name }, token: viewer });
        return v.json.phase === 'Stopped' || { pending: v.json.phase };
      });
    });

    await t.test('reset: 202, a new reset token that the operator acts on', async () => {
      const reset = await call('POST', `${ONE}/reset`, { params: { namespace: ns, name }, token: ci });
      assert.equal(reset.status, 202);
      const p = await client.get<PreviewObject>(PREVIEWS, ns, name);
      const token = p.metadata.annotations?.['bosun.dev/reset'];
      assert.ok(token, 'the reset annotation is set');
      await until('the operator to act on the reset', async () => {
        const now = await client.get<PreviewObject>(PREVIEWS, ns, name);
        return (
          (now.status?.resetToken === token && now.status?.initStatus === 'ready') || {
            pending: `${now.status?.resetToken} ${now.status?.initStatus}`,
          }
        );
      });
    });

    await t.test('per pull request: a second commit updates the same preview (200)', async () => {
      const path = '/api/v1/namespaces/{namespace}/previews';
      const body = {
        repository: 'review',
        branch: 'feature',
        commit: 'aaaaaaa111',
        pullRequest: 5,
        targetBranch: 'main',
      };
      const first = await call('POST', path, { params: { namespace: ns }, token: ci, body });
      assert.equal(first.status, 201, first.text);
      assert.equal(first.json.name, 'review-pr5');
      assert.equal(first.json.links.pullRequest, 'https://github.com/acme/review/pull/5');
      const second = await call('POST', path, {
        params: { namespace: ns },
        token: ci,
        body: { ...body, commit: 'bbbbbbb222' },
      });
      assert.equal(second.status, 200);
      assert.equal(second.json.name, 'review-pr5');
      assert.equal(second.json.commit, 'bbbbbbb222');
    });

    await t.test('filters, order and paging', async () => {
      for (const [n, branch, commit] of [
        ['shop-dev-1111111', 'dev', '1111111aaa'],
        ['shop-dev-2222222', 'dev', '2222222bbb'],
      ] as const)
        await client.create(PREVIEWS, preview(ns, n, { branch, commit }));
      const all = await until('four previews in the cache', async () => {
        const r = await call('GET', '/api/v1/previews', { token: viewer, query: `namespace=${ns}` });
        return r.json.total === 4
          ? r.json.items.map((v: { name: string }) => v.name)
          : { pending: `${r.json.total}` };
      });
      assert.equal(all[3], 'review-pr5', 'pull requests after branches');
      const walked: string[] = [];
      let token: string | undefined;
      do {
        const page = await call('GET', '/api/v1/previews', {
          token: viewer,
          query: `namespace=${ns}&limit=1${token ? `&continue=${token}` : ''}`,
        });
        assert.equal(page.json.items.length, 1);
        walked.push(page.json.items[0].name);
        token = page.json.continue;
      } while (token);
      assert.deepEqual(walked, all);
      const filtered = async (query: string) =>
        (
          await call('GET', '/api/v1/previews', { token: viewer, query: `namespace=${ns}&${query}` })
        ).json.items.map((v: { name: string }) => v.name);
      assert.deepEqual(await filtered('pullRequest=5'), ['review-pr5']);
      assert.deepEqual(await filtered('repository=review'), ['review-pr5']);
      assert.deepEqual((await filtered('branch=dev')).sort(), ['shop-dev-1111111', 'shop-dev-2222222']);
      assert.deepEqual(await filtered('q=2222'), ['shop-dev-2222222']);
      assert.deepEqual(await filtered('q=feature'), ['review-pr5']);
    });

    await t.test('undeploy: 202, then gone (404) and a delete event', async () => {
      const gone = await call('DELETE', ONE, { params: { namespace: ns, name }, token: ci });
      assert.equal(gone.status, 202);
      assert.equal(gone.json.name, name);
      await until('the preview to be gone', async () => {
        const r = await call('GET', ONE, { params: { namespace: ns, name }, token: viewer });
        return r.status === 404 || { pending: `${r.status} ${r.json.phase}` };
      });
      await until('a delete event', async () =>
        stream.events.some((e) => e.event === 'delete' && (e.data as { name: string }).name === name),
      );
      assert.deepEqual(stream.events.find((e) => e.event === 'delete')?.data, { namespace: ns, name });
      const again = await call('DELETE', ONE, { params: { namespace: ns, name }, token: ci });
      assert.equal(again.status, 404);
    });

    await t.test(
      "approvals: a fork's commit is listed until someone creates its preview with the fields given",
      async () => {
        // What the webhook records for pull requests from forks under forkPolicy: Ignore.
        const fork = (number: number, commit: string, minute: number) => ({
          number,
          commit,
          branch: 'patch-1',
          targetBranch: 'main',
          fork: 'mallory/review',
          updatedAt: `2026-05-01T10:0${minute}:00Z`,
        });
        const review = await client.get(PREVIEW_REPOSITORIES, ns, 'review');
        await client.replaceStatus(PREVIEW_REPOSITORIES, {
          ...review,
          status: {
            ...review.status,
            forkPullRequests: [fork(9, 'ddddddd444', 2), fork(5, 'bbbbbbb222', 1)],
          },
        });
        // Open event streams hear of it, and read the list again.
        await until('an approvals event', async () =>
          stream.events.some(
            (e) =>
              e.event === 'approvals' &&
              JSON.stringify(e.data) === JSON.stringify({ namespace: ns, repository: 'review' }),
          ),
        );
        // Pull request 5 has its preview at that commit already (above): only 9 waits.
        const listed: ApprovalView[] = await until('pull request 9 listed', async () => {
          const r = await call('GET', '/api/v1/approvals', { token: viewer, query: `namespace=${ns}` });
          return r.json.items?.length ? r.json.items : { pending: r.text };
        });
        assert.deepEqual(listed, [
          {
            namespace: ns,
            repository: 'review',
            forgeRepository: 'acme/review',
            pullRequest: 9,
            commit: 'ddddddd444',
            branch: 'patch-1',
            targetBranch: 'main',
            fork: 'mallory/review',
            updatedAt: '2026-05-01T10:02:00Z',
            links: {
              commit: 'https://github.com/acme/review/commit/ddddddd444',
              pullRequest: 'https://github.com/acme/review/pull/9',
            },
          },
        ]);
        const other = await call('GET', '/api/v1/approvals', {
          token: viewer,
          query: `namespace=${ns}&repository=shop`,
        });
        assert.deepEqual(other.json.items, []);
        const { repository, branch, targetBranch, commit, pullRequest } = listed[0] as ApprovalView;
        const approved = await call('POST', '/api/v1/namespaces/{namespace}/previews', {
          params: { namespace: ns },
          token: ci,
          body: { repository, branch, targetBranch, commit, pullRequest },
        });
        assert.equal(approved.status, 201, approved.text);
        assert.equal(approved.json.name, 'review-pr9');
        await until('nothing waiting', async () => {
          const r = await call('GET', '/api/v1/approvals', { token: viewer });
          return r.json.items.length === 0 || { pending: r.text };
        });
      },
    );

    await t.test(
      'auth: every mutating operation in the document refuses without a token, with a bad one, and with read only',
      async () => {
        const mutating = operations.filter((o) => o.op['x-bosun-scope'] === 'operate');
        assert.ok(mutating.length >= 5, 'the document marks the mutating operations');
        assert.deepEqual(
          operations
            .filter((o) => o.method !== 'GET')
            .map((o) => o.op.operationId)
            .sort(),
          mutating.map((o) => o.op.operationId).sort(),
          'every non-GET operation needs operate',
        );
        const params = { namespace: ns, name: 'review-pr5' };
        const body = { repository: 'review', branch: 'x', commit: 'ccccccc333' };
        for (const { path, method } of mutating) {
          const none = await call(method, path, { params, body: method === 'POST' ? body : undefined });
          assert.equal(none.status, 401, `${method} ${path} without a token`);
          assert.equal(none.json.error.reason, 'Unauthorized');
          const bad = await call(method, path, {
            params,
            token: 'not-a-token',
            body: method === 'POST' ? body : undefined,
          });
          assert.equal(bad.status, 401, `${method} ${path} with an unknown token`);
          const weak = await call(method, path, {
            params,
            token: viewer,
            body: method === 'POST' ? body : undefined,
          });
          assert.equal(weak.status, 403, `${method} ${path} with a read token`);
          assert.match(weak.json.error.message, /token "viewer" has scopes \[read\]; this needs operate/);
        }
        const after = await client.get<PreviewObject>(PREVIEWS, ns, 'review-pr5');
        assert.equal(after.metadata.deletionTimestamp, undefined, 'nothing refused was done');
        assert.equal(after.spec.state ?? 'Stopped', 'Stopped');
        // Reads need a token here (no --public-reads).
        for (const { path, method, op } of operations.filter((o) => o.op['x-bosun-scope'] === 'read')) {
          const none = await call(method, path, {
            params,
            query: op.operationId === 'previewLogs' ? 'step=build' : undefined,
          });
          assert.equal(none.status, 401, `${method} ${path} without a token`);
        }
        const malformed = await call('GET', '/api/v1/previews', {
          headers: { authorization: 'Basic dXNlcg==' },
        });
        assert.equal(malformed.status, 401);
        assert.match(malformed.json.error.message, /Bearer <token>/);
      },
    );

    await t.test('bad requests are 4xx JSON errors that say what to fix', async () => {
      const previews = '/api/v1/namespaces/{namespace}/previews';
      const p = { namespace: ns, name: 'review-pr5' };
      const table: [string, string, Parameters<typeof call>[2], number, RegExp][] = [
        ['GET', '/api/v1/previews', { query: 'phase=Sleeping' }, 400, /phase must be one of/],
        ['GET', '/api/v1/previews', { query: 'limit=0' }, 400, /limit must be an integer/],
        ['GET', '/api/v1/previews', { query: 'limit=abc' }, 400, /limit/],
        [
          'GET',
          '/api/v1/previews',
          { query: 'pullRequest=-1' },
          400,
          /pullRequest must be a positive integer/,
        ],
        ['GET', '/api/v1/previews', { query: 'continue=garbage' }, 400, /continue must be a token/],
        ['GET', '/api/v1/previews', { query: 'colour=red' }, 400, /unknown query parameter "colour"/],
        ['GET', '/api/v1/approvals', { query: 'colour=red' }, 400, /unknown query parameter "colour"/],
        ['GET', '/api/v1/approvals', { query: 'namespace=elsewhere' }, 404, /not served here/],
        ['GET', '/api/v1/previews', { query: 'branch=a&branch=b' }, 400, /given once/],
        ['GET', '/api/v1/previews', { query: 'namespace=elsewhere' }, 404, /not served here/],
        ['GET', '/api/v1/previews', { query: 'namespace=Bad_NS' }, 400, /not a valid namespace/],
        ['GET', ONE, { params: { namespace: ns, name: 'missing' } }, 404, /does not exist/],
        ['GET', ONE, { params: { namespace: ns, name: 'Bad_Name' } }, 400, /not a valid preview name/],
        ['GET', ONE, { params: { namespace: 'elsewhere', name: 'x' } }, 404, /not served here/],
        [
          'GET',
          `${ONE}/logs`,
          { params: p, query: 'step=deploy' },
          400,
          /step must be one of build, init, app, cleanup/,
        ],
        ['GET', `${ONE}/logs`, { params: p, query: 'follow=yes' }, 400, /follow must be true or false/],
        [
          'GET',
          `${ONE}/logs`,
          { params: p, query: 'container=web&step=build' },
          400,
          /has no container "web"/,
        ],
        ['GET', `${ONE}/logs`, { params: { namespace: ns, name: 'missing' } }, 404, /does not exist/],
        ['GET', '/api/v1/events', { query: 'limit=3' }, 400, /unknown query parameter "limit"/],
        ['POST', previews, { params: { namespace: ns }, rawBody: '{"repository": ' }, 400, /not valid JSON/],
        ['POST', previews, { params: { namespace: ns }, body: [1, 2] }, 400, /must be a JSON object/],
        ['POST', previews, { params: { namespace: ns }, body: 'text' }, 400, /must be a JSON object/],
        [
          'POST',
          previews,
          { params: { namespace: ns }, body: { repository: 'shop', branch: 'main' } },
          422,
          /commit/,
        ],
        [
          'POST',
          previews,
          { params: { namespace: ns }, body: { repository: 'shop', branch: 'main', commit: 'XYZ' } },
          422,
          /body.commit/,
        ],
        [
          'POST',
          previews,
          { params: { namespace: ns }, body: { repository: 'shop', branch: 'a b', commit: 'abcdef0' } },
          422,
          /body.branch/,
        ],
        [
          'POST',
          previews,
          {
            params: { namespace: ns },
            body: { repository: 'shop', branch: 'x', commit: 'abcdef0', pullRequest: 3 },
          },
          422,
          /set pullRequest and targetBranch together/,
        ],
        [
          'POST',
          previews,
          {
            params: { namespace: ns },
            body: { repository: 'shop', branch: 'x', commit: 'abcdef0', color: 1 },
          },
          422,
          /color/,
        ],
        [
          'POST',
          previews,
          {
            params: { namespace: ns },
            body: { repository: 'shop', branch: 'x', commit: 'abcdef0', state: 'On' },
          },
          422,
          /state/,
        ],
        [
          'POST',
          previews,
          { params: { namespace: ns }, body: { repository: 'nope', branch: 'x', commit: 'abcdef0' } },
          404,
          /PreviewRepository .*\/nope does not exist/,
        ],
        [
          'POST',
          previews,
          { params: { namespace: ns }, rawBody: 'x', headers: { 'content-type': 'text/plain' } },
          415,
          /Content-Type: application\/json/,
        ],
        [
          'POST',
          previews,
          { params: { namespace: ns }, rawBody: `{"repository": "${'x'.repeat(1024 * 1024)}"}` },
          413,
          /over the limit \(1 MiB\)/,
        ],
        ['POST', `${ONE}/start`, { params: p, rawBody: '{oops' }, 400, /not valid JSON/],
        [
          'POST',
          `${ONE}/reset`,
          { params: p, rawBody: 'now', headers: { 'content-type': 'text/plain' } },
          415,
          /JSON/,
        ],
        ['POST', `${ONE}/start`, { params: { namespace: ns, name: 'missing' } }, 404, /does not exist/],
        [
          'POST',
          `${ONE}/stop`,
          { params: { namespace: ns, name: 'UPPER' } },
          400,
          /not a valid preview name/,
        ],
        ['DELETE', ONE, { params: { namespace: ns, name: 'missing' } }, 404, /does not exist/],
        ['GET', '/api/v1/nothing', {}, 404, /no route GET \/api\/v1\/nothing/],
      ];
      for (const [method, path, opts, status, message] of table) {
        const token = method === 'GET' ? viewer : ci;
        const r = await call(method, path, { ...opts, token });
        const what = `${method} ${path} ${JSON.stringify(opts)}`;
        assert.equal(r.status, status, `${what}: ${r.text}`);
        assert.match(r.type, /^application\/json/, what);
        assert.equal(r.json.error.code, status, what);
        assert.match(r.json.error.reason, /^[A-Z][A-Za-z]+$/, what);
        assert.match(r.json.error.message, message, what);
      }
      const invalid = await call('POST', previews, {
        params: { namespace: ns },
        token: ci,
        body: { repository: 'shop', branch: 'a b', commit: 'XYZ' },
      });
      assert.equal(invalid.json.error.fields.length, 2, 'each invalid field is listed');
    });

    await t.test('every operation of the document was exercised and conformed', () => {
      const missing = operations.map((o) => `${o.method} ${o.path}`).filter((k) => !conformance.seen.has(k));
      assert.deepEqual(missing, []);
    });
  });

  it('--public-reads: reads need no token, changes still do (in-process server on the same cluster)', async (t) => {
    await installCrds();
    const ns = await testNamespace(t, 'httppub');
    const client = await testClient();
    await client.create(PREVIEW_REPOSITORIES, repository(ns, 'shop'));
    await client.create(PREVIEWS, preview(ns, 'shop-main-abcdef0'));
    await tokensSecret(client, ns);
    const cache = <T extends PreviewObject | RepositoryObject>(ref: ResourceRef) =>
      new Informer<T>([new WatchCache<T>(client, ref, { namespace: ns, log: silentLogger })]);
    const previews = cache<PreviewObject>(PREVIEWS);
    const repositories = cache<RepositoryObject>(PREVIEW_REPOSITORIES);
    for (const c of [...previews.caches, ...repositories.caches]) c.start();
    t.after(() => {
      for (const c of [...previews.caches, ...repositories.caches]) c.stop();
    });
    const auth = new TokenAuthenticator({
      client,
      log: silentLogger,
      secret: `${ns}/api-tokens`,
      publicReads: true,
    });
    await auth.start();
    t.after(() => auth.stop());
    const ctx = { client, previews, repositories, log: silentLogger, auth, namespaces: [ns] };
    const app = createHttpServer(ctx, { heartbeatMs: 100 });
    t.after(() => app.close());
    const list = await until('the preview listed without a token', async () => {
      const r = await app.inject({ method: 'GET', url: '/api/v1/previews' });
      return r.json().total === 1 ? r : { pending: r.body };
    });
    assert.equal(list.statusCode, 200);
    const who = await app.inject({ method: 'GET', url: '/api/v1/whoami' });
    assert.deepEqual(who.json(), { authenticated: false, scopes: ['read'] });
    const start = await app.inject({
      method: 'POST',
      url: `/api/v1/namespaces/${ns}/previews/shop-main-abcdef0/start`,
    });
    assert.equal(start.statusCode, 401);
    const withToken = await app.inject({
      method: 'POST',
      url: `/api/v1/namespaces/${ns}/previews/shop-main-abcdef0/start`,
      headers: { authorization: `Bearer ${TOKENS.root}` },
    });
    assert.equal(withToken.statusCode, 202);
    // Events without a token: snapshot, heartbeats, and the subscription ends with the client.
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const abort = new AbortController();
    const res = await fetch(`${address}/api/v1/events`, { signal: abort.signal });
    assert.equal(res.status, 200);
    let text = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      text += Buffer.from(chunk).toString('utf8');
      if (text.includes(': heartbeat')) break;
    }
    assert.match(text, /^event: snapshot\ndata: \{"items":\[\{"namespace":/);
    assert.equal(openEventStreams(ctx), 1);
    abort.abort();
    await until('the stream to unsubscribe', async () => openEventStreams(ctx) === 0, 10_000);
    // A token added to the Secret works without a restart.
    await client.mergePatch(SECRETS, ns, 'api-tokens', { stringData: { late: 'operate:late-7a6b5c4d3e2f' } });
    await until(
      'the new token to be accepted',
      async () => {
        const r = await app.inject({
          method: 'GET',
          url: '/api/v1/whoami',
          headers: { authorization: 'Bearer late-7a6b5c4d3e2f' },
        });
        return r.statusCode === 200 || { pending: r.body };
      },
      30_000,
    );
  });

  it('bosun serve: its own caches, health endpoints, the same API', async (t) => {
    await installCrds();
    const ns = await testNamespace(t, 'serve');
    const client = await testClient();
    await client.create(PREVIEW_REPOSITORIES, repository(ns, 'shop'));
    await client.create(PREVIEWS, preview(ns, 'shop-main-abcdef0'));
    const { kubeconfig } = await testCluster();
    const [port, health] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'serve',
        `--kubeconfig=${kubeconfig}`,
        `--namespace=${ns}`,
        `--http-address=127.0.0.1:${port}`,
        `--health-probe-bind-address=127.0.0.1:${health}`,
        '--public-reads',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    t.after(async () => {
      child.kill('SIGTERM');
      await exited;
    });
    await until(
      'bosun serve to be ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`bosun serve exited: ${output}`);
        const r = await fetch(`http://127.0.0.1:${health}/readyz`).catch(() => undefined);
        return r?.status === 200 || { pending: r ? await r.text() : 'not listening' };
      },
      30_000,
    );
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    const list = (await (await fetch(`http://127.0.0.1:${port}/api/v1/previews`)).json()) as {
      items: { name: string }[];
    };
    assert.deepEqual(
      list.items.map((v: { name: string }) => v.name),
      ['shop-main-abcdef0'],
    );
    const start = await fetch(
      `http://127.0.0.1:${port}/api/v1/namespaces/${ns}/previews/shop-main-abcdef0/start`,
      {
        method: 'POST',
      },
    );
    assert.equal(start.status, 401, 'no --tokens-secret: nothing can be changed');
    assert.match(
      ((await start.json()) as { error: { message: string } }).error.message,
      /needs a token with scope operate/,
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `bosun serve stops cleanly on SIGTERM: ${output.slice(-500)}`);
  });
});
