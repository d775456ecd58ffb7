/**
 * Ingest, site and identity part: the cluster ("site") and node a report belongs to, created on
 * first sight. Which site that is, is a domain rule (domain/site.ts, DESIGN.md §3).
 */
import { randomUUID } from 'node:crypto';
import { siteKey } from '../domain/site.ts';
import type { ExpressionBuilder, OnConflictDatabase, OnConflictTables } from 'kysely';
import { emptyNode, type JobContext, type Site } from './ingest-context.ts';
import type { CoreDatabase } from './types.ts';

/**
 * A cluster's `last_seen_at` when a report of it is upserted: the later of the stored and the
 * report's receive time. Every node, guest and cluster report of the cluster moves it, and a
 * report a stalled replica commits late must not move it back (ISO text order is time order).
 */
export function laterSeen(
  eb: ExpressionBuilder<OnConflictDatabase<CoreDatabase, 'clusters'>, OnConflictTables<'clusters'>>,
) {
  return eb
    .case()
    .when('clusters.last_seen_at', '>', eb.ref('excluded.last_seen_at'))
    .then(eb.ref('clusters.last_seen_at'))
    .else(eb.ref('excluded.last_seen_at'))
    .end();
}

/** The site a report files under when it is stored already (read only), else undefined: it is new. */
export async function findSite(c: JobContext, nodeName: string): Promise<Site | undefined> {
  const k = siteKey(c.job.kind, c.p, c.agent, nodeName);
  if ('boundId' in k) return { id: k.boundId, name: '' };
  const hit = c.caches.sites.get(`${c.job.tenantId}|${k.key}`);
  if (hit) return hit;
  return c.trx
    .selectFrom('clusters')
    .select(['id', 'name'])
    .where('tenant_id', '=', c.job.tenantId)
    .where('key', '=', k.key)
    .executeTakeFirst();
}

/** The id of the organisation's cluster stored under `key` (read only, not cached), else undefined. */
export async function clusterIdByKey(c: JobContext, key: string): Promise<string | undefined> {
  const row = await c.trx
    .selectFrom('clusters')
    .select('id')
    .where('tenant_id', '=', c.job.tenantId)
    .where('key', '=', key)
    .executeTakeFirst();
  return row?.id;
}

/** The id of a node stored already (read only), else undefined: it is new. */
export async function findNode(c: JobContext, siteId: string, nodeName: string): Promise<string | undefined> {
  const hit = c.caches.nodes.get(`${siteId}|${nodeName}`);
  if (hit) return hit;
  const row = await c.trx
    .selectFrom('nodes')
    .select('id')
    .where('cluster_id', '=', siteId)
    .where('name', '=', nodeName)
    .executeTakeFirst();
  return row?.id;
}

export async function siteOf(c: JobContext, nodeName: string, touch: boolean): Promise<Site> {
  const k = siteKey(c.job.kind, c.p, c.agent, nodeName);
  if ('boundId' in k) return { id: k.boundId, name: '' };
  const cacheKey = `${c.job.tenantId}|${k.key}`;
  if (!touch) {
    const hit = c.caches.sites.get(cacheKey);
    if (hit) return hit;
  }
  const fp = k.key.startsWith('fp:') ? k.key.slice(3) : null;
  const row = await c.trx
    .insertInto('clusters')
    .values({
      id: randomUUID(),
      tenant_id: c.job.tenantId,
      key: k.key,
      name: k.name,
      fingerprint: fp,
      standalone: k.clustered ? 0 : 1,
      quorate: null,
      nodes: null,
      version: null,
      cluster_id_reported: null,
      first_seen_at: c.at,
      last_seen_at: c.at,
      collected_at: null,
    })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'key']).doUpdateSet((eb) =>
        // A site first seen from a node report is "standalone" until a cluster name shows up.
        k.clustered
          ? { last_seen_at: laterSeen(eb), name: eb.ref('excluded.name'), standalone: 0 }
          : { last_seen_at: laterSeen(eb) },
      ),
    )
    .returning(['id', 'name', 'first_seen_at'])
    .executeTakeFirstOrThrow();
  const s = { id: row.id, name: row.name };
  if (row.first_seen_at === c.at && c.job.kind !== 'cluster')
    c.event('cluster', { cluster_id: s.id }, [
      {
        type: 'first_seen',
        message: `${k.clustered ? 'cluster' : 'standalone node'} ${s.name} first seen`,
      },
    ]);
  c.pendingSites.push([cacheKey, s]);
  return s;
}

export async function bindAgent(c: JobContext, siteId: string): Promise<void> {
  if (c.agent.cluster_id === siteId) return;
  await c.trx.updateTable('agents').set({ cluster_id: siteId }).where('id', '=', c.agent.id).execute();
  c.agent.cluster_id = siteId;
}

export async function nodeIdFor(c: JobContext, siteId: string, nodeName: string): Promise<string> {
  const key = `${siteId}|${nodeName}`;
  const hit = c.caches.nodes.get(key);
  if (hit) return hit;
  const r = await c.trx
    .insertInto('nodes')
    .values({
      ...emptyNode(),
      id: randomUUID(),
      tenant_id: c.job.tenantId,
      cluster_id: siteId,
      name: nodeName,
      first_seen_at: c.at,
      last_seen_at: c.at,
    })
    // no-op update so that RETURNING yields the existing row's id on both dialects
    .onConflict((oc) =>
      oc.columns(['cluster_id', 'name']).doUpdateSet((eb) => ({ name: eb.ref('excluded.name') })),
    )
    .returning('id')
    .executeTakeFirstOrThrow();
  c.pendingNodes.push([key, r.id]);
  return r.id;
}
