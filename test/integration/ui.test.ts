// The web UI in a real headless Chromium against the operator's own HTTP server on the real control
// plane: previews appear live, a stop button stops, logs stream, filters narrow the list, a
// visitor without a token sees no mutating buttons and gets 401 from the API, and a fork's pull
// request waits for an Approve.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { ResourceRef } from '../../src/runtime/kube-client.ts';
import { waitFor } from '../../src/runtime/wait.ts';
import { openUi, testBrowser } from '../support/browser.ts';
import { testClient, testNamespace } from '../support/cluster.ts';
import { fromFork, pullRequestEvent } from '../support/github-examples.ts';
import { createWebhookSecret, postWebhook, secretValue } from '../support/github-webhooks.ts';
import { installCrds, kubectlApply, startOperator } from '../support/operator.ts';
import {
  PREVIEW_REPOSITORIES,
  PREVIEW_TEMPLATES,
  PREVIEWS,
  phase,
  preview,
  repository,
  template,
  waitPreview,
} from '../support/previews.ts';

const SECRETS: ResourceRef = { group: '', version: 'v1', plural: 'secrets', namespaced: true };
const OPERATE_TOKEN = 'ui-test-operate-token-7c1f';
const READ_TOKEN = 'ui-test-read-token-93ab';
const SIMULATED_LOG = 'bosun dev: simulated pod';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const card = (name: string) => `article.card[aria-label="${name}"]`;
const badge = (name: string) => `${card(name)} .badge`;
const MUTATING =
  'button[data-action="start"], button[data-action="stop"], button[data-action="reset"], button[data-action="undeploy"]';

/** Waits for the card's phase badge; a timeout says what the page showed (card, notice). */
async function waitBadge(page: Page, name: string, want: string, timeout: number) {
  try {
    await page.locator(badge(name), { hasText: want }).waitFor({ timeout });
  } catch (e) {
    const shown = await page
      .locator(card(name))
      .textContent({ timeout: 1000 })
      .catch(() => 'no card');
    const notice = await page.textContent('#notice');
    throw new Error(
      `${name} never showed ${want}: card "${shown}", notice "${notice}" (${(e as Error).message})`,
    );
  }
}

describe('web UI', () => {
  it('live list (a kubectl-created preview and a webhook-created one), stop button, streamed logs, filters; no buttons and 401 without a token', async (t) => {
    const browser = await testBrowser(t);
    if (!browser) return;
    const ns = await testNamespace(t, 'ui');
    const client = await testClient();
    await installCrds();
    await client.create(PREVIEW_TEMPLATES, template(ns, 'web'));
    await createWebhookSecret(client, ns, 'shop-webhook', 'ui-test-hmac-key');
    await client.create(
      PREVIEW_REPOSITORIES,
      repository(ns, 'shop', { webhookSecretRef: { name: 'shop-webhook', key: 'secret' } }),
    );
    await client.create(SECRETS, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bosun-tokens', namespace: ns },
      stringData: { ops: `operate:${OPERATE_TOKEN}`, viewer: `read:${READ_TOKEN}` },
    });
    const port = await freePort();
    await startOperator(t, {
      namespaces: [ns],
      args: [`--http-address=127.0.0.1:${port}`, `--tokens-secret=${ns}/bosun-tokens`, '--public-reads'],
    });
    const url = `http://127.0.0.1:${port}/`;
    await waitFor(
      async () => {
        const res = await fetch(`${url}api/v1/whoami`, {
          headers: { authorization: `Bearer ${OPERATE_TOKEN}` },
        }).catch(() => undefined);
        const body = res?.ok ? ((await res.json()) as { scopes: string[] }) : undefined;
        return body?.scopes.includes('operate') || { pending: res ? `${res.status}` : 'not listening' };
      },
      { what: 'the HTTP server to know the operate token', timeoutMs: 30_000 },
    );

    // The page and its files: same-origin only, cached by ETag, nothing else served under /ui/.
    const index = await fetch(url);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const script = await fetch(`${url}ui/app.js`);
    assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);
    const etag = script.headers.get('etag') ?? '';
    assert.equal((await fetch(`${url}ui/app.js`, { headers: { 'if-none-match': etag } })).status, 304);
    const missing = await fetch(`${url}ui/..%2Fpackage.json`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { reason: string } }).error.reason, 'NotFound');

    // An operator signs in through the form; the token then lives in sessionStorage.
    const page = await openUi(browser, url);
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    t.after(() => assert.deepEqual(pageErrors, [], 'no errors in the page'));
    await page.fill('#token', OPERATE_TOKEN);
    await page.click('#signin-button');
    await page.getByText('Signed in as ops').waitFor();
    await page.getByText('No previews yet.').waitFor();
    assert.equal(await page.isVisible('#logs'), false, 'no logs panel until Logs is pressed');
    assert.equal(await page.isVisible('#approvals'), false, 'nothing waits for approval');

    // Created with kubectl: it appears without a reload and follows its phases up to Running.
    assert.equal(await kubectlApply(preview(ns, 'shop-main-abcdef0', { state: 'Running' })), '');
    await page.waitForSelector(card('shop-main-abcdef0'), { timeout: 30_000 });
    await kubectlApply(
      preview(ns, 'shop-feature-login-1234567', { branch: 'feature-login', commit: '1234567abc' }),
    );
    // The pull request arrives as GitHub sends it: a signed pull_request "opened" webhook.
    const openPullRequest = async (number: number, headRef: string, sha: string, fork?: string) => {
      const event = pullRequestEvent('acme/shop', 'opened', number, sha.padEnd(40, '0'));
      event.pull_request.head.ref = headRef;
      return postWebhook(url.replace(/\/$/, ''), {
        event: 'pull_request',
        body: JSON.stringify(fork ? fromFork(event, fork) : event),
        secret: await secretValue(client, ns, 'shop-webhook'),
      });
    };
    const delivered = await openPullRequest(7, 'fix-cart', '89abcdef01');
    assert.equal(delivered.status, 202, JSON.stringify(delivered.body));
    await page.waitForSelector(card('shop-pr7-89abcde'), { timeout: 30_000 });
    await waitBadge(page, 'shop-main-abcdef0', 'Running', 90_000);
    const commitLink = page.locator(`${card('shop-main-abcdef0')} a[href$="/commit/abcdef0123"]`);
    assert.equal(await commitLink.getAttribute('href'), 'https://github.com/acme/shop/commit/abcdef0123');
    assert.equal(
      await page.locator(`${card('shop-main-abcdef0')} a`, { hasText: 'Open' }).getAttribute('href'),
      'http://shop-main-abcdef0.preview.test',
    );
    assert.equal(
      await page.locator('[aria-label="pull request #7"] a[href$="/pull/7"]').count(),
      1,
      'a pull request row links to the pull request',
    );

    // The app's log streams into the panel (kwok serves the simulated pod log).
    await page.click(`${card('shop-main-abcdef0')} button[data-action="logs"]`);
    await page.locator('#logs-text', { hasText: SIMULATED_LOG }).waitFor({ timeout: 30_000 });
    assert.equal(await page.getAttribute('#logs', 'data-step'), 'app');
    await page.click('#logs button[data-step="build"]');
    await page.locator('#logs-text', { hasText: SIMULATED_LOG }).waitFor({ timeout: 30_000 });
    await page.click('#logs-close');
    assert.equal(await page.isVisible('#logs'), false, 'the logs panel closed');

    // Stop: the spec changes in the cluster and the badge follows without a reload.
    await page.click(`${card('shop-main-abcdef0')} button[data-action="stop"]`);
    await waitPreview(client, ns, 'shop-main-abcdef0', phase('Stopped'), 'Stopped by the UI');
    assert.equal((await client.get(PREVIEWS, ns, 'shop-main-abcdef0')).spec.state, 'Stopped');
    await waitBadge(page, 'shop-main-abcdef0', 'Stopped', 30_000);
    await page.waitForSelector(`${card('shop-main-abcdef0')} button[data-action="start"]`);

    // Filters and search narrow the list; the URL keeps them.
    await page.fill('#f-q', '#7');
    await page.waitForSelector(card('shop-main-abcdef0'), { state: 'detached' });
    assert.equal(await page.locator('article.card').count(), 1);
    assert.match(page.url(), /q=%237/);
    await page.fill('#f-q', '');
    await page.selectOption('#f-phase', 'Running');
    await page.getByText(/^0 of 3 previews/).waitFor();
    await page.selectOption('#f-phase', '');
    await page.fill('#f-branch', 'feature');
    await page.waitForSelector(card('shop-feature-login-1234567'));
    // The filter applies after a moment: the other cards leave before the count is read.
    // A locator wait, not waitForFunction: the page's CSP forbids the eval that a string predicate needs.
    await page.locator('article.card').nth(1).waitFor({ state: 'detached' });
    assert.equal(await page.locator('article.card').count(), 1);
    await page.fill('#f-branch', '');

    if (process.env.BOSUN_UI_SCREENSHOT) {
      // docs/images/preview-ui.png: one preview running with its app log open
      await page.click(`${card('shop-pr7-89abcde')} button[data-action="start"]`);
      await waitBadge(page, 'shop-pr7-89abcde', 'Running', 90_000);
      await page.click(`${card('shop-pr7-89abcde')} button[data-action="logs"]`);
      await page.locator('#logs-text', { hasText: SIMULATED_LOG }).waitFor({ timeout: 30_000 });
      await page.setViewportSize({ width: 1280, height: 640 });
      await page.screenshot({ path: process.env.BOSUN_UI_SCREENSHOT });
      await page.click(`${card('shop-pr7-89abcde')} button[data-action="stop"]`);
      await waitBadge(page, 'shop-pr7-89abcde', 'Stopped', 90_000);
    }

    // A visitor without a token reads (public reads) but sees no mutating button, and the API says 401.
    const visitor = await openUi(browser, url);
    await visitor.waitForSelector(card('shop-main-abcdef0'), { timeout: 30_000 });
    await visitor.getByText('Not signed in').waitFor();
    assert.equal(await visitor.locator(MUTATING).count(), 0, 'no start/stop/reset/undeploy without a token');
    assert.equal(await visitor.locator('button[data-action="logs"]').count(), 3, 'logs are a read');
    const stopUrl = `${url}api/v1/namespaces/${ns}/previews/shop-main-abcdef0/start`;
    const status = await visitor.evaluate(async (u) => (await fetch(u, { method: 'POST' })).status, stopUrl);
    assert.equal(status, 401);
    assert.equal(
      (await client.get(PREVIEWS, ns, 'shop-main-abcdef0')).spec.state,
      'Stopped',
      'nothing changed',
    );

    // A read-only token: signed in, still no mutating button; a wrong token is refused.
    const reader = await openUi(browser, url, READ_TOKEN);
    await reader.getByText('Signed in as viewer').waitFor();
    await reader.waitForSelector(card('shop-main-abcdef0'));
    assert.equal(await reader.locator(MUTATING).count(), 0, 'no mutating button for a read token');
    const wrong = await openUi(browser, url, 'not-a-token');
    await wrong.getByText('The token was not accepted.').waitFor();
    await wrong.getByText('Not signed in').waitFor();

    // A pull request from a fork waits for approval (forkPolicy Ignore, the default): listed for
    // everyone who may read, with an Approve button for those who may operate.
    const waiting = await openPullRequest(8, 'patch-1', '8888aaaa01', 'mallory/shop');
    assert.equal(waiting.status, 200, JSON.stringify(waiting.body));
    const approval = 'li.approval[aria-label="pull request #8 of acme/shop"]';
    // The visitor opens the page filtered to the repository.
    await visitor.goto(`${url}?repository=${encodeURIComponent(`${ns}/shop`)}`);
    await visitor
      .locator(approval, { hasText: 'patch-1 → main from mallory/shop' })
      .waitFor({ timeout: 30_000 });
    assert.equal(await visitor.locator(`${approval} button`).count(), 0, 'no Approve button without a token');
    // The signed-in page shows it live, without a reload.
    await page.locator(approval).waitFor({ timeout: 30_000 });
    page.once('dialog', (d) => void d.accept());
    await page.click(`${approval} button`, { timeout: 10_000 });
    await page.waitForSelector(card('shop-pr8-8888aaa'), { timeout: 30_000 });
    await page.locator('#approvals').waitFor({ state: 'hidden' });
    const approved = await client.get(PREVIEWS, ns, 'shop-pr8-8888aaa');
    assert.deepEqual(
      [approved.spec.pullRequest, approved.spec.commit, approved.spec.branch, approved.spec.targetBranch],
      [8, '8888aaaa01'.padEnd(40, '0'), 'patch-1', 'main'],
    );
  });
});
