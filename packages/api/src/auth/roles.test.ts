/**
 * M3 attack tests: a `user` session reads and acknowledges alerts, nothing more. Every case here
 * was accepted before roles were enforced.
 */
import { test } from '@nanny/testing';
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestApp, type TestApp } from '../testing.ts';
import { hashPassword } from './tokens.ts';

const USER_PASSWORD = 'correct horse battery';

describe('roles: what a `user` session may do', () => {
  let t: TestApp;
  let userCookie: string;
  let adminCookie: string;
  let othersTokenId: string;

  const login = async (username: string, password: string): Promise<string> => {
    const r = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
    assert.equal(r.statusCode, 200, r.body);
    const c = r.cookies.find((x) => x.name === 'nannyapi_session');
    return `nannyapi_session=${c!.value}`;
  };
  const as = async (
    cookie: string,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: object,
  ) =>
    t.app.inject({
      method,
      url,
      headers: { cookie, ...(payload ? { 'content-type': 'application/json' } : {}) },
      ...(payload ? { payload: JSON.stringify(payload) } : {}),
    });

  before(async () => {
    t = await makeTestApp({ adminPassword: 'admin-password-1' });
    const tenant = await t.storage.ensureTenant('default', new Date().toISOString());
    await t.storage.createUser({
      tenant_id: tenant.id,
      username: 'viewer',
      password_hash: await hashPassword(USER_PASSWORD),
      role: 'user',
      created_at: new Date().toISOString(),
    });
    userCookie = await login('viewer', USER_PASSWORD);
    adminCookie = await login('admin', 'admin-password-1');
    const other = await as(adminCookie, 'POST', '/api/tokens', { name: 'admin-ci', scope: 'write' });
    assert.equal(other.statusCode, 200);
    othersTokenId = other.json().data.id;
  });
  after(async () => t.app.close());

  const refused = (r: { statusCode: number; json(): { error?: string } }) => {
    assert.equal(r.statusCode, 403, JSON.stringify(r.json()));
    assert.equal(r.json().error, 'forbidden');
  };

  test('reads alerts and clusters', async () => {
    assert.equal((await as(userCookie, 'GET', '/api/alerts')).statusCode, 200);
    assert.equal((await as(userCookie, 'GET', '/api/clusters')).statusCode, 200);
  });

  test('cannot create a write token, but can create a read token', async () => {
    refused(await as(userCookie, 'POST', '/api/tokens', { name: 'x', scope: 'write' }));
    const ok = await as(userCookie, 'POST', '/api/tokens', { name: 'mine', scope: 'read' });
    assert.equal(ok.statusCode, 200);
  });

  test("cannot see or revoke another user's token", async () => {
    const list = await as(userCookie, 'GET', '/api/tokens');
    assert.ok(!(list.json().data as { id: string }[]).some((x) => x.id === othersTokenId));
    const del = await as(userCookie, 'DELETE', `/api/tokens/${othersTokenId}`);
    assert.equal(del.statusCode, 404);
    const still = (await t.storage.listApiTokens((await t.storage.tenantByName('default'))!.id)).find(
      (x) => x.id === othersTokenId,
    );
    assert.equal(still?.revoked_at, null);
  });

  test('cannot create or list enrollment tokens, list, revoke or rebind agents', async () => {
    refused(await as(userCookie, 'POST', '/api/enrollment-tokens', { uses: 100000, ttl: '3650d' }));
    refused(await as(userCookie, 'GET', '/api/enrollment-tokens'));
    refused(await as(userCookie, 'GET', '/api/agents'));
    const a = await t.register('pve-roles');
    refused(await as(userCookie, 'POST', `/api/agents/${a.agentId}/revoke`));
    refused(await as(userCookie, 'POST', `/api/agents/${a.agentId}/rebind`));
  });

  test('cannot add channels, change alert settings or silence', async () => {
    refused(
      await as(userCookie, 'POST', '/api/notification-channels', {
        type: 'webhook',
        name: 'x',
        url: 'http://127.0.0.1:9/x',
      }),
    );
    refused(await as(userCookie, 'GET', '/api/notification-channels'));
    refused(
      await as(userCookie, 'PUT', '/api/alerts/settings', { rules: { agent_silent: { enabled: false } } }),
    );
    refused(
      await as(userCookie, 'POST', '/api/alerts/silences', {
        rule: 'quorum_lost',
        duration_seconds: 600,
        comment: 'x',
      }),
    );
  });

  test("a user's read token cannot reach the admin's reads", async () => {
    const r = await as(userCookie, 'POST', '/api/tokens', { name: 'r', scope: 'read' });
    const pat = r.json().token as string;
    assert.equal((await t.get('/api/guests', pat)).status, 200);
    assert.equal((await t.get('/api/agents', pat)).status, 403);
  });

  test('the admin can do all of it', async () => {
    const r = await as(adminCookie, 'POST', '/api/enrollment-tokens', { uses: 2, ttl: '1h' });
    assert.equal(r.statusCode, 200);
    assert.equal((await as(adminCookie, 'GET', '/api/agents')).statusCode, 200);
    const w = await as(adminCookie, 'POST', '/api/tokens', { name: 'w', scope: 'write' });
    const pat = w.json().token as string;
    // an admin's write token acts as the admin
    assert.equal((await t.post('/api/enrollment-tokens', pat, { uses: 1, ttl: '1h' })).status, 200);
  });
});
