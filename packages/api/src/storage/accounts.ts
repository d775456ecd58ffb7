/** Accounts slice: tenants, users, sessions and personal API tokens. */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { AccountsStore, ApiToken, LoginFailures, Tenant, User } from './storage.ts';
import { affected, type Db } from './sql.ts';

const TOKEN_COLUMNS = [
  'id',
  'tenant_id',
  'user_id',
  'name',
  'scope',
  'created_at',
  'last_used_at',
  'revoked_at',
  'expires_at',
] as const;

export function createAccountsStore(db: Db): AccountsStore {
  // Old login-failure rows are deleted at most once a minute per process, not on every failure.
  let prunedAtMs = -Infinity;
  const tenantByName = (name: string): Promise<Tenant | undefined> =>
    db.selectFrom('tenants').selectAll().where('name', '=', name).executeTakeFirst();

  return {
    async ensureTenant(name, now) {
      await db
        .insertInto('tenants')
        .values({ id: randomUUID(), name, created_at: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      return (await tenantByName(name))!;
    },
    async createTenant(name, now) {
      const t = { id: randomUUID(), name, created_at: now };
      await db.insertInto('tenants').values(t).execute();
      return t;
    },
    tenantByName,
    tenantById(id) {
      return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    },
    listTenants() {
      return db.selectFrom('tenants').selectAll().orderBy('name').execute();
    },

    async countUsers() {
      const r = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async createUser(u) {
      const row = { ...u, id: randomUUID() };
      await db.insertInto('users').values(row).execute();
      return row;
    },
    async userByName(username) {
      return (await db
        .selectFrom('users')
        .selectAll()
        .where('username', '=', username)
        .executeTakeFirst()) as User | undefined;
    },
    async userById(id) {
      return (await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()) as
        User | undefined;
    },
    async setPassword(userId, passwordHash, now) {
      // one transaction: a password change that ended the sessions but left a stolen token would
      // leave the thief in
      await db.transaction().execute(async (tx) => {
        await tx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute();
        await tx.deleteFrom('sessions').where('user_id', '=', userId).execute();
        await tx
          .updateTable('api_tokens')
          .set({ revoked_at: now })
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null)
          .execute();
      });
    },
    async createSession(idHash, s) {
      await db
        .insertInto('sessions')
        .values({
          id_hash: idHash,
          user_id: s.user_id,
          tenant_id: s.tenant_id,
          expires_at: s.expires_at,
          created_at: s.created_at,
        })
        .execute();
    },
    sessionByHash(idHash, now) {
      return db
        .selectFrom('sessions')
        .select(['user_id', 'tenant_id', 'expires_at'])
        .where('id_hash', '=', idHash)
        .where('expires_at', '>', now)
        .executeTakeFirst();
    },
    async deleteSession(idHash) {
      await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
    },

    async createApiToken(t, tokenHash) {
      const row: ApiToken = {
        tenant_id: t.tenant_id,
        user_id: t.user_id,
        name: t.name,
        scope: t.scope,
        id: randomUUID(),
        created_at: t.created_at,
        last_used_at: null,
        revoked_at: null,
        expires_at: t.expires_at ?? null,
      };
      await db
        .insertInto('api_tokens')
        .values({ ...row, token_hash: tokenHash })
        .execute();
      return row;
    },
    async apiTokenByHash(tokenHash) {
      return (await db
        .selectFrom('api_tokens')
        .select(TOKEN_COLUMNS)
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst()) as ApiToken | undefined;
    },
    async listApiTokens(tenantId) {
      return (await db
        .selectFrom('api_tokens')
        .select(TOKEN_COLUMNS)
        .where('tenant_id', '=', tenantId)
        .orderBy('created_at')
        .execute()) as ApiToken[];
    },
    async touchApiToken(id, now, notBefore) {
      await db
        .updateTable('api_tokens')
        .set({ last_used_at: now })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', notBefore)]))
        .execute();
    },
    async revokeApiToken(tenantId, id, now, userId) {
      let q = db
        .updateTable('api_tokens')
        .set({ revoked_at: now })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('revoked_at', 'is', null);
      if (userId !== undefined) q = q.where('user_id', '=', userId);
      const r = await q.executeTakeFirst();
      return affected(r.numUpdatedRows) > 0;
    },
    async loginFailures(keys) {
      const out = new Map<string, LoginFailures>();
      if (keys.length === 0) return out;
      const rows = await db
        .selectFrom('login_failures')
        .select(['key', 'failures', 'last_failure_at'])
        .where('key', 'in', [...keys])
        .execute();
      for (const r of rows)
        out.set(r.key, { failures: Number(r.failures), last_failure_at: Number(r.last_failure_at) });
      return out;
    },
    async recordLoginFailure(keys, nowMs, windowMs) {
      if (keys.length === 0) return;
      const stale = nowMs - windowMs;
      // One statement per failure: two replicas counting the same key both count.
      await db
        .insertInto('login_failures')
        .values(keys.map((key) => ({ key, failures: 1, last_failure_at: nowMs })))
        .onConflict((oc) =>
          oc.column('key').doUpdateSet((eb) => ({
            failures: sql<number>`case when ${eb.ref('login_failures.last_failure_at')} > ${stale} then ${eb.ref('login_failures.failures')} + 1 else 1 end`,
            last_failure_at: eb.ref('excluded.last_failure_at'),
          })),
        )
        .execute();
      if (nowMs - prunedAtMs >= 60_000) {
        prunedAtMs = nowMs;
        await db.deleteFrom('login_failures').where('last_failure_at', '<=', stale).execute();
      }
    },
    async clearLoginFailures(key) {
      await db.deleteFrom('login_failures').where('key', '=', key).execute();
    },
  };
}
