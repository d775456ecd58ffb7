import { describe, before, after } from 'node:test';
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { CSP, webAssetsDir, webRoutes } from './index.ts';
// The web package is tested inside the real API (its module list includes the dashboard).
import { makeTestApp, type TestApp } from '@nanny/api/testing';

describe('webAssetsDir', () => {
  test('finds public/ beside src/ when run from the sources', () => {
    assert.equal(webAssetsDir(), fileURLToPathSafe(new URL('../public', import.meta.url)));
  });
  test('finds packages/web/public from the api bundle in packages/api/dist', () => {
    const bundle = new URL('../../api/dist/nannyapi.mjs', import.meta.url).href;
    assert.equal(webAssetsDir(bundle), fileURLToPathSafe(new URL('../public', import.meta.url)));
  });
});

function fileURLToPathSafe(u: URL) {
  return decodeURIComponent(u.pathname).replace(/\/$/, '');
}

describe('dashboard routes in the API', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp();
  });
  after(async () => {
    await t.app.close();
  });

  test('GET / answers the page as HTML with a strict CSP and no inline script', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(r.headers['content-security-policy'], CSP);
    assert.match(CSP, /script-src 'self'(;|$)/);
    assert.doesNotMatch(CSP, /unsafe-inline|unsafe-eval/);
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.match(r.body, /<script type="module" src="\/assets\/app\.js"><\/script>/);
    // every <script> has a src: nothing inline that the CSP would block
    for (const m of r.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      assert.match(m[1]!, /\bsrc=/);
      assert.equal(m[2]!.trim(), '');
    }
    assert.doesNotMatch(r.body, /\sstyle=|\son[a-z]+=/i);
  });

  test('assets are served with their content types, an ETag and a 304 on revalidation', async () => {
    const cases: [string, string, RegExp][] = [
      ['/assets/app.js', 'text/javascript; charset=utf-8', /\/api\/stream/],
      ['/assets/app.css', 'text/css; charset=utf-8', /\.uplot/],
      ['/assets/style.css', 'text/css; charset=utf-8', /--bg:/],
      ['/assets/favicon.svg', 'image/svg+xml', /<svg/],
    ];
    for (const [url, type, body] of cases) {
      const r = await t.app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200, url);
      assert.equal(r.headers['content-type'], type, url);
      assert.equal(r.headers['content-security-policy'], CSP, url);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', url);
      assert.match(r.body, body, url);
      const etag = r.headers['etag'];
      assert.ok(typeof etag === 'string' && etag.length > 4, url);
      const again = await t.app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } });
      assert.equal(again.statusCode, 304, url);
      assert.equal(again.body, '');
    }
  });

  test('unknown and traversing asset names are 404, never a file outside public/', async () => {
    for (const url of [
      '/assets/nope.js',
      '/assets/..%2Fpackage.json',
      '/assets/..%2F..%2Fpackage.json',
      '/assets/index.html',
    ]) {
      const r = await t.app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 404, url);
      assert.doesNotMatch(r.body, /"name"/, url);
    }
  });

  test('the API keeps its JSON 404 envelope, its own CSP, /docs and /openapi.json', async () => {
    const nf = await t.app.inject({ method: 'GET', url: '/api/no-such-thing' });
    assert.equal(nf.statusCode, 404);
    assert.deepEqual(nf.json(), {
      success: false,
      error: 'not_found',
      error_description: 'No route GET /api/no-such-thing',
    });
    const clusters = await t.app.inject({ method: 'GET', url: '/api/clusters' });
    assert.equal(clusters.statusCode, 401);
    assert.equal(clusters.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'");
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.match(String(docs.headers['content-type']), /text\/html/);
    const spec = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(spec.statusCode, 200);
    const paths = Object.keys(spec.json<{ paths: Record<string, unknown> }>().paths);
    assert.ok(paths.includes('/api/clusters'));
    assert.ok(!paths.includes('/') && !paths.includes('/assets/{file}'), 'the page is not in the API docs');
  });

  test('HEAD / answers the headers of the page', async () => {
    const r = await t.app.inject({ method: 'HEAD', url: '/' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  });
});

describe('the bundle (scripts/build.mjs writes packages/web/dist)', () => {
  const dist = new URL('../dist/', import.meta.url).pathname;
  test('stays within its budget: 150 KB gzip for app.js and app.css together', () => {
    const sizes = ['app.js', 'app.css'].map(
      (f) => gzipSync(readFileSync(join(dist, f)), { level: 9 }).length,
    );
    const total = sizes.reduce((a, b) => a + b, 0);
    assert.ok(total <= 150 * 1024, `the dashboard is ${total} bytes gzip`);
  });
  test('needs no eval (the CSP has no unsafe-eval) and builds its DOM without innerHTML', () => {
    const js = readFileSync(join(dist, 'app.js'), 'utf8');
    assert.doesNotMatch(js, /\beval\(|new Function\(/);
    // text from the API reaches the page as text nodes only: nothing in the bundle parses HTML
    assert.doesNotMatch(js, /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write/);
  });
});

describe('webRoutes with a missing folder', () => {
  test('GET / answers 503 with a plain explanation instead of failing the server', async () => {
    const app = Fastify();
    await app.register(async (a) => webRoutes(a, { assetsDir: '/nonexistent-nanny-web' }));
    const r = await app.inject({ method: 'GET', url: '/' });
    assert.equal(r.statusCode, 503);
    assert.match(r.body, /dashboard files are missing/);
    await app.close();
  });

  test('serves only known file types from a given folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nanny-web-'));
    try {
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
      writeFileSync(join(dir, 'secret.env'), 'TOKEN=1');
      writeFileSync(join(dir, 'app.js'), 'export {};');
      const app = Fastify();
      await app.register(async (a) => webRoutes(a, { assetsDir: dir }));
      assert.equal((await app.inject({ method: 'GET', url: '/' })).body, '<!doctype html><title>x</title>');
      assert.equal((await app.inject({ method: 'GET', url: '/assets/app.js' })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/assets/secret.env' })).statusCode, 404);
      await app.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
