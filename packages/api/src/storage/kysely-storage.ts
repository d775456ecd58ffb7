/** The one `Storage` implementation, on Kysely, for SQLite and PostgreSQL alike. */
import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql, type Kysely, type QueryResult, type Transaction } from 'kysely';
import type { CoreDatabase, GuestTable, NodeTable } from './types.ts';
import { openDatabase, type DatabaseOptions } from './open.ts';
import type {
  Agent,
  AgentAuthState,
  ApiToken,
  ClusterView,
  Dialect,
  EnrollmentToken,
  EventFilter,
  FleetEvent,
  GuestDetail,
  GuestFilter,
  GuestView,
  IngestJob,
  IngestOutcome,
  NodeView,
  RefreshOutcome,
  Storage,
  StorageHandle,
  Tenant,
  TokenScope,
  User,
} from './storage.ts';
import {
  clusterEvents,
  configHash,
  diffConfig,
  guestEvents,
  nodeEvents,
  normalizeTags,
  type ConfigMap,
  type EventDraft,
} from '../domain/derive.ts';

type Db = Kysely<CoreDatabase>;
type Trx = Transaction<CoreDatabase>;
type Json = Record<string, unknown>;

const COUNT_TTL_MS = 5000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const strOrEmpty = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const flag = (v: unknown): number | null => (v === 0 || v === 1 ? v : null);

function parseJson(text: string | null): Json {
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
  } catch {
    return {};
  }
}

function configOf(payload: Json): ConfigMap | null {
  const c = payload['config'];
  return c && typeof c === 'object' && !Array.isArray(c) ? (c as ConfigMap) : null;
}

interface AgentRow {
  id: string;
  tenant_id: string;
  hostname: string;
  token_version: number;
  revoked_at: string | null;
  cluster_id: string | null;
  cluster_name: string | null;
  cluster_fingerprint: string | null;
}

interface Site {
  id: string;
  name: string;
}

export async function createKyselyStorage(opts: DatabaseOptions): Promise<Storage> {
  const { db, dialect } = await openDatabase(opts);
  return new KyselyStorage(db, dialect);
}

class KyselyStorage implements Storage {
  /** tenant|key → site, and site|node name → node id: ids never change once committed */
  private readonly siteCache = new Map<string, Site>();
  private readonly nodeCache = new Map<string, string>();
  /**
   * Totals of guest lists for a few seconds: COUNT(*) over 100,000 guests costs more than the page
   * itself. Cleared by every ingest batch that changed a guest's existence, node or status in
   * this process; another replica's changes show within COUNT_TTL_MS.
   */
  private readonly countCache = new Map<string, { n: number; at: number }>();

  constructor(
    private readonly db: Db,
    readonly dialect: Dialect,
  ) {}

  extend<T>(factory: (handle: StorageHandle) => T): T {
    return factory({ db: this.db, dialect: this.dialect });
  }
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }
  async close(): Promise<void> {
    await this.db.destroy();
  }

  async secret(key: string, create: () => string): Promise<string> {
    await this.db
      .insertInto('nanny_meta')
      .values({ key, value: create() })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const row = await this.db
      .selectFrom('nanny_meta')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    return row.value;
  }

  // ---------------------------------------------------------------- tenants
  async ensureTenant(name: string): Promise<Tenant> {
    await this.db
      .insertInto('tenants')
      .values({ id: randomUUID(), name, created_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    return (await this.tenantByName(name))!;
  }
  async createTenant(name: string): Promise<Tenant> {
    const t = { id: randomUUID(), name, created_at: new Date().toISOString() };
    await this.db.insertInto('tenants').values(t).execute();
    return t;
  }
  tenantByName(name: string): Promise<Tenant | undefined> {
    return this.db.selectFrom('tenants').selectAll().where('name', '=', name).executeTakeFirst();
  }
  tenantById(id: string): Promise<Tenant | undefined> {
    return this.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
  }
  listTenants(): Promise<Tenant[]> {
    return this.db.selectFrom('tenants').selectAll().orderBy('name').execute();
  }

  // ---------------------------------------------------------------- users
  async countUsers(): Promise<number> {
    const r = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
  async createUser(u: Omit<User, 'id' | 'created_at'>): Promise<User> {
    const row = { ...u, id: randomUUID(), created_at: new Date().toISOString() };
    await this.db.insertInto('users').values(row).execute();
    return row;
  }
  async userByName(username: string): Promise<User | undefined> {
    return (await this.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst()) as User | undefined;
  }
  async userById(id: string): Promise<User | undefined> {
    return (await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()) as
      User | undefined;
  }
  async setPassword(userId: string, passwordHash: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ password_hash: passwordHash })
      .where('id', '=', userId)
      .execute();
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }
  async createSession(
    idHash: string,
    s: { user_id: string; tenant_id: string; expires_at: string },
  ): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({ id_hash: idHash, ...s, created_at: new Date().toISOString() })
      .execute();
  }
  sessionByHash(idHash: string, now: string) {
    return this.db
      .selectFrom('sessions')
      .select(['user_id', 'tenant_id', 'expires_at'])
      .where('id_hash', '=', idHash)
      .where('expires_at', '>', now)
      .executeTakeFirst();
  }
  async deleteSession(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  // ---------------------------------------------------------------- personal tokens
  async createApiToken(
    t: { tenant_id: string; user_id: string | null; name: string; scope: TokenScope },
    tokenHash: string,
  ): Promise<ApiToken> {
    const row = {
      ...t,
      id: randomUUID(),
      created_at: new Date().toISOString(),
      last_used_at: null,
      revoked_at: null,
    };
    await this.db
      .insertInto('api_tokens')
      .values({ ...row, token_hash: tokenHash })
      .execute();
    return row;
  }
  async apiTokenByHash(tokenHash: string): Promise<ApiToken | undefined> {
    return (await this.db
      .selectFrom('api_tokens')
      .select(['id', 'tenant_id', 'user_id', 'name', 'scope', 'created_at', 'last_used_at', 'revoked_at'])
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst()) as ApiToken | undefined;
  }
  async listApiTokens(tenantId: string): Promise<ApiToken[]> {
    return (await this.db
      .selectFrom('api_tokens')
      .select(['id', 'tenant_id', 'user_id', 'name', 'scope', 'created_at', 'last_used_at', 'revoked_at'])
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at')
      .execute()) as ApiToken[];
  }
  async revokeApiToken(tenantId: string, id: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('api_tokens')
      .set({ revoked_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  // ---------------------------------------------------------------- enrollment + agents
  async createEnrollmentToken(
    t: { tenant_id: string; max_uses: number; expires_at: string },
    tokenHash: string,
  ): Promise<EnrollmentToken> {
    const row = {
      ...t,
      id: randomUUID(),
      uses_left: t.max_uses,
      created_at: new Date().toISOString(),
      revoked_at: null,
    };
    await this.db
      .insertInto('enrollment_tokens')
      .values({ ...row, token_hash: tokenHash })
      .execute();
    return row;
  }
  listEnrollmentTokens(tenantId: string): Promise<EnrollmentToken[]> {
    return this.db
      .selectFrom('enrollment_tokens')
      .select(['id', 'tenant_id', 'max_uses', 'uses_left', 'expires_at', 'created_at', 'revoked_at'])
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at')
      .execute();
  }
  async consumeEnrollmentToken(tokenHash: string, now: string): Promise<{ tenant_id: string } | undefined> {
    // One UPDATE … WHERE uses_left > 0: two agents racing for the last use cannot both win.
    return this.db
      .updateTable('enrollment_tokens')
      .set((eb) => ({ uses_left: eb('uses_left', '-', 1) }))
      .where('token_hash', '=', tokenHash)
      .where('uses_left', '>', 0)
      .where('expires_at', '>', now)
      .where('revoked_at', 'is', null)
      .returning('tenant_id')
      .executeTakeFirst();
  }
  async createAgent(a: {
    tenant_id: string;
    hostname: string;
    cluster_name: string | null;
    cluster_fingerprint: string | null;
    agent_version: string | null;
    pve_version: string | null;
  }): Promise<Agent> {
    const row: Agent = {
      ...a,
      id: randomUUID(),
      token_version: 1,
      revoked_at: null,
      created_at: new Date().toISOString(),
      last_seen_at: null,
      cluster_id: null,
    };
    await this.db.insertInto('agents').values(row).execute();
    return row;
  }
  agentById(id: string): Promise<Agent | undefined> {
    return this.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
  }
  listAgents(tenantId?: string): Promise<Agent[]> {
    let q = this.db.selectFrom('agents').selectAll();
    if (tenantId) q = q.where('tenant_id', '=', tenantId);
    return q.orderBy('created_at').execute();
  }
  async revokeAgent(tenantId: string | undefined, id: string, now: string): Promise<boolean> {
    let q = this.db
      .updateTable('agents')
      .set((eb) => ({ revoked_at: now, token_version: eb('token_version', '+', 1) }))
      .where('id', '=', id);
    if (tenantId) q = q.where('tenant_id', '=', tenantId);
    const r = await q.executeTakeFirst();
    await this.db.deleteFrom('refresh_tokens').where('agent_id', '=', id).execute();
    return Number(r.numUpdatedRows) > 0;
  }
  async agentAuthStates(ids: readonly string[]): Promise<Map<string, AgentAuthState>> {
    const out = new Map<string, AgentAuthState>();
    if (ids.length === 0) return out;
    const rows = await this.db
      .selectFrom('agents')
      .select(['id', 'token_version', 'revoked_at'])
      .where('id', 'in', [...ids])
      .execute();
    for (const r of rows) out.set(r.id, { token_version: r.token_version, revoked: r.revoked_at !== null });
    return out;
  }
  async storeRefreshToken(t: {
    tokenHash: string;
    agentId: string;
    tenantId: string;
    tokenVersion: number;
    expiresAt: string;
  }): Promise<void> {
    await this.db
      .insertInto('refresh_tokens')
      .values({
        token_hash: t.tokenHash,
        agent_id: t.agentId,
        tenant_id: t.tenantId,
        token_version: t.tokenVersion,
        created_at: new Date().toISOString(),
        expires_at: t.expiresAt,
        used_at: null,
      })
      .execute();
  }
  async useRefreshToken(tokenHash: string, now: string): Promise<RefreshOutcome> {
    return this.db.transaction().execute(async (trx) => {
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
          return { kind: 'invalid' };
        return { kind: 'ok', agent };
      }
      const old = await trx
        .selectFrom('refresh_tokens')
        .select(['agent_id', 'used_at'])
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (!old || old.used_at === null) return { kind: 'invalid' };
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
      return { kind: 'reused', agentId: old.agent_id };
    });
  }

  // ---------------------------------------------------------------- ingest
  async ingest(jobs: readonly IngestJob[]): Promise<IngestOutcome[]> {
    const pendingSites: [string, Site][] = [];
    const pendingNodes: [string, string][] = [];
    let outcomes: IngestOutcome[];
    try {
      outcomes = await this.db.transaction().execute(async (trx) => {
        const ids = [...new Set(jobs.map((j) => j.agentId))];
        const agents = new Map<string, AgentRow>();
        for (const a of await trx
          .selectFrom('agents')
          .select([
            'id',
            'tenant_id',
            'hostname',
            'token_version',
            'revoked_at',
            'cluster_id',
            'cluster_name',
            'cluster_fingerprint',
          ])
          .where('id', 'in', ids)
          .execute())
          agents.set(a.id, a);
        const out: IngestOutcome[] = [];
        const events: FleetEvent[] = [];
        const seen = new Map<string, string>();
        for (const job of jobs) {
          const a = agents.get(job.agentId);
          if (
            !a ||
            a.revoked_at !== null ||
            a.token_version !== job.tokenVersion ||
            a.tenant_id !== job.tenantId
          ) {
            out.push({ ok: false, reason: 'revoked' });
            continue;
          }
          const ctx = new JobContext(trx, job, a, this, pendingSites, pendingNodes);
          const applied = await ctx.apply();
          events.push(...applied.events);
          seen.set(a.id, job.receivedAt);
          out.push(applied);
        }
        if (events.length > 0) {
          // One multi-row INSERT per batch (chunked: SQLite allows 32766 bound parameters).
          for (let i = 0; i < events.length; i += 500) {
            const chunk = events.slice(i, i + 500);
            const rows = await trx
              .insertInto('events')
              .values(
                chunk.map((e) => ({ ...e, id: undefined, data: e.data ? JSON.stringify(e.data) : null })),
              )
              .returning('id')
              .execute();
            rows.forEach((r, k) => {
              const e = chunk[k];
              if (e) e.id = Number(r.id);
            });
          }
        }
        for (const [id, at] of seen) {
          await trx.updateTable('agents').set({ last_seen_at: at }).where('id', '=', id).execute();
        }
        return out;
      });
    } catch (err) {
      if (jobs.length === 1) return [{ ok: false, reason: 'error', error: err }];
      // One bad job must not fail its neighbours: replay them one transaction each.
      const each: IngestOutcome[] = [];
      for (const j of jobs) each.push(...(await this.ingest([j])));
      return each;
    }
    if (outcomes.some((o) => o.ok && o.events.some((e) => e.subject === 'guest'))) this.countCache.clear();
    for (const [k, v] of pendingSites) this.siteCache.set(k, v);
    for (const [k, v] of pendingNodes) this.nodeCache.set(k, v);
    if (this.siteCache.size > 100_000) this.siteCache.clear();
    if (this.nodeCache.size > 100_000) this.nodeCache.clear();
    return outcomes;
  }

  private readonly pgText = new Map<string, string>();
  /** runs hand-written SQL (written with `?` placeholders) without Kysely's query building */
  raw<R>(trx: Trx, text: string, params: readonly unknown[]): Promise<QueryResult<R>> {
    let t = text;
    if (this.dialect === 'postgres') {
      const hit = this.pgText.get(text);
      if (hit) t = hit;
      else {
        let i = 0;
        t = text.replace(/\?/g, () => `$${++i}`);
        if (this.pgText.size > 1000) this.pgText.clear();
        this.pgText.set(text, t);
      }
    }
    return trx.executeQuery<R>(CompiledQuery.raw(t, [...params]));
  }

  cachedSite(key: string): Site | undefined {
    return this.siteCache.get(key);
  }
  cachedNode(key: string): string | undefined {
    return this.nodeCache.get(key);
  }

  // ---------------------------------------------------------------- reads
  private async clusterCounts(tenantId: string) {
    const nodes = await this.db
      .selectFrom('nodes')
      .select((eb) => [
        'cluster_id',
        eb.fn.countAll<number>().as('n'),
        eb.fn.sum<number>(eb.case().when('online', '=', 1).then(1).else(0).end()).as('online'),
        eb.fn.count<number>('last_report_at').as('reporting'),
      ])
      .where('tenant_id', '=', tenantId)
      .groupBy('cluster_id')
      .execute();
    const guests = await this.db
      .selectFrom('guests')
      .select((eb) => ['cluster_id', eb.fn.countAll<number>().as('n')])
      .where('tenant_id', '=', tenantId)
      .where('gone_at', 'is', null)
      .groupBy('cluster_id')
      .execute();
    const m = new Map<string, { reporting: number; online: number; guests: number }>();
    for (const n of nodes)
      m.set(n.cluster_id, { reporting: Number(n.reporting), online: Number(n.online), guests: 0 });
    for (const g of guests) {
      const e = m.get(g.cluster_id) ?? { reporting: 0, online: 0, guests: 0 };
      e.guests = Number(g.n);
      m.set(g.cluster_id, e);
    }
    return m;
  }

  async listClusters(tenantId: string): Promise<ClusterView[]> {
    const rows = await this.db
      .selectFrom('clusters')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('name')
      .orderBy('id')
      .execute();
    const counts = await this.clusterCounts(tenantId);
    return rows.map((r) => clusterView(r, counts.get(r.id)));
  }
  async getCluster(tenantId: string, id: string): Promise<ClusterView | undefined> {
    const r = await this.db
      .selectFrom('clusters')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!r) return undefined;
    const counts = await this.clusterCounts(tenantId);
    return clusterView(r, counts.get(r.id));
  }
  async listNodes(tenantId: string, filter: { clusterId?: string }): Promise<NodeView[]> {
    let q = this.db
      .selectFrom('nodes')
      .innerJoin('clusters', 'clusters.id', 'nodes.cluster_id')
      .selectAll('nodes')
      .select('clusters.name as cluster_name')
      .where('nodes.tenant_id', '=', tenantId);
    if (filter.clusterId) q = q.where('nodes.cluster_id', '=', filter.clusterId);
    const rows = await q.orderBy('clusters.name').orderBy('nodes.name').execute();
    return rows.map(nodeView);
  }
  async getNode(tenantId: string, id: string): Promise<NodeView | undefined> {
    const r = await this.db
      .selectFrom('nodes')
      .innerJoin('clusters', 'clusters.id', 'nodes.cluster_id')
      .selectAll('nodes')
      .select('clusters.name as cluster_name')
      .where('nodes.tenant_id', '=', tenantId)
      .where('nodes.id', '=', id)
      .executeTakeFirst();
    return r ? nodeView(r) : undefined;
  }
  async nodeSamples(tenantId: string, nodeId: string, from: string, to: string, limit: number) {
    const rows = await this.db
      .selectFrom('node_samples')
      .select([
        'ts',
        'received_at',
        'online',
        'cpu_usage_ratio',
        'mem_used_bytes',
        'mem_total_bytes',
        'rootfs_used_bytes',
        'rootfs_total_bytes',
        'load_avg_1m',
        'uptime_seconds',
      ])
      .where('tenant_id', '=', tenantId)
      .where('node_id', '=', nodeId)
      .where('ts', '>=', from)
      .where('ts', '<=', to)
      .orderBy('ts', 'desc')
      .limit(limit)
      .execute();
    return rows.reverse();
  }
  async listGuests(tenantId: string, f: GuestFilter): Promise<{ data: GuestView[]; total: number }> {
    let q = this.db.selectFrom('guests').where('guests.tenant_id', '=', tenantId);
    if (!f.includeGone) q = q.where('guests.gone_at', 'is', null);
    if (f.clusterId) q = q.where('guests.cluster_id', '=', f.clusterId);
    if (f.node) {
      const node = f.node;
      // an id (UUID) or a name: one indexed equality instead of an OR that no index serves
      q = UUID_RE.test(node) ? q.where('guests.node_id', '=', node) : q.where('guests.node_name', '=', node);
    }
    if (f.type) q = q.where('guests.type', '=', f.type);
    if (f.status) q = q.where('guests.status', '=', f.status);
    if (f.tag)
      q = q.where(sql<string>`',' || guests.tags || ','`, 'like', `%,${escapeLike(f.tag.toLowerCase())},%`);
    if (f.q) {
      const text = f.q;
      const asInt = /^\d{1,9}$/.test(text) ? Number(text) : null;
      q = q.where((eb) =>
        eb.or([
          eb(eb.fn('lower', ['guests.name']), 'like', `%${escapeLike(text.toLowerCase())}%`),
          ...(asInt !== null ? [eb('guests.vmid', '=', asInt)] : []),
        ]),
      );
    }
    const { limit: _l, offset: _o, ...rest } = f;
    const countKey = `${tenantId}|${JSON.stringify(rest)}`;
    const cached = this.countCache.get(countKey);
    let total: number;
    if (cached && Date.now() - cached.at < COUNT_TTL_MS) total = cached.n;
    else {
      const totalRow = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      total = Number(totalRow.n);
      if (this.countCache.size > 1000) this.countCache.clear();
      this.countCache.set(countKey, { n: total, at: Date.now() });
    }
    const rows = await q
      .innerJoin('clusters', 'clusters.id', 'guests.cluster_id')
      .select([
        'guests.id',
        'guests.vmid',
        'guests.type',
        'guests.name',
        'guests.node_name',
        'guests.node_id',
        'guests.cluster_id',
        'clusters.name as cluster_name',
        'guests.status',
        'guests.tags',
        'guests.uptime_seconds',
        'guests.cpu_cores',
        'guests.memory_mb',
        'guests.template',
        'guests.gone_at',
        'guests.first_seen_at',
        'guests.last_seen_at',
        'guests.collected_at',
      ])
      .orderBy('guests.vmid')
      .orderBy('guests.id')
      .limit(f.limit)
      .offset(f.offset)
      .execute();
    return { data: rows.map(guestView), total };
  }
  async getGuest(tenantId: string, id: string): Promise<GuestDetail | undefined> {
    const r = await this.db
      .selectFrom('guests')
      .innerJoin('clusters', 'clusters.id', 'guests.cluster_id')
      .leftJoin('guest_reports', 'guest_reports.guest_id', 'guests.id')
      .selectAll('guests')
      .select(['clusters.name as cluster_name', 'guest_reports.report'])
      .where('guests.tenant_id', '=', tenantId)
      .where('guests.id', '=', id)
      .executeTakeFirst();
    if (!r) return undefined;
    const versions = await this.db
      .selectFrom('guest_config_versions')
      .select(['ts', 'config_hash', 'diff'])
      .where('guest_id', '=', id)
      .orderBy('id', 'desc')
      .limit(100)
      .execute();
    const changes = await this.db
      .selectFrom('guest_status_changes')
      .select(['ts', 'from_status', 'to_status'])
      .where('guest_id', '=', id)
      .orderBy('id', 'desc')
      .limit(100)
      .execute();
    return {
      ...guestView(r),
      report: parseJson(r.report),
      config_versions: versions.map((v) => ({
        ts: v.ts,
        config_hash: v.config_hash,
        diff: v.diff ? parseJson(v.diff) : null,
      })),
      status_changes: changes,
    };
  }
  async listEvents(tenantId: string, f: EventFilter): Promise<{ data: FleetEvent[]; total: number }> {
    let q = this.db.selectFrom('events').where('tenant_id', '=', tenantId);
    if (f.clusterId) q = q.where('cluster_id', '=', f.clusterId);
    if (f.nodeId) q = q.where('node_id', '=', f.nodeId);
    if (f.guestId) q = q.where('guest_id', '=', f.guestId);
    if (f.type) q = q.where('type', '=', f.type);
    if (f.since) q = q.where('occurred_at', '>=', f.since);
    if (f.until) q = q.where('occurred_at', '<=', f.until);
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await q
      .selectAll()
      .orderBy('occurred_at', 'desc')
      .orderBy('id', 'desc')
      .limit(f.limit)
      .offset(f.offset)
      .execute();
    return {
      total: Number(total.n),
      data: rows.map((e) => ({
        ...e,
        id: Number(e.id),
        subject: e.subject as FleetEvent['subject'],
        data: e.data ? parseJson(e.data) : null,
      })),
    };
  }
  async fleet(tenantId: string) {
    const clusters = await this.listClusters(tenantId);
    const nodes = await this.listNodes(tenantId, {});
    const guests = await this.db
      .selectFrom('guests')
      .select(['cluster_id', 'node_name as node', 'vmid', 'type', 'name', 'status'])
      .where('tenant_id', '=', tenantId)
      .where('gone_at', 'is', null)
      .execute();
    return { clusters, nodes, guests };
  }

  async prune(before: string) {
    const n = (r: { numDeletedRows: bigint }) => Number(r.numDeletedRows);
    const nodeSamples = n(
      await this.db.deleteFrom('node_samples').where('ts', '<', before).executeTakeFirst(),
    );
    const statusChanges = n(
      await this.db.deleteFrom('guest_status_changes').where('ts', '<', before).executeTakeFirst(),
    );
    const events = n(await this.db.deleteFrom('events').where('occurred_at', '<', before).executeTakeFirst());
    const configVersions = n(
      await this.db
        .deleteFrom('guest_config_versions')
        .where('ts', '<', before)
        .where('id', 'not in', (eb) =>
          eb
            .selectFrom('guest_config_versions as v')
            .select((e) => e.fn.max('v.id').as('m'))
            .groupBy('v.guest_id'),
        )
        .executeTakeFirst(),
    );
    await this.db
      .deleteFrom('guest_reports')
      .where('guest_id', 'in', (eb) => eb.selectFrom('guests').select('id').where('gone_at', '<', before))
      .execute();
    const goneGuests = n(await this.db.deleteFrom('guests').where('gone_at', '<', before).executeTakeFirst());
    return { nodeSamples, statusChanges, configVersions, events, goneGuests };
  }
}

function escapeLike(s: string): string {
  // Neither dialect gets an ESCAPE clause here, so drop the wildcards instead of escaping them.
  return s.replace(/[%_]/g, '');
}

function clusterView(
  r: CoreDatabase['clusters'],
  c: { reporting: number; online: number; guests: number } | undefined,
): ClusterView {
  return {
    id: r.id,
    cluster_name: r.name,
    fingerprint: r.fingerprint,
    standalone: r.standalone === 1,
    quorate: r.quorate,
    nodes: r.nodes,
    nodes_reporting: c?.reporting ?? 0,
    nodes_online: c?.online ?? 0,
    guests: c?.guests ?? 0,
    version: r.version,
    first_seen: r.first_seen_at,
    last_seen: r.last_seen_at,
    collected_at: r.collected_at,
  };
}

function nodeView(r: NodeTable & { cluster_name: string }): NodeView {
  return {
    id: r.id,
    name: r.name,
    cluster_id: r.cluster_id,
    cluster_name: r.cluster_name,
    node_id: r.node_id,
    ip: r.ip,
    online: r.online,
    level: r.level,
    pve_version: r.pve_version,
    kernel_version: r.kernel_version,
    uptime_seconds: r.uptime_seconds,
    cpu_usage_ratio: r.cpu_usage_ratio,
    mem_total_bytes: r.mem_total_bytes,
    mem_used_bytes: r.mem_used_bytes,
    rootfs_total_bytes: r.rootfs_total_bytes,
    rootfs_used_bytes: r.rootfs_used_bytes,
    load_avg_1m: r.load_avg_1m,
    first_seen: r.first_seen_at,
    last_seen: r.last_seen_at,
    last_report: r.last_report_at,
    collected_at: r.collected_at,
  };
}

function guestView(
  r: Pick<
    GuestTable,
    | 'id'
    | 'vmid'
    | 'type'
    | 'name'
    | 'node_name'
    | 'node_id'
    | 'cluster_id'
    | 'status'
    | 'tags'
    | 'uptime_seconds'
    | 'cpu_cores'
    | 'memory_mb'
    | 'template'
    | 'gone_at'
    | 'first_seen_at'
    | 'last_seen_at'
    | 'collected_at'
  > & { cluster_name: string },
): GuestView {
  return {
    id: r.id,
    vmid: r.vmid,
    type: r.type === 'qemu' ? 'qemu' : 'lxc',
    name: r.name,
    node: r.node_name,
    node_id: r.node_id,
    cluster_id: r.cluster_id,
    cluster_name: r.cluster_name,
    status: r.status,
    tags: r.tags ? r.tags.split(',') : [],
    uptime_seconds: r.uptime_seconds,
    cpu_cores: r.cpu_cores,
    memory_mb: r.memory_mb,
    template: r.template === 1,
    gone: r.gone_at !== null,
    gone_at: r.gone_at,
    first_seen: r.first_seen_at,
    last_seen: r.last_seen_at,
    collected_at: r.collected_at,
  };
}

/** Applies one report inside the batch transaction. */
class JobContext {
  private readonly p: Json;
  private readonly at: string;
  private readonly occurred: string;
  private readonly events: FleetEvent[] = [];

  constructor(
    private readonly trx: Trx,
    private readonly job: IngestJob,
    private readonly agent: AgentRow,
    private readonly store: KyselyStorage,
    private readonly pendingSites: [string, Site][],
    private readonly pendingNodes: [string, string][],
  ) {
    this.p = job.payload;
    this.at = job.receivedAt;
    this.occurred = str(this.p['collected_at']) ?? job.receivedAt;
  }

  private event(
    subject: FleetEvent['subject'],
    ids: { cluster_id: string; node_id?: string | null; guest_id?: string | null },
    drafts: EventDraft[],
  ) {
    for (const d of drafts)
      this.events.push({
        tenant_id: this.job.tenantId,
        cluster_id: ids.cluster_id,
        node_id: ids.node_id ?? null,
        guest_id: ids.guest_id ?? null,
        subject,
        type: d.type,
        message: d.message,
        data: d.data ?? null,
        occurred_at: this.occurred,
        received_at: this.at,
      });
  }

  async apply(): Promise<IngestOutcome & { ok: true; events: FleetEvent[] }> {
    switch (this.job.kind) {
      case 'cluster':
        return this.cluster();
      case 'node':
        return this.node();
      case 'lxc':
      case 'qemu':
        return this.guest(this.job.kind);
    }
  }

  /**
   * Which cluster ("site") a report belongs to, DESIGN.md §3: the fingerprint, else the cluster
   * name, else the cluster this agent last reported, else what it said at registration, else the
   * agent itself is a standalone node. Never the literal `cluster_id` ("cluster" on every PVE).
   */
  private siteKey(nodeName: string): { key: string; name: string; clustered: boolean } | { boundId: string } {
    const fp = str(this.p['cluster_fingerprint']);
    const cname = str(this.p['cluster_name']);
    const clusterKind = this.job.kind === 'cluster';
    if (fp) return { key: `fp:${fp}`, name: cname ?? nodeName, clustered: clusterKind || cname !== null };
    if (cname) return { key: `name:${cname}`, name: cname, clustered: true };
    if (this.agent.cluster_id) return { boundId: this.agent.cluster_id };
    if (this.agent.cluster_fingerprint)
      return {
        key: `fp:${this.agent.cluster_fingerprint}`,
        name: this.agent.cluster_name ?? nodeName,
        clustered: this.agent.cluster_name !== null,
      };
    if (this.agent.cluster_name)
      return { key: `name:${this.agent.cluster_name}`, name: this.agent.cluster_name, clustered: true };
    return { key: `agent:${this.agent.id}`, name: nodeName, clustered: false };
  }

  private async site(nodeName: string, touch: boolean): Promise<Site> {
    const k = this.siteKey(nodeName);
    if ('boundId' in k) return { id: k.boundId, name: '' };
    const cacheKey = `${this.job.tenantId}|${k.key}`;
    if (!touch) {
      const hit = this.store.cachedSite(cacheKey);
      if (hit) return hit;
    }
    const fp = k.key.startsWith('fp:') ? k.key.slice(3) : null;
    const row = await this.trx
      .insertInto('clusters')
      .values({
        id: randomUUID(),
        tenant_id: this.job.tenantId,
        key: k.key,
        name: k.name,
        fingerprint: fp,
        standalone: k.clustered ? 0 : 1,
        quorate: null,
        nodes: null,
        version: null,
        cluster_id_reported: null,
        first_seen_at: this.at,
        last_seen_at: this.at,
        collected_at: null,
      })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'key']).doUpdateSet((eb) =>
          // A site first seen from a node report is "standalone" until a cluster name shows up.
          k.clustered
            ? { last_seen_at: eb.ref('excluded.last_seen_at'), name: eb.ref('excluded.name'), standalone: 0 }
            : { last_seen_at: eb.ref('excluded.last_seen_at') },
        ),
      )
      .returning(['id', 'name', 'first_seen_at'])
      .executeTakeFirstOrThrow();
    const s = { id: row.id, name: row.name };
    if (row.first_seen_at === this.at && this.job.kind !== 'cluster')
      this.event('cluster', { cluster_id: s.id }, [
        {
          type: 'first_seen',
          message: `${k.clustered ? 'cluster' : 'standalone node'} ${s.name} first seen`,
        },
      ]);
    this.pendingSites.push([cacheKey, s]);
    return s;
  }

  private async bindAgent(siteId: string) {
    if (this.agent.cluster_id === siteId) return;
    await this.trx
      .updateTable('agents')
      .set({ cluster_id: siteId })
      .where('id', '=', this.agent.id)
      .execute();
    this.agent.cluster_id = siteId;
  }

  private async cluster() {
    const p = this.p;
    const name = String(p['cluster_name']);
    const k = this.siteKey(name);
    if ('boundId' in k) throw new Error('unreachable: a cluster report always names its cluster');
    const before = await this.trx
      .selectFrom('clusters')
      .select(['id', 'quorate', 'nodes'])
      .where('tenant_id', '=', this.job.tenantId)
      .where('key', '=', k.key)
      .executeTakeFirst();
    const fields = {
      name,
      standalone: 0,
      quorate: flag(p['quorate']),
      nodes: num(p['nodes']),
      version: num(p['version']),
      cluster_id_reported: strOrEmpty(p['cluster_id']),
      last_seen_at: this.at,
      collected_at: str(p['collected_at']),
    };
    const row = await this.trx
      .insertInto('clusters')
      .values({
        id: randomUUID(),
        tenant_id: this.job.tenantId,
        key: k.key,
        fingerprint: k.key.startsWith('fp:') ? k.key.slice(3) : null,
        first_seen_at: this.at,
        ...fields,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'key']).doUpdateSet(fields))
      .returning('id')
      .executeTakeFirstOrThrow();
    const clusterId = row.id;
    // The same quorum state reported by three agents is one fact: events only on a change.
    this.event(
      'cluster',
      { cluster_id: clusterId },
      clusterEvents(name, before, { quorate: fields.quorate, nodes: fields.nodes }, !before),
    );
    await this.bindAgent(clusterId);

    const members = Array.isArray(p['members']) ? (p['members'] as Json[]) : [];
    if (members.length > 0) {
      const existing = new Map(
        (
          await this.trx
            .selectFrom('nodes')
            .select(['id', 'name', 'online', 'pve_version', 'uptime_seconds'])
            .where('cluster_id', '=', clusterId)
            .execute()
        ).map((n) => [n.name, n]),
      );
      for (const m of members) {
        const mname = str(m['name']);
        if (!mname) continue;
        const before = existing.get(mname);
        const online = flag(m['online']);
        const vals = { node_id: num(m['node_id']), ip: str(m['ip']), online, level: strOrEmpty(m['level']) };
        const r = await this.trx
          .insertInto('nodes')
          .values({
            ...emptyNode(),
            id: randomUUID(),
            tenant_id: this.job.tenantId,
            cluster_id: clusterId,
            name: mname,
            ...vals,
            first_seen_at: this.at,
            last_seen_at: this.at,
          })
          .onConflict((oc) => oc.columns(['cluster_id', 'name']).doUpdateSet(vals))
          .returning('id')
          .executeTakeFirstOrThrow();
        this.pendingNodes.push([`${clusterId}|${mname}`, r.id]);
        const drafts = nodeEvents(
          mname,
          before ? { online: before.online, pve_version: null, uptime_seconds: null } : undefined,
          { online, pve_version: null, uptime_seconds: null },
          true,
        );
        this.event('node', { cluster_id: clusterId, node_id: r.id }, drafts);
      }
    }
    return { ok: true as const, clusterId, events: this.events };
  }

  private async node() {
    const p = this.p;
    const name = String(p['name']);
    const site = await this.site(name, true);
    const before = await this.trx
      .selectFrom('nodes')
      .select(['id', 'online', 'pve_version', 'uptime_seconds', 'cycle_started_at', 'last_report_at'])
      .where('cluster_id', '=', site.id)
      .where('name', '=', name)
      .executeTakeFirst();
    // The spec's node body has no `online`: a node whose own agent reports is online.
    const online = flag(p['online']) ?? 1;
    const fields = {
      node_id: num(p['node_id']),
      ip: str(p['ip']),
      online,
      local: flag(p['local']),
      level: strOrEmpty(p['level']),
      pve_version: str(p['pve_version']),
      uptime_seconds: num(p['uptime_seconds']),
      cpu_usage_ratio: num(p['cpu_usage_ratio']),
      mem_total_bytes: num(p['mem_total_bytes']),
      mem_used_bytes: num(p['mem_used_bytes']),
      rootfs_total_bytes: num(p['rootfs_total_bytes']),
      rootfs_used_bytes: num(p['rootfs_used_bytes']),
      load_avg_1m: num(p['load_avg_1m']),
      kernel_version: str(p['kernel_version']),
      report: JSON.stringify(p),
      last_seen_at: this.at,
      last_report_at: this.at,
      collected_at: str(p['collected_at']),
      cycle_started_at: this.at,
    };
    let nodeId: string;
    if (before) {
      nodeId = before.id;
      await this.trx.updateTable('nodes').set(fields).where('id', '=', nodeId).execute();
    } else {
      const r = await this.trx
        .insertInto('nodes')
        .values({
          id: randomUUID(),
          tenant_id: this.job.tenantId,
          cluster_id: site.id,
          name,
          first_seen_at: this.at,
          ...fields,
        })
        .onConflict((oc) => oc.columns(['cluster_id', 'name']).doUpdateSet(fields))
        .returning('id')
        .executeTakeFirstOrThrow();
      nodeId = r.id;
    }
    this.pendingNodes.push([`${site.id}|${name}`, nodeId]);
    this.event(
      'node',
      { cluster_id: site.id, node_id: nodeId },
      nodeEvents(
        name,
        before && before.last_report_at !== null
          ? before
          : before
            ? { online: before.online, pve_version: null, uptime_seconds: null }
            : undefined,
        fields,
      ),
    );
    await this.trx
      .insertInto('node_samples')
      .values({
        tenant_id: this.job.tenantId,
        node_id: nodeId,
        ts: this.occurred,
        received_at: this.at,
        online,
        cpu_usage_ratio: fields.cpu_usage_ratio,
        mem_used_bytes: fields.mem_used_bytes,
        mem_total_bytes: fields.mem_total_bytes,
        rootfs_used_bytes: fields.rootfs_used_bytes,
        rootfs_total_bytes: fields.rootfs_total_bytes,
        load_avg_1m: fields.load_avg_1m,
        uptime_seconds: fields.uptime_seconds,
      })
      // A replayed report (spool after an outage, lost answer) is one sample, not two.
      .onConflict((oc) => oc.columns(['node_id', 'ts']).doNothing())
      .execute();
    await this.bindAgent(site.id);

    // "Gone": a node report opens a new cycle and so closes the previous one (node → cluster →
    // guests is the agent's order). A guest of this node not reported since the previous cycle
    // began was absent from a complete cycle.
    const prevCycle = before?.cycle_started_at;
    if (prevCycle) {
      const gone = await this.trx
        .updateTable('guests')
        .set({ gone_at: this.at })
        .where('node_id', '=', nodeId)
        .where('gone_at', 'is', null)
        .where('last_seen_at', '<', prevCycle)
        .returning(['id', 'vmid', 'type', 'name'])
        .execute();
      for (const g of gone)
        this.event('guest', { cluster_id: site.id, node_id: nodeId, guest_id: g.id }, [
          {
            type: 'gone',
            message: `${g.type} ${g.vmid}${g.name ? ` (${g.name})` : ''} is gone from ${name}`,
            data: { vmid: g.vmid },
          },
        ]);
    }
    return { ok: true as const, clusterId: site.id, nodeId, events: this.events };
  }

  private async nodeIdFor(siteId: string, nodeName: string): Promise<string> {
    const key = `${siteId}|${nodeName}`;
    const hit = this.store.cachedNode(key);
    if (hit) return hit;
    const r = await this.trx
      .insertInto('nodes')
      .values({
        ...emptyNode(),
        id: randomUUID(),
        tenant_id: this.job.tenantId,
        cluster_id: siteId,
        name: nodeName,
        first_seen_at: this.at,
        last_seen_at: this.at,
      })
      // no-op update so that RETURNING yields the existing row's id on both dialects
      .onConflict((oc) =>
        oc.columns(['cluster_id', 'name']).doUpdateSet((eb) => ({ name: eb.ref('excluded.name') })),
      )
      .returning('id')
      .executeTakeFirstOrThrow();
    this.pendingNodes.push([key, r.id]);
    return r.id;
  }

  private async guest(type: 'lxc' | 'qemu') {
    const p = this.p;
    const nodeName = String(p['node']);
    const site = await this.site(nodeName, false);
    const nodeId = await this.nodeIdFor(site.id, nodeName);
    const vmid = Number(p['vmid']);
    // The steady-state path (a known guest reports again) runs precompiled SQL: building and
    // compiling three Kysely queries per report cost more CPU than executing them.
    const before = (
      await this.store.raw<GuestTable>(
        this.trx,
        'select * from "guests" where "cluster_id" = ? and "vmid" = ?',
        [site.id, vmid],
      )
    ).rows[0];
    const config = configOf(p);
    const hash = config ? configHash(config) : (before?.config_hash ?? null);
    const status = String(p['status']);
    const name = str(p['name']) ?? str(p['hostname']);
    const fields = {
      type,
      name,
      node_name: nodeName,
      node_id: nodeId,
      status,
      tags: normalizeTags(p['tags'] ?? config?.['tags']).join(',') || null,
      uptime_seconds: num(p['uptime']),
      cpu_cores: num(p['cpu_cores']),
      memory_mb: num(p['memory_mb']),
      template: p['template'] === true ? 1 : 0,
      config_hash: hash,
      last_seen_at: this.at,
      collected_at: str(p['collected_at']),
      gone_at: null,
    };
    let guestId: string;
    if (before) {
      guestId = before.id;
      // SET only what changed: an indexed column in SET costs index maintenance even when its
      // value is the same, and most reports change little besides uptime and last_seen.
      const changed: Record<string, unknown> = { last_seen_at: fields.last_seen_at };
      const prev = before as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(fields)) if (prev[k] !== v) changed[k] = v;
      const cols = Object.keys(changed);
      await this.store.raw(
        this.trx,
        `update "guests" set ${cols.map((c) => `"${c}" = ?`).join(', ')} where "id" = ?`,
        [...cols.map((c) => changed[c]), guestId],
      );
    } else {
      const r = await this.trx
        .insertInto('guests')
        .values({
          id: randomUUID(),
          tenant_id: this.job.tenantId,
          cluster_id: site.id,
          vmid,
          first_seen_at: this.at,
          ...fields,
        })
        .onConflict((oc) => oc.columns(['cluster_id', 'vmid']).doUpdateSet(fields))
        .returning('id')
        .executeTakeFirstOrThrow();
      guestId = r.id;
    }
    const report = { guest_id: guestId, tenant_id: this.job.tenantId, report: JSON.stringify(p) };
    if (before)
      await this.store.raw(this.trx, 'update "guest_reports" set "report" = ? where "guest_id" = ?', [
        report.report,
        guestId,
      ]);
    else
      await this.trx
        .insertInto('guest_reports')
        .values(report)
        .onConflict((oc) => oc.column('guest_id').doUpdateSet({ report: report.report }))
        .execute();
    if (!before || before.status !== status)
      await this.trx
        .insertInto('guest_status_changes')
        .values({
          tenant_id: this.job.tenantId,
          guest_id: guestId,
          ts: this.occurred,
          from_status: before?.status ?? null,
          to_status: status,
        })
        .execute();
    if (config && hash !== before?.config_hash) {
      // the previous config is the latest stored version
      const last = before
        ? await this.trx
            .selectFrom('guest_config_versions')
            .select('config')
            .where('guest_id', '=', guestId)
            .orderBy('id', 'desc')
            .limit(1)
            .executeTakeFirst()
        : undefined;
      const prev = last ? (parseJson(last.config) as ConfigMap) : null;
      await this.trx
        .insertInto('guest_config_versions')
        .values({
          tenant_id: this.job.tenantId,
          guest_id: guestId,
          ts: this.occurred,
          config_hash: hash ?? '',
          config: JSON.stringify(config),
          diff: prev ? JSON.stringify(diffConfig(prev, config)) : null,
        })
        .execute();
    }
    const label = `${type} ${vmid}${name ? ` (${name})` : ''}`;
    this.event(
      'guest',
      { cluster_id: site.id, node_id: nodeId, guest_id: guestId },
      guestEvents(label, before, {
        status,
        node_name: nodeName,
        uptime_seconds: fields.uptime_seconds,
        config_hash: hash,
        gone_at: null,
      }),
    );
    return { ok: true as const, clusterId: site.id, nodeId, guestId, events: this.events };
  }
}

function emptyNode(): Omit<
  NodeTable,
  'id' | 'tenant_id' | 'cluster_id' | 'name' | 'first_seen_at' | 'last_seen_at'
> {
  return {
    node_id: null,
    ip: null,
    online: null,
    local: null,
    level: null,
    pve_version: null,
    uptime_seconds: null,
    cpu_usage_ratio: null,
    mem_total_bytes: null,
    mem_used_bytes: null,
    rootfs_total_bytes: null,
    rootfs_used_bytes: null,
    load_avg_1m: null,
    kernel_version: null,
    report: null,
    last_report_at: null,
    collected_at: null,
    cycle_started_at: null,
  };
}
