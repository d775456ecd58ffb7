import { after, before, describe } from 'node:test';
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp, SPEC, type TestApp } from '../testing.ts';
import { verifyJwt, signJwt, hashPassword, verifyPassword } from './tokens.ts';

describe('agent registration, refresh and revocation', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp();
  });
  after(async () => t.app.close());

  test('register answers the contract and the access token ingests', async () => {
    const enrollment_token = await t.enroll();
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/agent/register',
      payload: { enrollment_token, hostname: 'pve-node-01' },
    });
    assert.equal(r.statusCode, 200);
    const j = r.json();
    assert.deepEqual(Object.keys(j).sort(), [
      'access_token',
      'agent_id',
      'expires_in',
      'refresh_token',
      'success',
      'token_type',
    ]);
    assert.equal(j.success, true);
    assert.equal(j.token_type, 'Bearer');
    assert.equal(j.expires_in, 3600);
    assert.equal((await t.post('/api/proxmox/node', j.access_token, SPEC.node)).status, 200);
  });

  test('a one-time enrollment token works once', async () => {
    const enrollment_token = await t.enroll(undefined, 1);
    const first = await t.app.inject({
      method: 'POST',
      url: '/api/agent/register',
      payload: { enrollment_token, hostname: 'a' },
    });
    const second = await t.app.inject({
      method: 'POST',
      url: '/api/agent/register',
      payload: { enrollment_token, hostname: 'b' },
    });
    assert.equal(first.statusCode, 200);
    assert.equal(second.statusCode, 401);
    assert.equal(second.json().error, 'unauthorized');
  });

  test('refresh rotates; reusing the old refresh token revokes the agent’s tokens', async () => {
    const a = await t.register('rot-1');
    const r1 = await t.post('/api/agent/refresh', '', { refresh_token: a.refresh });
    assert.equal(r1.status, 200);
    const newAccess = String(r1.json['access_token']);
    assert.notEqual(r1.json['refresh_token'], a.refresh);
    assert.equal((await t.post('/api/proxmox/node', newAccess, SPEC.node)).status, 200);
    const reuse = await t.post('/api/agent/refresh', '', { refresh_token: a.refresh });
    assert.equal(reuse.status, 401);
    // every token of the family is dead now: the new access token and the new refresh token
    assert.equal((await t.post('/api/proxmox/node', newAccess, SPEC.node)).status, 401);
    assert.equal(
      (await t.post('/api/agent/refresh', '', { refresh_token: r1.json['refresh_token'] })).status,
      401,
    );
  });

  test('revoking an agent takes effect on its very next request, despite the token cache', async () => {
    const a = await t.register('revoke-me');
    assert.equal((await t.post('/api/proxmox/node', a.access, SPEC.node)).status, 200);
    const admin = await t.pat('write');
    assert.equal((await t.post(`/api/agents/${a.agentId}/revoke`, admin, {})).status, 200);
    const r = await t.post('/api/proxmox/node', a.access, SPEC.node);
    assert.equal(r.status, 401);
    assert.equal(r.json['error'], 'unauthorized');
    assert.equal((await t.post('/api/agent/refresh', '', { refresh_token: a.refresh })).status, 401);
  });

  test('an expired access token is unauthorized', async () => {
    const secret = 'k';
    const tok = signJwt({ sub: 'x', tid: 'y', ver: 1, typ: 'agent', iat: 0, exp: 100 }, secret);
    assert.equal(verifyJwt(tok, secret, 99)?.sub, 'x');
    assert.equal(verifyJwt(tok, secret, 100), null);
    assert.equal(verifyJwt(tok, 'other', 99), null);
  });

  test('scrypt password hashes verify only the right password', async () => {
    const h = await hashPassword('correct horse');
    assert.equal(await verifyPassword('correct horse', h), true);
    assert.equal(await verifyPassword('wrong horse', h), false);
  });
});

describe('users, sessions and personal tokens', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp({ adminPassword: 'admin-password-1' });
  });
  after(async () => t.app.close());

  test('the admin logs in with a password; the session cookie reads and creates tokens', async () => {
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'admin', password: 'nope' },
    });
    assert.equal(bad.statusCode, 401);
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'admin', password: 'admin-password-1' },
    });
    assert.equal(r.statusCode, 200);
    const cookie = r.cookies.find((c) => c.name === 'nannyapi_session');
    assert.ok(cookie?.httpOnly);
    assert.equal(cookie?.sameSite, 'Strict');
    const headers = { cookie: `nannyapi_session=${cookie!.value}` };
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/clusters', headers })).statusCode, 200);
    const me = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers });
    assert.equal(me.json().user.username, 'admin');
    const tok = await t.app.inject({
      method: 'POST',
      url: '/api/tokens',
      headers,
      payload: { name: 'prom', scope: 'read' },
    });
    assert.equal(tok.statusCode, 200);
    const pat = tok.json().token as string;
    assert.equal((await t.get('/api/guests', pat)).status, 200);
    const enr = await t.app.inject({
      method: 'POST',
      url: '/api/enrollment-tokens',
      headers,
      payload: { uses: 3, ttl: '1h' },
    });
    assert.equal(enr.statusCode, 200);
    assert.match(enr.json().token, /^nanny_enr_/);
    await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers });
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/clusters', headers })).statusCode, 401);
  });

  test('a read token cannot write; a write token can', async () => {
    const read = await t.pat('read');
    const write = await t.pat('write');
    const r = await t.post('/api/enrollment-tokens', read, {});
    assert.equal(r.status, 403);
    assert.equal(r.json['error'], 'forbidden');
    assert.equal((await t.post('/api/enrollment-tokens', write, {})).status, 200);
  });

  test('an agent token does not open the read API, a personal token does not ingest', async () => {
    const a = await t.register();
    assert.equal((await t.get('/api/clusters', a.access)).status, 401);
    assert.equal((await t.post('/api/proxmox/node', await t.pat('write'), SPEC.node)).status, 401);
  });

  test('tokens never appear in the stored rows', async () => {
    const enrollment_token = await t.enroll();
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/agent/register',
      payload: { enrollment_token, hostname: 'h' },
    });
    const { refresh_token } = r.json();
    const dump = JSON.stringify([
      await t.storage.listEnrollmentTokens(
        (await t.storage.ensureTenant('default', new Date().toISOString())).id,
      ),
      await t.storage.listAgents(),
    ]);
    assert.equal(dump.includes(enrollment_token), false);
    assert.equal(dump.includes(refresh_token), false);
  });
});
