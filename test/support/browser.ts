// Headless Chromium (Debian's `chromium` package) driven by playwright-core, for the web UI's tests
// and its first-paint figure.
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.BOSUN_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. Throws in CI: there they must run. */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`;
  if (process.env.CI) throw new Error(`the web UI tests must run in CI, but ${why}`);
  return why;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
}

/** A browser closed after the test; undefined (and the test skipped) only outside CI without Chromium. */
export async function testBrowser(t: TestContext): Promise<Browser | undefined> {
  const missing = chromiumMissing();
  if (missing) {
    t.skip(`web UI tests skipped: ${missing}`);
    return undefined;
  }
  const browser = await launchChromium();
  t.after(() => browser.close());
  return browser;
}

/** A page that signs in with `token` before the UI's script runs (the UI keeps it in sessionStorage). */
export async function openUi(browser: Browser, url: string, token?: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  if (token) await page.addInitScript((t) => sessionStorage.setItem('bosun.token', t), token);
  await page.goto(url);
  return page;
}

export interface FirstPaint {
  /** From navigation start to the frame that showed the first screen of previews (mark bosun:first-screen). */
  firstScreenMs: number;
  /** From navigation start to the snapshot of every preview parsed (mark bosun:snapshot). */
  snapshotMs: number;
  /** From navigation start to the first screen's DOM built (mark bosun:rendered), before its layout and paint. */
  renderedMs: number;
  /** Previews the page counted in the snapshot. */
  previews: number;
  /** Preview cards in the document: what was rendered, not what exists. */
  cardsRendered: number;
  /** Elements in the whole document. */
  elements: number;
}

/** The page sets this attribute after the frame that showed its first screen of previews. */
export const FIRST_SCREEN_SHOWN = 'html[data-first-screen="true"]';
// Evaluated in the page (a string: this project's TypeScript has no DOM types).
const FIRST_PAINT_FIGURES = `(() => {
  const mark = (name) => performance.getEntriesByName(name, 'mark')[0]?.startTime ?? Number.NaN;
  const summary = document.getElementById('summary')?.textContent ?? '';
  return {
    firstScreenMs: mark('bosun:first-screen'),
    snapshotMs: mark('bosun:snapshot'),
    renderedMs: mark('bosun:rendered'),
    previews: Number(/of (\\d+) previews/.exec(summary)?.[1] ?? 0),
    cardsRendered: document.querySelectorAll('#list article.card').length,
    elements: document.getElementsByTagName('*').length,
  };
})()`;

/**
 * Opens the UI at `url` in a fresh headless Chromium page and measures the time to its first screen
 * of previews, from the performance marks the page sets. Pass `browser` to reuse one.
 */
export async function measureFirstPaint(
  url: string,
  opts: { token?: string; browser?: Browser; timeoutMs?: number } = {},
): Promise<FirstPaint> {
  const browser = opts.browser ?? (await launchChromium());
  try {
    const page = await openUi(browser, url, opts.token);
    await page.waitForSelector(FIRST_SCREEN_SHOWN, { state: 'attached', timeout: opts.timeoutMs ?? 60_000 });
    const result = (await page.evaluate(FIRST_PAINT_FIGURES)) as FirstPaint;
    await page.context().close();
    return result;
  } finally {
    if (!opts.browser) await browser.close();
  }
}
