/**
 * H1 through the HTTP API: a write token cannot point a channel inside the network, and what the
 * test endpoint answers is a status line, never the receiver's body.
 */
import { test } from '@nanny/testing';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config.ts';
import { makeTestApp } from '../testing.ts';
import { startHttpReceiver, type HttpReceiver } from '../notify/testing.ts';
import { createAlertStore } from '../storage/alerts.ts';

let hook: HttpReceiver;
before(async () => {
  hook = await startHttpReceiver();
});
after(() => hook.close());

test('a channel at an internal address is refused with 400, in every spelling, without the password', async () => {
  const t = await makeTestApp();
  try {
    const pat = await t.pat('write');
    for (const url of [
      'http://127.0.0.1:6379/',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://0177.0.0.1/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      const r = await t.post('/api/notification-channels', pat, { type: 'webhook', name: 'x', url });
      assert.equal(r.status, 400, url);
      assert.equal(r.json.error, 'invalid_request');
      assert.match(String(r.json.error_description), /address not allowed: .* is (loopback|metadata)/);
    }
    const smtp = await t.post('/api/notification-channels', pat, {
      type: 'email',
      name: 'm',
      host: '10.0.0.25',
      from: 'a@x.test',
      to: 'b@x.test',
    });
    assert.equal(smtp.status, 400);
    assert.match(String(smtp.json.error_description), /host: address not allowed: 10.0.0.25 is private/);
    const creds = await t.post('/api/notification-channels', pat, {
      type: 'slack',
      name: 's',
      url: 'https://bob:hunter2@hooks.example.com/x',
    });
    assert.equal(creds.status, 400);
    assert.doesNotMatch(JSON.stringify(creds.json), /hunter2/);
  } finally {
    await t.app.close();
  }
});

test('a stored channel at an internal address is refused when tested; nothing is connected', async () => {
  const t = await makeTestApp();
  try {
    const pat = await t.pat('write');
    const tenantId = (await t.storage.ensureTenant('default', new Date().toISOString())).id;
    // as a row written before this check existed would be
    await t.storage.extend(createAlertStore).createChannel(
      {
        id: 'old',
        tenantId,
        type: 'webhook',
        name: 'old',
        config: { url: `${hook.url}/internal` },
        minSeverity: 'info',
      },
      new Date().toISOString(),
    );
    const before = hook.received.length;
    const r = await t.post('/api/notification-channels/old/test', pat, {});
    assert.equal(r.status, 503);
    assert.equal(
      r.json.error_description,
      'Test notification failed: address not allowed: 127.0.0.1 is loopback',
    );
    assert.equal(hook.received.length, before);
  } finally {
    await t.app.close();
  }
});

test('with loopback allowed, a failing receiver is reported by its status only, not its body', async () => {
  const t = await makeTestApp({ allowedChannelNetworks: ['127.0.0.0/8'] });
  hook.respond = () => 500;
  try {
    const pat = await t.pat('write');
    const c = await t.post('/api/notification-channels', pat, {
      type: 'webhook',
      name: 'w',
      url: `${hook.url}/fails`,
    });
    assert.equal(c.status, 201);
    const id = (c.json.data as { id: string }).id;
    const r = await t.post(`/api/notification-channels/${id}/test`, pat, {});
    assert.equal(r.status, 503);
    // the receiver answered "nope": that must not come back
    assert.equal(r.json.error_description, 'Test notification failed: HTTP 500');
  } finally {
    hook.respond = () => 200;
    await t.app.close();
  }
});

test('NANNYAPI_ALLOWED_CHANNEL_NETWORKS is read as comma-separated CIDRs; a bad one is a config error', () => {
  const ok = loadConfig({ NANNYAPI_ALLOWED_CHANNEL_NETWORKS: ' 192.168.10.0/24, ::1/128 ,' });
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.config.allowedChannelNetworks, ['192.168.10.0/24', '::1/128']);
  assert.deepEqual(loadConfig({}).config.allowedChannelNetworks, []);
  const bad = loadConfig({ NANNYAPI_ALLOWED_CHANNEL_NETWORKS: '10.0.0.0/33' });
  assert.match(bad.errors.join(), /NANNYAPI_ALLOWED_CHANNEL_NETWORKS: .*10\.0\.0\.0\/33/);
});

test('a channel URL stored with user:password@ is listed without them', async () => {
  const t = await makeTestApp();
  try {
    const tenantId = (await t.storage.ensureTenant('default', new Date().toISOString())).id;
    await t.storage.extend(createAlertStore).createChannel(
      {
        id: 'creds',
        tenantId,
        type: 'ntfy',
        name: 'creds',
        config: { url: 'https://bob:hunter2@ntfy.example.com/', topic: 't' },
        minSeverity: 'info',
      },
      new Date().toISOString(),
    );
    const r = await t.get('/api/notification-channels/creds', await t.pat('read'));
    assert.equal((r.json.data as { url: string }).url, 'https://ntfy.example.com/');
  } finally {
    await t.app.close();
  }
});
