import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp } from './testing.ts';

test('rate limits and API headers follow the matched route, so a percent-encoded /api path gets them too', async () => {
  const t = await makeTestApp({ rateLimit: 1000, rateLimitIp: 3 });
  try {
    const read = await t.pat('read');
    const get = (url: string) =>
      t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${read}` } });
    const first = await get('/%61pi/clusters');
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers['cache-control'], 'no-store');
    assert.match(String(first.headers['content-security-policy']), /default-src 'none'/);
    await get('/%61pi/clusters');
    await get('/api/clusters');
    const over = await get('/%61pi/clusters');
    assert.equal(over.statusCode, 429);
    assert.equal(over.json<{ error: string }>().error, 'rate_limited');
    assert.ok(Number(over.headers['retry-after']) >= 1);
    // an unknown encoded /api path is still an API answer (no caching), counted by the limiter
    const missing = await get('/%61pi/nothing-here');
    assert.equal(missing.statusCode, 429);
  } finally {
    await t.app.close();
  }
});

const PASSWORD = 'transport-test-Pw-93!';

async function login(t: Awaited<ReturnType<typeof makeTestApp>>, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers,
    payload: { username: 'admin', password: PASSWORD },
  });
}

const sessionOf = (setCookie: string | string[] | undefined): string => {
  const line = [setCookie ?? []].flat().find((c) => c.startsWith('nannyapi_session='));
  assert.ok(line, 'a session cookie was set');
  return line.split(';')[0]!;
};

test('cookie-authenticated writes from another origin or site, or with a non-JSON body, are refused', async (tt) => {
  const t = await makeTestApp({ adminPassword: PASSWORD });
  tt.after(() => t.app.close());
  const cookie = sessionOf((await login(t)).headers['set-cookie']);
  const createToken = (headers: Record<string, string>, payload?: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/tokens',
      headers: { cookie, 'content-type': 'application/json', ...headers },
      payload: payload ?? JSON.stringify({ name: 'csrf', scope: 'write' }),
    });
  // a sibling subdomain is same-site: SameSite=Strict lets the cookie through, the check does not
  const sibling = await createToken({ origin: 'https://evil.example.com', 'sec-fetch-site': 'same-site' });
  assert.equal(sibling.statusCode, 403);
  assert.equal(sibling.json<{ error: string }>().error, 'forbidden');
  assert.equal((await createToken({ origin: 'https://evil.example.com' })).statusCode, 403);
  assert.equal((await createToken({ origin: 'null' })).statusCode, 403);
  assert.equal((await createToken({ 'sec-fetch-site': 'cross-site' })).statusCode, 403);
  // the body an HTML form or a "simple" fetch can send cross-origin without a preflight
  const plain = await createToken({ 'content-type': 'text/plain' }, '{"name":"csrf","scope":"write"}');
  assert.equal(plain.statusCode, 400);
  const form = await t.app.inject({
    method: 'POST',
    url: '/api/auth/logout',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'a=b',
  });
  assert.equal(form.statusCode, 400);
  // a login from another site is refused too (login CSRF)
  assert.equal((await login(t, { 'sec-fetch-site': 'cross-site' })).statusCode, 403);
  assert.equal((await t.storage.listApiTokens((await t.storage.ensureTenant('default', '')).id)).length, 0);
  // the dashboard's own requests pass: same origin (default port spelt or not), JSON body
  const own = await createToken({ origin: 'http://localhost', 'sec-fetch-site': 'same-origin' });
  assert.equal(own.statusCode, 200, own.body);
  // Bearer clients (scripts, agents) carry no ambient authority and are not affected
  const write = await t.pat('write');
  const script = await t.app.inject({
    method: 'POST',
    url: '/api/tokens',
    headers: { authorization: `Bearer ${write}`, origin: 'https://elsewhere.example' },
    payload: { name: 'script' },
  });
  assert.notEqual(script.statusCode, 403, script.body);
});

test('behind a trusted TLS proxy the session cookie is Secure and HSTS is sent; an untrusted header changes nothing', async (tt) => {
  const proxied = await makeTestApp({ adminPassword: PASSWORD, trustProxy: '127.0.0.1' });
  tt.after(() => proxied.app.close());
  const https = await login(proxied, { 'x-forwarded-proto': 'https' });
  assert.equal(https.statusCode, 200);
  assert.match(String(https.headers['set-cookie']), /; Secure/i);
  assert.equal(https.headers['strict-transport-security'], 'max-age=31536000');
  const plain = await login(proxied);
  assert.doesNotMatch(String(plain.headers['set-cookie']), /Secure/i);
  assert.equal(plain.headers['strict-transport-security'], undefined);

  const direct = await makeTestApp({ adminPassword: PASSWORD, trustProxy: false });
  tt.after(() => direct.app.close());
  const spoofed = await login(direct, { 'x-forwarded-proto': 'https' });
  assert.doesNotMatch(String(spoofed.headers['set-cookie']), /Secure/i);
  assert.equal(spoofed.headers['strict-transport-security'], undefined);
});

test('the Swagger UI under /docs has a CSP that allows no inline or foreign script', async (tt) => {
  const t = await makeTestApp();
  tt.after(() => t.app.close());
  for (const url of ['/docs/', '/docs/static/swagger-initializer.js', '/docs/static/swagger-ui-bundle.js']) {
    const r = await t.app.inject({ method: 'GET', url });
    assert.equal(r.statusCode, 200, url);
    const csp = String(r.headers['content-security-policy']);
    const script = /script-src ([^;]*)/.exec(csp)?.[1] ?? '';
    assert.equal(script, "'self'", `${url}: ${csp}`);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /object-src 'none'/);
  }
});

test('the per-token limit counts the token, not the spelling of the Authorization header', async (tt) => {
  const t = await makeTestApp({ rateLimit: 3, rateLimitIp: 0 });
  tt.after(() => t.app.close());
  const read = await t.pat('read');
  const statuses: number[] = [];
  for (const authorization of [`Bearer ${read}`, `bearer ${read}`, `BEARER  ${read} `, `Bearer\t${read}`])
    statuses.push(
      (await t.app.inject({ method: 'GET', url: '/api/clusters', headers: { authorization } })).statusCode,
    );
  assert.deepEqual(statuses, [200, 200, 200, 429]);
});
