/**
 * Issue 13, M2 across replicas: which agent speaks for a node is decided by the database. One row
 * per (organisation, cluster key, node name) names the agent that claimed it; an agent binds by
 * inserting it (insert-if-absent), so two nannyapi processes on one database cannot bind one node
 * to two agents. The cluster is named by its key (`fp:…`, `name:…`, `agent:…`) rather than its id
 * because a first report may bind before its cluster row exists.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration } from './types.ts';

export const nodeClaims0130: Migration = {
  name: '0130_node_claims',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('node_claims')
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('cluster_key', 'text', (c) => c.notNull())
      .addColumn('node_name', 'text', (c) => c.notNull())
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('claimed_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('node_claims_pk', ['tenant_id', 'cluster_key', 'node_name'])
      .execute();
    await db.schema.createIndex('node_claims_agent').on('node_claims').column('agent_id').execute();
    // The bindings made before this table: the earliest live agent of a node keeps it.
    await sql`
      insert into node_claims (tenant_id, cluster_key, node_name, agent_id, claimed_at)
      select a.tenant_id, c.key, a.bound_node, a.id, a.created_at
      from agents a join clusters c on c.id = a.cluster_id
      where a.bound_node is not null and a.revoked_at is null
      order by a.created_at
      on conflict do nothing`.execute(db);
  },
};
