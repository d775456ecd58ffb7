/** M5 attack tests: file modes of the database, and a JWT forged with the stored key. */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../storage/open.ts';
import { makeTestApp, SPEC } from '../testing.ts';
import { signJwt } from './tokens.ts';

test('a new data folder is 0700 and nannyapi.db, -wal and -shm are 0600 whatever the umask', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'nanny-modes-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const file = join(root, 'data', 'nannyapi.db');
  const old = process.umask(0o022);
  try {
    const { db } = await openDatabase({ sqliteFile: file });
    t.after(() => db.destroy());
    assert.equal(statSync(join(root, 'data')).mode & 0o777, 0o700);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
  } finally {
    process.umask(old);
  }
});

test('a JWT forged with the stored key and a far exp is refused; a normal one passes', async (t) => {
  const a = await makeTestApp({ adminPassword: 'admin-password-1' });
  t.after(() => a.app.close());
  const agent = await a.register(SPEC.node.name);
  const key = await a.storage.secret('jwt_secret', () => 'unused');
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: agent.agentId, tid: '', ver: 0, typ: 'agent' as const, iat: now, exp: now + 3600 };
  const st = (await a.storage.agentAuthStates([agent.agentId])).get(agent.agentId)!;
  const tid = (await a.storage.agentById(agent.agentId))!.tenant_id;
  const ok = signJwt({ ...claims, tid, ver: st.token_version }, key);
  assert.equal((await a.post('/api/proxmox/node', ok, SPEC.node)).status, 200);
  const forged = signJwt({ ...claims, tid, ver: st.token_version, exp: now + 10 * 365 * 86400 }, key);
  const r = await a.post('/api/proxmox/node', forged, SPEC.node);
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'unauthorized');
  const future = signJwt({ ...claims, tid, ver: st.token_version, iat: now + 3000, exp: now + 3600 }, key);
  assert.equal((await a.post('/api/proxmox/node', future, SPEC.node)).status, 401);
});
