/**
 * Issue 13, M2: an agent is bound to the one node it reports for (its cluster is `cluster_id`,
 * already there). Set at its first report, cleared only by an admin's rebind.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './types.ts';

export const agentBinding0120: Migration = {
  name: '0120_agent_binding',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>) {
    await db.schema.alterTable('agents').addColumn('bound_node', 'text').execute();
  },
};
