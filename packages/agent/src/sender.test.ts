import { test, waitFor, within } from '@nanny/testing';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpRequest } from './http.ts';
import { memoryLogger } from './log.ts';
import { backoffDelay, createDelivery, createSender, tokensToCredentials } from './sender.ts';
import { createSpool } from './spool.ts';
import { createStateStore } from './state.ts';
import { startFakeApi, type FakeApi } from './testing/fake-api.ts';

const tls = { allowInsecureHttp: false };

async function setup(t: { after: (fn: () => Promise<void> | void) => void }, api: FakeApi) {
  const dir = mkdtempSync(join(tmpdir(), 'sender-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const state = createStateStore(dir);
  const res = await httpRequest({
    method: 'POST',
    url: api.url + '/api/agent/register',
    body: JSON.stringify({ enrollment_token: api.enrollToken, hostname: 'pve1' }),
    timeoutMs: 2000,
    tls,
  });
  await state.writeCredentials(tokensToCredentials(api.url, JSON.parse(res.text), Date.now()));
  const log = memoryLogger();
  const sender = createSender({ http: httpRequest, state, log, tls, timeoutMs: 2000 });
  return { dir, state, log, sender };
}

test('full-jitter backoff stays within the capped exponential ceiling', () => {
  assert.equal(
    backoffDelay(0, 100, 1000, () => 0.999),
    99,
  );
  assert.equal(
    backoffDelay(3, 100, 1000, () => 0.999),
    799,
  );
  assert.equal(
    backoffDelay(10, 100, 1000, () => 0.999),
    999,
  );
  assert.equal(
    backoffDelay(10, 100, 1000, () => 0),
    0,
  );
});

test('a 401 refreshes the token, resends once and stores the rotated tokens with mode 0600', async (t) => {
  const api = await startFakeApi();
  t.after(() => api.close());
  const { sender, state, dir } = await setup(t, api);
  api.expireAccessToken();
  assert.equal(await sender.send({ endpoint: '/api/proxmox/node', body: { name: 'pve1' } }), 'delivered');
  assert.equal(api.hits['/api/agent/refresh'], 1);
  assert.equal(api.received.length, 1);
  const c = await state.readCredentials();
  assert.equal(c?.refresh_token, 'refresh-2');
  assert.equal(statSync(join(dir, 'credentials.json')).mode & 0o777, 0o600);
});

test('a revoked agent keeps its reports for retry, says so once, and records it for `status`', async (t) => {
  const api = await startFakeApi();
  t.after(() => api.close());
  const { sender, state, log } = await setup(t, api);
  assert.equal(await sender.send({ endpoint: '/api/proxmox/node', body: { name: 'pve1' } }), 'delivered');
  assert.equal((await state.readDelivery())?.auth_rejected, false);
  api.revoke();
  assert.equal(await sender.send({ endpoint: '/api/proxmox/node', body: { name: 'pve1' } }), 'retry');
  assert.equal(await sender.send({ endpoint: '/api/proxmox/node', body: { name: 'pve1' } }), 'retry');
  const d = await state.readDelivery();
  assert.equal(d?.auth_rejected, true);
  assert.match(d?.detail ?? '', /revoked/);
  assert.equal(
    log.lines.filter((l) => l.startsWith('[ERROR]') && l.includes('revoked')).length,
    1,
    log.lines.join('\n'),
  );
});

test('5xx and 429 are retried; other 4xx drop the item and log error_description', async (t) => {
  const api = await startFakeApi();
  t.after(() => api.close());
  const { sender, log } = await setup(t, api);
  const item = { endpoint: '/api/proxmox/lxc', body: { vmid: 1 } };
  api.mode = 'down';
  assert.equal(await sender.send(item), 'retry');
  api.mode = 'rate-limited';
  assert.equal(await sender.send(item), 'retry');
  api.mode = 'reject';
  assert.equal(await sender.send(item), 'dropped');
  assert.ok(log.lines.some((l) => l.startsWith('[ERROR]') && l.includes('vmid: Expected integer')));
});

test('network errors are retried', async (t) => {
  const api = await startFakeApi();
  t.after(() => api.close()); // in case setup fails before the close below
  const { sender } = await setup(t, api);
  await api.close();
  assert.equal(await sender.send({ endpoint: '/api/proxmox/node', body: {} }), 'retry');
});

test('the delivery loop delivers spooled items in order after an outage, none lost', async (t) => {
  const api = await startFakeApi();
  t.after(() => api.close());
  const { sender, log, dir } = await setup(t, api);
  const spool = createSpool({ dir: join(dir, 'spool'), maxItems: 1000, log });
  await spool.open();
  const d = createDelivery({ spool, sender, log, retryBaseMs: 5, retryMaxMs: 20 });
  api.mode = 'down';
  const running = d.run();
  t.after(async () => {
    d.stop();
    await within(running, { what: 'the delivery loop to end after stop()', budget: 'short' });
  });
  for (let i = 1; i <= 30; i++) {
    await spool.push([{ endpoint: '/api/proxmox/lxc', body: { vmid: i }, queued_at: '' }]);
    d.wake();
  }
  // the outage has been seen: the first item was refused and retried a few times
  await waitFor(() => (api.hits['/api/proxmox/lxc'] ?? 0) >= 3, {
    what: 'three refused attempts',
    budget: 'short',
  });
  assert.equal(api.received.length, 0);
  api.mode = 'ok';
  await within(d.idle(), { what: 'the spool to drain', budget: 'medium' });
  assert.deepEqual(
    api.received.map((r) => r.body.vmid),
    Array.from({ length: 30 }, (_, i) => i + 1),
  );
});
