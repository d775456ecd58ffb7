/**
 * Issue 13, M2 across replicas: two nannyapi processes on one database (two storage instances
 * here, each with its own in-process ordering) cannot bind one node to two agents. The database
 * decides (node_claims, migration 0130): of two agents claiming a node at the same moment one
 * wins; the other is refused, or its batch fails and is refused when the agent sends again.
 */
import { requires, tempDir, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createKyselyStorage } from './kysely-storage.ts';
import { DIALECTS } from './testing.ts';
import type { IngestJob, IngestOutcome, Storage } from './storage.ts';

const ROUNDS = 6;

async function race(one: Storage, two: Storage) {
  const now = new Date().toISOString();
  const tenant = await one.ensureTenant('race', now);
  // a cluster per round: a node of a cluster others report for must be listed first (ingest-binding.ts)
  const fp = (i: number) => (i + 16).toString(16).repeat(32);
  const agent = (hostname: string, i: number) =>
    one.createAgent({
      tenant_id: tenant.id,
      hostname,
      cluster_name: 'prod',
      cluster_fingerprint: fp(i),
      agent_version: null,
      pve_version: null,
      created_at: now,
    });
  const job = (agentId: string, node: string, i: number): IngestJob => ({
    tenantId: tenant.id,
    agentId,
    tokenVersion: 1,
    kind: 'node',
    payload: { name: node, cluster_name: 'prod', cluster_fingerprint: fp(i) },
    receivedAt: new Date().toISOString(),
  });
  const stated = (o: IngestOutcome | undefined) => (o?.ok ? 'ok' : (o?.reason ?? 'none'));
  for (let i = 0; i < ROUNDS; i++) {
    const node = `pve${i}`;
    const [a, b] = [await agent(`a-${node}`, i), await agent(`b-${node}`, i)];
    const [ra, rb] = await Promise.all([one.ingest([job(a.id, node, i)]), two.ingest([job(b.id, node, i)])]);
    const outcomes = [stated(ra[0]), stated(rb[0])].sort();
    assert.equal(outcomes.filter((o) => o === 'ok').length, 1, `round ${i}: ${outcomes.join(', ')}`);
    // The loser's batch may have failed on the write lock (SQLite): sent again, it is refused.
    const loser = stated(ra[0]) === 'ok' ? { id: b.id, store: two } : { id: a.id, store: one };
    const again = await loser.store.ingest([job(loser.id, node, i)]);
    assert.equal(stated(again[0]), 'forbidden', `round ${i}: ${JSON.stringify(again[0])}`);
    const bound = (await one.listAgents(tenant.id)).filter((x) => x.bound_node === node);
    assert.equal(bound.length, 1, `round ${i}: ${node} bound to ${bound.map((x) => x.hostname).join(', ')}`);
  }
}

test('two storage instances on one SQLite file cannot bind one node twice', async (t) => {
  const file = join(tempDir(t, 'nanny-race-'), 'nannyapi.db');
  const one = await createKyselyStorage({ sqliteFile: file });
  t.after(() => one.close());
  const two = await createKyselyStorage({ sqliteFile: file });
  t.after(() => two.close());
  await race(one, two);
});

test('two storage instances on one PostgreSQL schema cannot bind one node twice', async (t) => {
  const pg = DIALECTS.find((d) => d.name === 'postgres')!;
  const opened = await pg.open();
  if (!requires(t, 'postgres', opened !== undefined, pg.skipReason) || !opened) return;
  t.after(opened.cleanup);
  const two = await createKyselyStorage({
    databaseUrl: opened.databaseUrl,
    pgSchema: opened.pgSchema,
    pgPoolSize: 4,
  });
  t.after(() => two.close());
  await race(opened.storage, two);
});
