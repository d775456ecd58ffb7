/** Low: the per-token rate limit is keyed on the parsed token, not on the header's spelling. */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp } from '../testing.ts';

test('`bearer X`, `Bearer  X` and `BEARER X ` share one bucket', async (t) => {
  const a = await makeTestApp({ rateLimit: 3, rateLimitIp: 0 });
  t.after(() => a.app.close());
  const pat = await a.pat('read');
  const codes: number[] = [];
  for (const h of [`Bearer ${pat}`, `bearer ${pat}`, `Bearer  ${pat}`, `BEARER ${pat} `]) {
    const r = await a.app.inject({ method: 'GET', url: '/api/clusters', headers: { authorization: h } });
    codes.push(r.statusCode);
  }
  assert.deepEqual(codes, [200, 200, 200, 429]);
});
