/** Agents slice: enrollment tokens, agents, and the refresh tokens that keep them signed in. */
import { randomUUID } from 'node:crypto';
import type { Agent, AgentAuthState, AgentsStore, EnrollmentToken } from './storage.ts';
import { affected, type Db } from './sql.ts';

export function createAgentsStore(db: Db): AgentsStore {
  return {
    async createEnrollmentToken(t, tokenHash) {
      const row: EnrollmentToken = {
        tenant_id: t.tenant_id,
        max_uses: t.max_uses,
        expires_at: t.expires_at,
        id: randomUUID(),
        uses_left: t.max_uses,
        created_at: t.created_at,
        revoked_at: null,
      };
      await db
        .insertInto('enrollment_tokens')
        .values({ ...row, token_hash: tokenHash })
        .execute();
      return row;
    },
    listEnrollmentTokens(tenantId) {
      return db
        .selectFrom('enrollment_tokens')
        .select(['id', 'tenant_id', 'max_uses', 'uses_left', 'expires_at', 'created_at', 'revoked_at'])
        .where('tenant_id', '=', tenantId)
        .orderBy('created_at')
        .execute();
    },
    async revokeEnrollmentToken(tenantId, id, now) {
      let q = db
        .updateTable('enrollment_tokens')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('revoked_at', 'is', null);
      if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
      return affected((await q.executeTakeFirst()).numUpdatedRows) > 0;
    },
    consumeEnrollmentToken(tokenHash, now) {
      // One UPDATE … WHERE uses_left > 0: two agents racing for the last use cannot both win.
      return db
        .updateTable('enrollment_tokens')
        .set((eb) => ({ uses_left: eb('uses_left', '-', 1) }))
        .where('token_hash', '=', tokenHash)
        .where('uses_left', '>', 0)
        .where('expires_at', '>', now)
        .where('revoked_at', 'is', null)
        .returning('tenant_id')
        .executeTakeFirst();
    },
    async createAgent(a) {
      const row: Agent = {
        tenant_id: a.tenant_id,
        hostname: a.hostname,
        cluster_name: a.cluster_name,
        cluster_fingerprint: a.cluster_fingerprint,
        agent_version: a.agent_version,
        pve_version: a.pve_version,
        id: randomUUID(),
        token_version: 1,
        revoked_at: null,
        created_at: a.created_at,
        last_seen_at: null,
        cluster_id: null,
        bound_node: null,
      };
      await db.insertInto('agents').values(row).execute();
      return row;
    },
    agentById(id) {
      return db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
    },
    listAgents(tenantId) {
      let q = db.selectFrom('agents').selectAll();
      if (tenantId) q = q.where('tenant_id', '=', tenantId);
      return q.orderBy('created_at').execute();
    },
    revokeAgent(tenantId, id, now) {
      // One transaction, and the refresh tokens go only when this tenant's agent was revoked:
      // another tenant's agent id must not sign that agent out (issue 13, M9).
      return db.transaction().execute(async (trx) => {
        let q = trx
          .updateTable('agents')
          .set((eb) => ({ revoked_at: now, token_version: eb('token_version', '+', 1) }))
          .where('id', '=', id);
        if (tenantId) q = q.where('tenant_id', '=', tenantId);
        const r = await q.executeTakeFirst();
        if (affected(r.numUpdatedRows) === 0) return false;
        let d = trx.deleteFrom('refresh_tokens').where('agent_id', '=', id);
        if (tenantId) d = d.where('tenant_id', '=', tenantId);
        await d.execute();
        return true;
      });
    },
    async unbindAgent(tenantId, id) {
      let q = db.updateTable('agents').set({ cluster_id: null, bound_node: null }).where('id', '=', id);
      if (tenantId) q = q.where('tenant_id', '=', tenantId);
      return affected((await q.executeTakeFirst()).numUpdatedRows) > 0;
    },
    async agentAuthStates(ids) {
      const out = new Map<string, AgentAuthState>();
      if (ids.length === 0) return out;
      const rows = await db
        .selectFrom('agents')
        .select(['id', 'token_version', 'revoked_at'])
        .where('id', 'in', [...ids])
        .execute();
      for (const r of rows) out.set(r.id, { token_version: r.token_version, revoked: r.revoked_at !== null });
      return out;
    },
    async storeRefreshToken(t) {
      await db
        .insertInto('refresh_tokens')
        .values({
          token_hash: t.tokenHash,
          agent_id: t.agentId,
          tenant_id: t.tenantId,
          token_version: t.tokenVersion,
          created_at: t.createdAt,
          expires_at: t.expiresAt,
          used_at: null,
        })
        .execute();
    },
    useRefreshToken(tokenHash, now) {
      return db.transaction().execute(async (trx) => {
        const marked = await trx
          .updateTable('refresh_tokens')
          .set({ used_at: now })
          .where('token_hash', '=', tokenHash)
          .where('used_at', 'is', null)
          .where('expires_at', '>', now)
          .returning(['agent_id', 'token_version'])
          .executeTakeFirst();
        if (marked) {
          const agent = await trx
            .selectFrom('agents')
            .selectAll()
            .where('id', '=', marked.agent_id)
            .executeTakeFirst();
          if (!agent || agent.revoked_at !== null || agent.token_version !== marked.token_version)
            return { kind: 'invalid' as const };
          return { kind: 'ok' as const, agent };
        }
        const old = await trx
          .selectFrom('refresh_tokens')
          .select(['agent_id', 'used_at'])
          .where('token_hash', '=', tokenHash)
          .executeTakeFirst();
        if (!old || old.used_at === null) return { kind: 'invalid' as const };
        // A refresh token presented twice was stolen or replayed: end the whole family, the agent
        // must enroll again (DESIGN.md §6).
        await trx
          .updateTable('agents')
          .set((eb) => ({ token_version: eb('token_version', '+', 1) }))
          .where('id', '=', old.agent_id)
          .execute();
        await trx
          .deleteFrom('refresh_tokens')
          .where('agent_id', '=', old.agent_id)
          .where('used_at', 'is', null)
          .execute();
        return { kind: 'reused' as const, agentId: old.agent_id };
      });
    },
  };
}
