/** Low: enrollment tokens can be revoked (API and CLI) and their lifetime is capped and validated. */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestApp } from '../testing.ts';
import { runCli } from '../cli.ts';

test('ttl "99999999d" and "31d" are 400 in the envelope, not 500; "30d" is taken', async (t) => {
  const a = await makeTestApp();
  t.after(() => a.app.close());
  const pat = await a.pat('write');
  for (const ttl of ['99999999d', '31d', '99999999999999999999d']) {
    const r = await a.post('/api/enrollment-tokens', pat, { uses: 1, ttl });
    assert.equal(r.status, 400, ttl);
    assert.equal(r.json.error, 'invalid_request');
  }
  assert.equal((await a.post('/api/enrollment-tokens', pat, { uses: 1, ttl: '30d' })).status, 200);
});

test('a revoked enrollment token registers no agent; revoking twice or another org’s is 404', async (t) => {
  const a = await makeTestApp();
  t.after(() => a.app.close());
  const pat = await a.pat('write');
  const other = await a.pat('write', 'other-org');
  const c = await a.post('/api/enrollment-tokens', pat, { uses: 5, ttl: '1h' });
  const id = (c.json.data as { id: string }).id;
  const secret = c.json.token as string;
  const del = (token: string) =>
    a.app.inject({
      method: 'DELETE',
      url: `/api/enrollment-tokens/${id}`,
      headers: { authorization: `Bearer ${token}` },
    });
  assert.equal((await del(other)).statusCode, 404);
  assert.equal((await del(pat)).statusCode, 200);
  assert.equal((await del(pat)).statusCode, 404);
  const reg = await a.app.inject({
    method: 'POST',
    url: '/api/agent/register',
    payload: { enrollment_token: secret, hostname: 'pve-late' },
  });
  assert.equal(reg.statusCode, 401);
  const list = await a.get('/api/enrollment-tokens', pat);
  assert.ok(
    (list.json.data as { id: string; revoked_at: string | null }[]).find((e) => e.id === id)?.revoked_at,
  );
});

test('nannyapi enroll list / enroll revoke, and --ttl is capped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nannyapi-enroll-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = {
    NANNYAPI_DATA_DIR: dir,
    NANNYAPI_LOG_LEVEL: 'silent',
    HOME: dir,
    NANNYAPI_RUNTIME_DIR: join(dir, 'run'),
  };
  const cli = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l), env });
    return { code, out, err };
  };
  const tooLong = await cli(['enroll', 'create', '--ttl', '99999999d']);
  assert.equal(tooLong.code, 2, tooLong.err.join('\n'));
  assert.match(tooLong.err.join('\n'), /--ttl/);
  assert.equal((await cli(['enroll', 'create', '--ttl', '2h'])).code, 0);
  const list = await cli(['enroll', 'list']);
  const id = list.out[0]!.split(/\s+/)[0]!;
  assert.equal((await cli(['enroll', 'revoke', id])).code, 0);
  assert.match((await cli(['enroll', 'list'])).out[0]!, /revoked/);
  assert.equal((await cli(['enroll', 'revoke', id])).code, 1);
});
