// Signing in with GitHub on `bosun run --http-address --github-oauth-secret`, on the real control
// plane, against the loopback fake GitHub (its OAuth pages, and /user and the permission endpoint
// checked against GitHub's REST description). A browser is played with fetch: redirects followed
// by hand, cookies kept per host; the web UI's link, CSRF header and sign-out in headless Chromium.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import type { PreviewObject } from '../../src/controllers/preview/model.ts';
import type { KubeClient } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { testBrowser } from '../support/browser.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.ts';
import { getOrUndefined, installCrds, startOperator } from '../support/operator.ts';
import {
  PREVIEW_REPOSITORIES,
  PREVIEW_TEMPLATES,
  PREVIEWS,
  preview,
  repository,
  template,
} from '../support/previews.ts';

const SECRETS = { group: '', version: 'v1', plural: 'secrets', namespaced: true };
const APP = { clientId: 'Iv1.bosun0test', clientSecret: 'oauth-secret-5f4e3d2c1b' };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A browser's cookies for Bosun's host; `github` is the Cookie header of its GitHub sign-in. */
class Browser {
  readonly cookies = new Map<string, string>();
  readonly setCookies: string[] = [];
  readonly base: string;
  readonly github: string;
  constructor(base: string, github: string) {
    this.base = base;
    this.github = github;
  }

  /** One request to Bosun, no redirect followed; Set-Cookie is applied as a browser would. */
  async fetch(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const url = path.startsWith('http') ? path : `${this.base}${path}`;
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...init.headers, ...(cookie ? { cookie } : {}) },
    });
    for (const line of res.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      if (/Max-Age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(at + 1));
    }
    return res;
  }

  /** /auth/github/login → GitHub's authorize page → back to the callback URL (not yet followed). */
  async toGitHubAndBack(): Promise<string> {
    const login = await this.fetch('/auth/github/login');
    assert.equal(login.status, 302);
    const authorize = login.headers.get('location') ?? '';
    const at = new URL(authorize);
    assert.equal(at.pathname, '/login/oauth/authorize');
    assert.equal(at.searchParams.get('client_id'), APP.clientId);
    assert.equal(at.searchParams.get('redirect_uri'), `${this.base}/auth/github/callback`);
    const state = this.setCookies.findLast((c) => c.startsWith('bosun_oauth_state='));
    assert.match(state ?? '', /; HttpOnly; SameSite=Lax$/);
    const github = await fetch(authorize, { redirect: 'manual', headers: { cookie: this.github } });
    assert.equal(github.status, 302, await github.clone().text());
    return github.headers.get('location') ?? '';
  }

  async signIn(): Promise<void> {
    const callback = await this.fetch(await this.toGitHubAndBack());
    assert.equal(callback.status, 302, await callback.clone().text());
    assert.equal(callback.headers.get('location'), '/');
    const session = this.setCookies.findLast((c) => c.startsWith('bosun_session='));
    assert.match(
      session ?? '',
      /; HttpOnly; SameSite=Strict$/,
      'HttpOnly, SameSite=Strict, not Secure over http',
    );
  }

  async json(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
    const res = await this.fetch(path, init);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  whoami() {
    return this.json('/api/v1/whoami');
  }

  /** The first event of an event stream (its snapshot); the stream is closed then. */
  async firstEvent(path: string): Promise<string> {
    const stream = await this.events(path);
    const text = await stream.until((t) => t.includes('\n\n'));
    stream.close();
    return text;
  }

  /** An open event stream: `until` reads on until the text so far satisfies `done` (or fails after 30 s). */
  async events(path: string) {
    const abort = new AbortController();
    const res = await this.fetch(path, { signal: abort.signal });
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    return {
      until: async (done: (text: string) => boolean) => {
        const deadline = setTimeout(() => abort.abort(), 30_000);
        try {
          while (!done(text)) {
            const chunk = await reader.read();
            if (chunk.done) break;
            text += decoder.decode(chunk.value, { stream: true });
          }
        } catch (e) {
          if (!abort.signal.aborted) throw e;
          assert.fail(`the event stream did not show what was awaited in 30 s; it sent:\n${text}`);
        } finally {
          clearTimeout(deadline);
        }
        return text;
      },
      close: () => abort.abort(),
    };
  }
}

async function setup(t: TestContext, args: (port: number) => string[] = () => []) {
  await installCrds();
  const github = await startFakeGitHub();
  t.after(() => github.close());
  github.addOAuthApp(APP);
  const ns = await testNamespace(t, 'ghlogin');
  const client = await testClient();
  await client.create(PREVIEW_TEMPLATES, template(ns, 'web'));
  await client.create(PREVIEW_REPOSITORIES, repository(ns, 'shop'));
  await client.create(PREVIEWS, preview(ns, 'shop-main', { state: 'Running' }));
  // A repository nobody in these tests may read on GitHub.
  await client.create(PREVIEW_REPOSITORIES, repository(ns, 'vault'));
  await client.create(PREVIEWS, preview(ns, 'vault-main', { repository: 'vault' }));
  await client.create(SECRETS, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'github-oauth', namespace: ns },
    stringData: { ...APP, sessionKey: 'a-session-key-of-at-least-32-characters' },
  });
  const port = await freePort();
  await startOperator(t, {
    namespaces: [ns],
    args: [
      `--http-address=127.0.0.1:${port}`,
      `--github-oauth-secret=${ns}/github-oauth`,
      `--github-web-url=${github.url}`,
      `--github-api-url=${github.url}`,
      ...args(port),
    ],
  });
  const base = `http://127.0.0.1:${port}`;
  const browser = (login: string) => new Browser(base, github.addUser(login));
  return { ns, client, github, base, browser };
}

const state = async (client: KubeClient, ns: string) =>
  (await client.get<PreviewObject>(PREVIEWS, ns, 'shop-main')).spec.state;

/** No request reached the fake GitHub that its REST description or OAuth rules refused. */
function assertValidCalls(github: FakeGitHub) {
  const refused = github.calls.filter((c) => c.problem);
  assert.deepEqual(refused, [], 'every request to GitHub was valid');
}

/** The redirect_uri of a login started with this Host header. */
const redirectUri = (base: string, host: string) =>
  new Promise<string>((resolve, reject) => {
    const req = http.get(`${base}/auth/github/login`, { headers: { host } }, (res) => {
      res.resume();
      resolve(new URL(String(res.headers.location)).searchParams.get('redirect_uri') ?? '');
    });
    req.on('error', reject);
  });

describe('GitHub login (bosun run --github-oauth-secret)', () => {
  it('with --public-url the redirect back is built from it, whatever Host a request names', async (t) => {
    const { base } = await setup(t, (port) => [`--public-url=http://127.0.0.1:${port}`]);
    assert.equal(await redirectUri(base, 'evil.example:8443'), `${base}/auth/github/callback`);
  });

  it('signs in, authorizes per repository permission, needs the CSRF header, refuses a forged state, signs out', async (t) => {
    const { ns, client, github, base, browser } = await setup(t);
    github.setPermission('acme/shop', 'alice', 'write');
    github.setPermission('acme/shop', 'bob', 'read');
    const stopPath = `/api/v1/namespaces/${ns}/previews/shop-main/stop`;

    await t.test('whoami offers the login to an anonymous browser', async () => {
      const who = await browser('nobody').whoami();
      assert.deepEqual(who.body, { authenticated: false, scopes: [], loginUrl: '/auth/github/login' });
    });

    const alice = browser('alice');
    await t.test('the login flow: Bosun → GitHub → callback → session cookie', async () => {
      await alice.signIn();
      const who = await alice.whoami();
      assert.equal(who.status, 200);
      assert.equal(who.body.subject, 'alice');
      assert.equal(who.body.via, 'github');
      assert.deepEqual(who.body.scopes, []);
      assert.match(who.body.csrfToken, /^[\w-]{20,}$/);
      assert.equal(github.callsOf('users/get-authenticated').length, 1);
      const list = await alice.json(`/api/v1/previews?namespace=${ns}`);
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.items.map((v: { name: string }) => v.name),
        ['shop-main'],
      );
    });

    await t.test('a change with the session cookie but without the CSRF header is refused', async () => {
      const none = await alice.json(stopPath, { method: 'POST' });
      assert.equal(none.status, 403);
      assert.equal(none.body.error.reason, 'Forbidden');
      assert.match(none.body.error.message, /x-bosun-csrf/);
      const wrong = await alice.json(stopPath, { method: 'POST', headers: { 'x-bosun-csrf': 'guessed' } });
      assert.equal(wrong.status, 403);
      assert.equal(await state(client, ns), 'Running');
    });

    await t.test('a user with write permission stops the preview', async () => {
      const { csrfToken } = (await alice.whoami()).body;
      const stopped = await alice.json(stopPath, { method: 'POST', headers: { 'x-bosun-csrf': csrfToken } });
      assert.equal(stopped.status, 202, JSON.stringify(stopped.body));
      assert.equal(stopped.body.state, 'Stopped');
      assert.equal(await state(client, ns), 'Stopped');
      const asked = github.callsOf('repos/get-collaborator-permission-level');
      assert.ok(
        asked.some((c) => c.params.repo === 'shop' && c.params.username === 'alice'),
        JSON.stringify(asked.map((c) => c.params)),
      );
      // The permission is kept a few minutes: a second change asks GitHub nothing.
      const again = await alice.json(`/api/v1/namespaces/${ns}/previews/shop-main/start`, {
        method: 'POST',
        headers: { 'x-bosun-csrf': csrfToken },
      });
      assert.equal(again.status, 202);
      assert.equal(github.callsOf('repos/get-collaborator-permission-level').length, asked.length);
      const created = await alice.json(`/api/v1/namespaces/${ns}/previews`, {
        method: 'POST',
        headers: { 'x-bosun-csrf': csrfToken, 'content-type': 'application/json' },
        body: JSON.stringify({
          repository: 'shop',
          branch: 'feature',
          commit: '1234567abc',
          state: 'Stopped',
        }),
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      // A template runs with its secrets: a login allowed for shop may not pick another one.
      const chosen = await alice.json(`/api/v1/namespaces/${ns}/previews`, {
        method: 'POST',
        headers: { 'x-bosun-csrf': csrfToken, 'content-type': 'application/json' },
        body: JSON.stringify({ repository: 'shop', branch: 'other', commit: '1234567abc', template: 'web' }),
      });
      assert.equal(chosen.status, 403, JSON.stringify(chosen.body));
      assert.match(chosen.body.error.message, /may not choose the template/);
    });

    await t.test('a user with read permission reads but gets 403 on a change', async () => {
      const bob = browser('bob');
      await bob.signIn();
      const { csrfToken } = (await bob.whoami()).body;
      const got = await bob.json(`/api/v1/namespaces/${ns}/previews/shop-main`);
      assert.equal(got.status, 200);
      // What bob may not read on GitHub he cannot see here: not listed, not streamed, 404.
      const list = await bob.json(`/api/v1/previews?namespace=${ns}`);
      const names = list.body.items.map((v: { name: string }) => v.name);
      assert.ok(names.includes('shop-main') && !names.includes('vault-main'), names.join(', '));
      assert.equal((await bob.json(`/api/v1/namespaces/${ns}/previews/vault-main`)).status, 404);
      assert.equal((await bob.json(`/api/v1/namespaces/${ns}/previews/vault-main/logs`)).status, 404);
      const stream = await bob.firstEvent(`/api/v1/events?namespace=${ns}`);
      assert.match(stream, /shop-main/);
      assert.doesNotMatch(stream, /vault-main/);
      // A repository served after the stream opened shows on it, once bob may read it on GitHub.
      const live = await bob.events(`/api/v1/events?namespace=${ns}`);
      t.after(() => live.close());
      await live.until((text) => text.includes('\n\n'));
      github.setPermission('acme/outlet', 'bob', 'read');
      await client.create(PREVIEW_REPOSITORIES, repository(ns, 'vault2'));
      await client.create(PREVIEWS, preview(ns, 'vault2-main', { repository: 'vault2' }));
      await client.create(PREVIEW_REPOSITORIES, repository(ns, 'outlet'));
      await client.create(PREVIEWS, preview(ns, 'outlet-main', { repository: 'outlet' }));
      const later = await live.until((text) => /event: upsert\ndata: \{[^\n]*"outlet-main"/.test(text));
      assert.match(later, /"outlet-main"/);
      assert.doesNotMatch(later, /vault/);
      const refused = await bob.json(stopPath, { method: 'POST', headers: { 'x-bosun-csrf': csrfToken } });
      assert.equal(refused.status, 403);
      assert.match(refused.body.error.message, /"bob" may not operate previews of acme\/shop/);
      const undeploy = await bob.json(`/api/v1/namespaces/${ns}/previews/shop-main`, {
        method: 'DELETE',
        headers: { 'x-bosun-csrf': csrfToken },
      });
      assert.equal(undeploy.status, 403);
      const create = await bob.json(`/api/v1/namespaces/${ns}/previews`, {
        method: 'POST',
        headers: { 'x-bosun-csrf': csrfToken, 'content-type': 'application/json' },
        body: JSON.stringify({ repository: 'shop', branch: 'bob', commit: '1234567abc' }),
      });
      assert.equal(create.status, 403);
      assert.equal(await state(client, ns), 'Running');
      // A change to what bob may not read answers as if it were not there, as reads do.
      const post = (path: string, method = 'POST', body?: unknown) =>
        bob.json(path, {
          method,
          headers: {
            'x-bosun-csrf': csrfToken,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
      const hidden = [
        await post(`/api/v1/namespaces/${ns}/previews/vault-main/stop`),
        await post(`/api/v1/namespaces/${ns}/previews/vault-main`, 'DELETE'),
        await post(`/api/v1/namespaces/${ns}/previews/no-such-preview/stop`),
      ];
      assert.deepEqual(
        hidden.map((r) => [r.status, r.body.error.message]),
        [
          [404, `preview ${ns}/vault-main does not exist`],
          [404, `preview ${ns}/vault-main does not exist`],
          [404, `preview ${ns}/no-such-preview does not exist`],
        ],
      );
      for (const repository of ['vault', 'no-such-repository']) {
        const r = await post(`/api/v1/namespaces/${ns}/previews`, 'POST', {
          repository,
          branch: 'bob',
          commit: '1234567abc',
        });
        assert.deepEqual([r.status, r.body.error.reason], [404, 'RepositoryNotFound'], repository);
      }
      assert.ok(await getOrUndefined(client, PREVIEWS, ns, 'vault-main'), 'vault-main untouched');
    });

    await t.test('a callback with another browser’s state (a forged login link) is refused', async () => {
      const victim = browser('carol');
      github.setPermission('acme/shop', 'carol', 'admin');
      const mallory = browser('mallory');
      // The victim started a login (holds a state cookie); the attacker's callback link is delivered.
      await victim.toGitHubAndBack();
      const forged = await victim.json(await mallory.toGitHubAndBack());
      assert.equal(forged.status, 403);
      assert.equal(forged.body.error.reason, 'InvalidState');
      assert.equal((await victim.whoami()).body.authenticated, false);
      // Without any state cookie (a link opened cold) it is refused too.
      const cold = await new Browser(base, '').json(await mallory.toGitHubAndBack());
      assert.equal(cold.status, 403);
      assert.match(cold.body.error.message, /state cookie is missing/);
    });

    await t.test(
      'without --public-url the redirect back is built from the Host the browser used',
      async () => {
        assert.equal(
          await redirectUri(base, 'bosun.test:8090'),
          'http://bosun.test:8090/auth/github/callback',
        );
      },
    );

    await t.test('an account with access to no repository served here cannot sign in', async () => {
      const eve = browser('eve');
      const refused = await eve.json(await eve.toGitHubAndBack());
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.reason, 'NoRepositoryAccess');
      assert.equal(eve.cookies.has('bosun_session'), false);
      assert.equal((await eve.whoami()).body.authenticated, false);
    });

    await t.test('logout ends the session, also for a copy of its cookie', async () => {
      const copy = alice.cookies.get('bosun_session');
      const { csrfToken } = (await alice.whoami()).body;
      assert.equal(
        (await alice.json('/auth/logout', { method: 'POST' })).status,
        403,
        'logout needs the CSRF header',
      );
      const out = await alice.fetch('/auth/logout', {
        method: 'POST',
        headers: { 'x-bosun-csrf': csrfToken },
      });
      assert.equal(out.status, 204);
      assert.equal(alice.cookies.has('bosun_session'), false, 'the cookie is deleted');
      assert.equal((await alice.whoami()).body.authenticated, false);
      const replay = new Browser(base, '');
      replay.cookies.set('bosun_session', copy ?? '');
      assert.equal((await replay.whoami()).body.authenticated, false);
      const stop = await replay.json(stopPath, { method: 'POST', headers: { 'x-bosun-csrf': csrfToken } });
      assert.equal(stop.status, 401);
      assert.equal(await state(client, ns), 'Running');
      // The token is revoked at GitHub: another replica holding the cookie could not use it either.
      await waitFor(async () => github.callsOf('apps/delete-token').length === 1, { what: 'the revocation' });
    });

    await t.test(
      'the web UI: "Sign in with GitHub", a stop sent with the CSRF header, sign out',
      async (st) => {
        const chromium = await testBrowser(st);
        if (!chromium) return;
        github.setPermission('acme/shop', 'dave', 'maintain');
        const context = await chromium.newContext();
        // Signed in at GitHub: the fake's authorize page reads this cookie (its host is Bosun's too).
        const [name, value] = github.addUser('dave').split('=');
        await context.addCookies([{ name: name ?? '', value: value ?? '', url: github.url }]);
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${base}/`);
        await page.getByText('Not signed in').waitFor();
        await page.click('#github-signin');
        await page.getByText('Signed in as dave (GitHub)').waitFor();
        assert.equal(await page.isVisible('#github-signin'), false);
        const stop = 'article.card[aria-label="shop-main"] button[data-action="stop"]';
        await page.click(stop);
        await waitFor(async () => (await state(client, ns)) === 'Stopped', {
          what: 'the preview stopped by dave',
        });
        await page.click('#signout-button');
        await page.getByText('Not signed in').waitFor();
        assert.equal(await page.isVisible('#github-signin'), true);
        assert.deepEqual(errors, []);
      },
    );

    assertValidCalls(github);
  });
});
