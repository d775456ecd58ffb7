import { requires, test } from '@nanny/testing';
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { DIALECTS } from './testing.ts';
import type { Storage } from './storage.ts';
import type { CoreDatabase } from './types.ts';

// Fixed instants far from the wall clock: a value that equals one of these came from the caller.
const T0 = '2031-05-06T07:08:09.000Z';
const T1 = '2032-01-01T00:00:00.000Z';
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

for (const dialect of DIALECTS) {
  describe(`storage slices on ${dialect.name}`, () => {
    let opened: Awaited<ReturnType<typeof dialect.open>>;
    let s: Storage;
    before(async () => {
      opened = await dialect.open();
      if (opened) s = opened.storage;
    });
    after(async () => opened?.cleanup());
    // the requirement switch: skipped without PostgreSQL, a failure under NANNY_REQUIRE=postgres
    const skip = (t: { skip: (m?: string) => void }) =>
      !requires(t, 'postgres', opened !== undefined, dialect.skipReason);

    test('creation times are the ones the caller passes, never the clock', async (t) => {
      if (skip(t)) return;
      const tenant = await s.createTenant('times', T0);
      assert.equal(tenant.created_at, T0);
      assert.equal((await s.tenantById(tenant.id))?.created_at, T0);
      // ensureTenant keeps the first creation time
      assert.equal((await s.ensureTenant('times', T1)).created_at, T0);
      assert.equal((await s.ensureTenant('times-2', T1)).created_at, T1);

      const user = await s.createUser({
        tenant_id: tenant.id,
        username: 'times-user',
        password_hash: 'x',
        role: 'user',
        created_at: T0,
      });
      assert.equal((await s.userById(user.id))?.created_at, T0);

      await s.createApiToken(
        { tenant_id: tenant.id, user_id: null, name: 'tk', scope: 'read', created_at: T0 },
        'times-pat',
      );
      assert.equal((await s.apiTokenByHash('times-pat'))?.created_at, T0);

      await s.createEnrollmentToken(
        { tenant_id: tenant.id, max_uses: 1, expires_at: T1, created_at: T0 },
        'times-enroll',
      );
      assert.deepEqual(
        (await s.listEnrollmentTokens(tenant.id)).map((e) => e.created_at),
        [T0],
      );

      const agent = await s.createAgent({
        tenant_id: tenant.id,
        hostname: 'times-host',
        cluster_name: null,
        cluster_fingerprint: null,
        agent_version: null,
        pve_version: null,
        created_at: T0,
      });
      assert.equal((await s.agentById(agent.id))?.created_at, T0);

      // Sessions and refresh tokens have no read-back of their creation time: look at the rows.
      await s.createSession('times-session', {
        user_id: user.id,
        tenant_id: tenant.id,
        expires_at: T1,
        created_at: T0,
      });
      await s.storeRefreshToken({
        tokenHash: 'times-refresh',
        agentId: agent.id,
        tenantId: tenant.id,
        tokenVersion: 1,
        createdAt: T0,
        expiresAt: T1,
      });
      const db = s.extend((h) => h.db as Kysely<CoreDatabase>);
      const session = await db
        .selectFrom('sessions')
        .select('created_at')
        .where('id_hash', '=', 'times-session')
        .executeTakeFirstOrThrow();
      assert.equal(session.created_at, T0);
      const refresh = await db
        .selectFrom('refresh_tokens')
        .select('created_at')
        .where('token_hash', '=', 'times-refresh')
        .executeTakeFirstOrThrow();
      assert.equal(refresh.created_at, T0);
    });

    test('a guest list total is reused for 5 s of the caller’s time, and recounted without a time', async (t) => {
      if (skip(t)) return;
      const tenant = await s.createTenant(`totals-${dialect.name}`, T0);
      const agent = await s.createAgent({
        tenant_id: tenant.id,
        hostname: 'totals-host',
        cluster_name: null,
        cluster_fingerprint: null,
        agent_version: null,
        pve_version: null,
        created_at: T0,
      });
      const job = (kind: 'node' | 'lxc', payload: Record<string, unknown>, receivedAt: string) => ({
        tenantId: tenant.id,
        agentId: agent.id,
        tokenVersion: agent.token_version,
        kind,
        payload: { cluster_name: 'totals', ...payload },
        receivedAt,
      });
      const guest = (vmid: number, at: string) => job('lxc', { vmid, node: 'tn', status: 'running' }, at);
      // Two guests, then a cycle without guest 2: it is marked gone (still counted with includeGone).
      for (const o of await s.ingest([job('node', { name: 'tn' }, T0)])) assert.equal(o.ok, true);
      for (const o of await s.ingest([guest(1, plus(T0, 1000)), guest(2, plus(T0, 1000))]))
        assert.equal(o.ok, true);
      for (const o of await s.ingest([job('node', { name: 'tn' }, plus(T0, 60_000))]))
        assert.equal(o.ok, true);
      for (const o of await s.ingest([guest(1, plus(T0, 61_000))])) assert.equal(o.ok, true);
      const gone = await s.ingest([job('node', { name: 'tn' }, plus(T0, 120_000))]);
      assert.deepEqual(
        gone.flatMap((o) => (o.ok ? o.events.map((e) => e.type) : [])),
        ['gone'],
      );

      const filter = { includeGone: true, limit: 10, offset: 0 };
      const asked = plus(T1, 0);
      assert.equal((await s.listGuests(tenant.id, { ...filter, now: asked })).total, 2);
      assert.equal((await s.listGuests(tenant.id, filter)).total, 2);
      // Retention removes the gone guest; no ingest in between clears the cached total.
      await s.prune(T1);
      const within = await s.listGuests(tenant.id, { ...filter, now: plus(asked, 4000) });
      assert.equal(within.total, 2, 'a total counted 4 s ago is reused');
      assert.equal(within.data.length, 1, 'the page itself is always fresh');
      assert.equal((await s.listGuests(tenant.id, filter)).total, 1, 'without a time: counted anew');
      assert.equal((await s.listGuests(tenant.id, { ...filter, now: plus(asked, 5000) })).total, 1);
    });
  });
}
