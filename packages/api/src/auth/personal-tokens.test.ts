/** Info: personal tokens expire, note their last use, and die with a password change. */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp } from '../testing.ts';

const ADMIN_PASSWORD = 'admin-password-1';

test('a token with ttl stops working after it; last_used_at is noted; a password change revokes the user’s tokens', async (t) => {
  let clock = Date.parse('2026-03-01T00:00:00Z');
  const a = await makeTestApp({ adminPassword: ADMIN_PASSWORD }, { now: () => new Date(clock) });
  t.after(() => a.app.close());
  const login = await a.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { username: 'admin', password: ADMIN_PASSWORD },
  });
  const cookie = `nannyapi_session=${login.cookies.find((c) => c.name === 'nannyapi_session')!.value}`;
  const create = async (payload: object) =>
    a.app.inject({ method: 'POST', url: '/api/tokens', headers: { cookie }, payload });

  const bad = await create({ name: 'x', ttl: '99999d' });
  assert.equal(bad.statusCode, 400);
  const short = await create({ name: 'short', ttl: '1h' });
  assert.equal(short.statusCode, 200);
  assert.equal(short.json().data.expires_at, '2026-03-01T01:00:00.000Z');
  const shortPat = short.json().token as string;
  const forever = (await create({ name: 'forever' })).json().token as string;

  assert.equal((await a.get('/api/clusters', shortPat)).status, 200);
  const list = await a.app.inject({ method: 'GET', url: '/api/tokens', headers: { cookie } });
  const row = (list.json().data as { name: string; last_used_at: string | null }[]).find(
    (x) => x.name === 'short',
  );
  assert.equal(row?.last_used_at, '2026-03-01T00:00:00.000Z');

  clock += 3600_000;
  assert.equal((await a.get('/api/clusters', shortPat)).status, 401);
  assert.equal((await a.get('/api/clusters', forever)).status, 200);

  const change = await a.app.inject({
    method: 'POST',
    url: '/api/auth/password',
    headers: { cookie },
    payload: { current_password: ADMIN_PASSWORD, new_password: 'plum tractor violet 7' },
  });
  assert.equal(change.statusCode, 200);
  assert.equal((await a.get('/api/clusters', forever)).status, 401);
});
