/** /api/users: an administrator lists, creates, promotes and deletes users; a `user` is refused. */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp, type TestApp } from '../testing.ts';

const ADMIN_PASSWORD = 'admin-password-users-1';

async function login(t: TestApp, username: string, password: string): Promise<string> {
  const r = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
  assert.equal(r.statusCode, 200, r.body);
  const c = r.cookies.find((x) => x.name === 'nannyapi_session');
  return `nannyapi_session=${c!.value}`;
}

function as(t: TestApp, cookie: string) {
  return (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({
      method,
      url,
      headers: { cookie, ...(payload ? { 'content-type': 'application/json' } : {}) },
      ...(payload ? { payload: JSON.stringify(payload) } : {}),
    });
}

type UserRow = { id: string; username: string; role: string; password_hash?: string };

test('an administrator creates a user who logs in; a `user` gets 403 on every /api/users route', async (ctx) => {
  const t = await makeTestApp({ adminPassword: ADMIN_PASSWORD });
  ctx.after(() => t.app.close());
  const admin = as(t, await login(t, 'admin', ADMIN_PASSWORD));

  const created = await admin('POST', '/api/users', { username: 'carol' });
  assert.equal(created.statusCode, 200, created.body);
  const { data, password } = created.json<{ data: UserRow; password: string }>();
  assert.equal(data.role, 'user', 'a new user is a `user` unless told');
  assert.equal(data.password_hash, undefined);
  assert.equal((await admin('POST', '/api/users', { username: 'carol' })).statusCode, 409);
  assert.equal((await admin('POST', '/api/users', { username: 'dave', rights: 'all' })).statusCode, 400);

  const list = (await admin('GET', '/api/users')).json<{ data: UserRow[] }>().data;
  assert.deepEqual(
    list.map((u) => [u.username, u.role, 'password_hash' in u]),
    [
      ['admin', 'admin', false],
      ['carol', 'user', false],
    ],
  );

  const carolCookie = await login(t, 'carol', password);
  const carol = as(t, carolCookie);
  for (const [method, url, body] of [
    ['GET', '/api/users', undefined],
    ['POST', '/api/users', { username: 'mallory', role: 'admin' }],
    ['PATCH', `/api/users/${data.id}`, { role: 'admin' }],
    ['DELETE', `/api/users/${list[0]!.id}`, undefined],
  ] as const) {
    const r = await carol(method, url, body);
    assert.equal(r.statusCode, 403, `${method} ${url}: ${r.body}`);
    assert.equal(r.json<{ error: string }>().error, 'forbidden');
  }
  // her read token acts with her role
  const tok = await carol('POST', '/api/tokens', { name: 'carol-read' });
  const secret = tok.json<{ token: string }>().token;
  assert.equal((await t.get('/api/users', secret)).status, 403);
  assert.equal((await t.get('/api/users', await t.pat('read'))).status, 200);

  // promoted, she may at her next request
  assert.equal((await admin('PATCH', `/api/users/${data.id}`, { role: 'admin' })).statusCode, 200);
  assert.equal((await carol('GET', '/api/users')).statusCode, 200);
});

test('the last administrator stays one; deleting a user ends their session and tokens', async (ctx) => {
  const t = await makeTestApp({ adminPassword: ADMIN_PASSWORD });
  ctx.after(() => t.app.close());
  const admin = as(t, await login(t, 'admin', ADMIN_PASSWORD));
  const me = (await admin('GET', '/api/users')).json<{ data: UserRow[] }>().data[0]!;

  const demote = await admin('PATCH', `/api/users/${me.id}`, { role: 'user' });
  assert.equal(demote.statusCode, 409, demote.body);
  assert.match(demote.json<{ error_description: string }>().error_description, /without an administrator/);
  assert.equal((await admin('DELETE', `/api/users/${me.id}`)).statusCode, 409, 'not yourself');
  assert.equal((await admin('DELETE', '/api/users/no-such-user')).statusCode, 404);
  assert.equal((await admin('PATCH', '/api/users/no-such-user', { role: 'admin' })).statusCode, 404);

  const erin = (await admin('POST', '/api/users', { username: 'erin', role: 'admin' })).json<{
    data: UserRow;
    password: string;
  }>();
  const erinCookie = await login(t, 'erin', erin.password);
  const tok = await as(t, erinCookie)('POST', '/api/tokens', { name: 'erin-ci', scope: 'write' });
  const secret = tok.json<{ token: string }>().token;
  assert.equal((await t.get('/api/users', secret)).status, 200);
  // with a second administrator, the first may step down
  assert.equal((await admin('PATCH', `/api/users/${me.id}`, { role: 'user' })).statusCode, 200);
  assert.equal((await admin('GET', '/api/users')).statusCode, 403, 'the role applies at once');
  const erinAdmin = as(t, erinCookie);
  assert.equal((await erinAdmin('PATCH', `/api/users/${me.id}`, { role: 'admin' })).statusCode, 200);

  assert.equal((await admin('DELETE', `/api/users/${erin.data.id}`)).statusCode, 200);
  assert.equal((await erinAdmin('GET', '/api/auth/me')).statusCode, 401, 'her session ended');
  assert.equal((await t.get('/api/users', secret)).status, 401, 'her token is revoked');
  assert.deepEqual(
    (await admin('GET', '/api/users')).json<{ data: UserRow[] }>().data.map((u) => u.username),
    ['admin'],
  );
});
