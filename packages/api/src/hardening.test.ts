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
