/**
 * Test support for the dashboard's browser tests: the real API on loopback (SQLite in a temp dir),
 * Debian's Chromium through playwright-core, a login, axe-core injected as a same-origin script
 * (the page's CSP allows no inline script), and the screenshot folder.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { makeTestApp, type TestApp } from '@nanny/api/testing';

export const CHROMIUM = '/usr/bin/chromium';
export const PASSWORD = 'correct-horse-battery';
export const GiB = 1024 ** 3;

/**
 * Where screenshots go: NANNY_WEB_SCREENSHOTS, else `.cache/screenshots/` at the repository root
 * (git-ignored), so a reviewer finds them after `npm test`.
 */
export function screenshotDir(fromEnv: string | undefined): string {
  const dir = fromEnv || new URL('../../../.cache/screenshots/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function startApi(dir: string): Promise<{ app: TestApp; base: string }> {
  const app = await makeTestApp({ sqliteFile: join(dir, 'nannyapi.db'), adminPassword: PASSWORD });
  await app.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.app.server.address();
  assert.ok(addr && typeof addr === 'object');
  return { app, base: `http://127.0.0.1:${addr.port}` };
}

export async function launch(
  dir: string,
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  return { context, page, problems };
}

export async function post(base: string, path: string, token: string, body: unknown) {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  assert.equal(r.status, 200, `${path}: ${r.status} ${text}`);
}

export async function login(page: Page, base: string) {
  await page.goto(`${base}/`);
  await page.waitForSelector('#login-form');
  await page.fill('#login-user', 'admin');
  await page.fill('#login-pass', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core on the page as it is: the serious and critical violations, as "id: help (targets)". */
export async function axeSerious(page: Page): Promise<string[]> {
  // served from the page's own origin: the CSP's script-src 'self' lets it in, inline would not
  await page.route('**/__axe.js', (route) => route.fulfill({ body: AXE, contentType: 'text/javascript' }));
  await page.addScriptTag({ url: '/__axe.js' });
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: AxeViolation[] }> } }
    ).axe;
    const r = await axe.run({ resultTypes: ['violations'] });
    return r.violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id}: ${v.help} (${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')})`,
    );
}

/**
 * The page's document as the functions passed to page.evaluate see it (these files are type-checked
 * without the DOM library; the functions run in the browser).
 */
export interface PageDoc {
  querySelectorAll(s: string): ArrayLike<unknown>;
  querySelector<T = { textContent: string | null; scrollTop: number; scrollHeight: number }>(
    s: string,
  ): T | null;
  documentElement: { scrollWidth: number; clientWidth: number };
}
export interface PageCanvas {
  width: number;
  height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

/** how many rows the guest table has in the DOM (a function: the CSP forbids eval of strings) */
export function domRows(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      (
        globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<unknown> } }
      ).document.querySelectorAll('table.guests tbody tr:not(.spacer)').length,
  );
}
