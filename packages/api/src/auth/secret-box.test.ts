/** M5: channel secrets are sealed at rest; a clear row from before is sealed when read. */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { makeTestApp } from '../testing.ts';
import { loadConfig } from '../config.ts';
import { createAlertStore } from '../storage/alerts.ts';
import { assertSameSecretKey, createSecretBox, loadSecretKey } from './secret-box.ts';

const bytesOnDisk = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith('nannyapi.db'))
    .map((f) => readFileSync(join(dir, f)).toString('latin1'))
    .join('');

test('the stored bytes do not contain a channel secret; the key file is 0600; clear rows get sealed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nanny-seal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sqliteFile = join(dir, 'nannyapi.db');
  const a = await makeTestApp({ sqliteFile, allowedChannelNetworks: ['127.0.0.0/8'] });
  t.after(() => a.app.close());
  const pat = await a.pat('write');
  const secret = `hmac-${randomBytes(12).toString('hex')}`;
  const r = await a.post('/api/notification-channels', pat, {
    type: 'webhook',
    name: 'ops',
    url: 'http://127.0.0.1:9/hook',
    secret,
  });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.equal(statSync(join(dir, 'secret.key')).mode & 0o777, 0o600);
  assert.ok(!bytesOnDisk(dir).includes(secret));

  // a channel written in clear (before this fix) is sealed on its first read
  const tenant = (await a.storage.tenantByName('default'))!;
  const clearSecret = `old-${randomBytes(12).toString('hex')}`;
  const plain = a.storage.extend((h) => createAlertStore(h));
  await plain.createChannel(
    {
      id: randomUUID(),
      tenantId: tenant.id,
      type: 'webhook',
      name: 'legacy',
      config: { url: 'http://127.0.0.1:9/old', secret: clearSecret },
      minSeverity: 'warning',
    },
    new Date().toISOString(),
  );
  assert.ok(bytesOnDisk(dir).includes(clearSecret));
  const list = await a.get('/api/notification-channels', pat);
  assert.equal(list.status, 200);
  assert.equal((list.json.data as unknown[]).length, 2);
  const key = loadSecretKey(a.app.nanny.config);
  const sealed = a.storage.extend((h) => createAlertStore(h, createSecretBox(key!)));
  const legacy = (await sealed.listChannels(tenant.id)).find((c) => c.name === 'legacy')!;
  assert.equal(legacy.config.secret, clearSecret);
  // the raw column is sealed now (the old page bytes may linger in free space until vacuum)
  const raw = await plain.listChannels(tenant.id).catch((e: unknown) => e);
  assert.ok(raw instanceof Error, 'a store without the key cannot parse the sealed column');
});

test('NANNYAPI_SECRET_KEY is validated; a wrong key cannot open', () => {
  assert.match(loadConfig({ NANNYAPI_SECRET_KEY: 'short' }).errors.join(), /NANNYAPI_SECRET_KEY/);
  assert.deepEqual(loadConfig({ NANNYAPI_SECRET_KEY: 'a'.repeat(64) }).errors, []);
  const one = createSecretBox(randomBytes(32));
  const two = createSecretBox(randomBytes(32));
  const s = one.seal('x');
  assert.equal(one.open(s), 'x');
  assert.throws(() => two.open(s));
});

test('a second process with another secret key is refused: replicas must share the key that seals channel secrets', async () => {
  const meta = new Map<string, string>();
  const stored = (k: string, create: () => string) => {
    if (!meta.has(k)) meta.set(k, create());
    return Promise.resolve(meta.get(k)!);
  };
  const a = Buffer.alloc(32, 1);
  await assertSameSecretKey(a, stored);
  await assertSameSecretKey(Buffer.from(a), stored);
  await assert.rejects(assertSameSecretKey(Buffer.alloc(32, 2), stored), /same NANNYAPI_SECRET_KEY/);
  assert.ok(![...meta.values()].some((v) => v.includes(a.toString('hex'))), 'the key itself is not stored');
});
