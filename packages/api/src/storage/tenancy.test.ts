/**
 * Issue 13, M9: a write by id from another tenant answers 404 and has no side effect on the owner's
 * rows (its refresh tokens, its pending deliveries).
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { makeTestApp } from '../testing.ts';
import { createAlertStore } from './alerts.ts';
import type { CoreDatabase } from './types.ts';

interface DeliveryRow {
  id: string;
  tenant_id: string;
  channel_id: string;
  alert_id: string | null;
  event: string;
  payload: string;
  idempotency_key: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  locked_until: number;
  last_error: string | null;
  created_at: string;
  done_at: string | null;
}

test('org A revoking org B agent by id: 404, and B keeps its agent and refresh tokens', async (t) => {
  const ta = await makeTestApp();
  t.after(() => ta.app.close());
  const b = await ta.register('pve-b', {}, 'org-b');
  const aWrite = await ta.pat('write', 'org-a');
  const db = ta.storage.extend((h) => h.db as Kysely<CoreDatabase>);
  const tokensBefore = await db
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('agent_id', '=', b.agentId)
    .execute();
  assert.equal(tokensBefore.length, 1);

  const r = await ta.post(`/api/agents/${b.agentId}/revoke`, aWrite, {});
  assert.equal(r.status, 404);
  assert.equal(r.json.error, 'not_found');
  const tokensAfter = await db
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('agent_id', '=', b.agentId)
    .execute();
  assert.deepEqual(tokensAfter, tokensBefore);
  // B's agent still refreshes and reports.
  const refreshed = await ta.app.inject({
    method: 'POST',
    url: '/api/agent/refresh',
    payload: { refresh_token: b.refresh },
  });
  assert.equal(refreshed.statusCode, 200);
});

test('org A deleting org B channel by id: 404, and B keeps its channel and pending delivery', async (t) => {
  const ta = await makeTestApp();
  t.after(() => ta.app.close());
  const tenantB = (await ta.storage.ensureTenant('org-b', new Date().toISOString())).id;
  const aWrite = await ta.pat('write', 'org-a');
  const alerts = ta.storage.extend(createAlertStore);
  const db = ta.storage.extend((h) => h.db as Kysely<{ alert_deliveries: DeliveryRow }>);
  const channelId = 'chan-of-b';
  await alerts.createChannel(
    {
      id: channelId,
      tenantId: tenantB,
      type: 'webhook',
      name: 'b-hook',
      config: { url: 'https://hooks.example.com/b' },
      minSeverity: 'info',
    },
    new Date().toISOString(),
  );
  await db
    .insertInto('alert_deliveries')
    .values({
      id: 'delivery-of-b',
      tenant_id: tenantB,
      channel_id: channelId,
      alert_id: null,
      event: 'firing',
      payload: '{}',
      idempotency_key: 'k-b',
      status: 'pending',
      attempts: 0,
      next_attempt_at: Date.now() + 3600_000,
      locked_until: 0,
      last_error: null,
      created_at: new Date().toISOString(),
      done_at: null,
    })
    .execute();

  const r = await ta.app.inject({
    method: 'DELETE',
    url: `/api/notification-channels/${channelId}`,
    headers: { authorization: `Bearer ${aWrite}` },
  });
  assert.equal(r.statusCode, 404);
  assert.equal(r.json<{ error: string }>().error, 'not_found');
  const d = await db
    .selectFrom('alert_deliveries')
    .selectAll()
    .where('id', '=', 'delivery-of-b')
    .executeTakeFirstOrThrow();
  assert.equal(d.status, 'pending');
  assert.equal(d.last_error, null);
  assert.ok(await alerts.getChannel(tenantB, channelId));
});
