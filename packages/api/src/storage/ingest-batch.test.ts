/**
 * Set-based ingest (ingest-batch.ts): a batch reads its guests in one statement and writes the
 * steady-state updates in one statement per table. Whatever lands in one batch must leave the same
 * rows and events as the same reports one per batch.
 */
import { after, before, describe } from 'node:test';
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import type { PayloadKind } from '@nanny/schema';
import { DIALECTS } from './testing.ts';
import type { Agent, IngestApplied, IngestJob, Storage, Tenant } from './storage.ts';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

for (const dialect of DIALECTS) {
  describe(`set-based ingest on ${dialect.name}`, () => {
    let opened: Awaited<ReturnType<typeof dialect.open>>;
    let s: Storage;
    let tenant: Tenant;
    before(async () => {
      opened = await dialect.open();
      if (!opened) return;
      s = opened.storage;
      tenant = await s.ensureTenant('default', new Date().toISOString());
    });
    after(async () => opened?.cleanup());
    const skip = (t: { skip: (m?: string) => void }) =>
      !requires(t, 'postgres', opened !== undefined, dialect.skipReason);
    let n = 0;
    const agent = () =>
      s.createAgent({
        tenant_id: tenant.id,
        hostname: `batch-${++n}`,
        cluster_name: null,
        cluster_fingerprint: null,
        agent_version: null,
        pve_version: null,
        created_at: new Date().toISOString(),
      });
    const job = (a: Agent, kind: PayloadKind, payload: Record<string, unknown>, m: number): IngestJob => ({
      tenantId: a.tenant_id,
      agentId: a.id,
      tokenVersion: a.token_version,
      kind,
      payload,
      receivedAt: at(m),
    });
    const ok = async (jobs: IngestJob[]) => {
      const out = await s.ingest(jobs);
      for (const o of out) assert.equal(o.ok, true, JSON.stringify(o));
      return out as IngestApplied[];
    };

    test('three cycles in ONE batch: gone, status change and return as if reported one by one', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const cl = { cluster_name: `batch-${dialect.name}`, cluster_fingerprint: '3'.repeat(64) };
      const node = (m: number) => job(a, 'node', { ...cl, name: 'b1' }, m);
      const guest = (vmid: number, m: number, status = 'running') =>
        job(a, 'lxc', { ...cl, vmid, node: 'b1', status, uptime: m * 60, name: `g${vmid}` }, m);
      const out = await ok([
        node(0),
        guest(1, 1),
        guest(2, 1),
        node(5),
        guest(1, 6),
        guest(1, 6, 'stopped'),
        // the node report reads guests by SQL: guest 1's deferred update must be written first,
        // or guest 1 would be judged gone as well
        node(10),
        // guest 2 was marked gone by SQL: the batch must not answer from its stale copy
        guest(2, 11),
        guest(2, 11, 'stopped'),
      ]);
      const types = out.map((o) => o.events.map((e) => e.type));
      assert.deepEqual(types, [
        ['first_seen', 'first_seen'],
        ['first_seen'],
        ['first_seen'],
        [],
        [],
        ['status_changed'],
        ['gone'],
        ['came_back'],
        ['status_changed'],
      ]);
      const list = await s.listGuests(tenant.id, { clusterId: out[0]!.clusterId, limit: 10, offset: 0 });
      assert.deepEqual(
        list.data.map((g) => [g.vmid, g.status, g.gone, g.uptime_seconds, g.last_seen]),
        [
          [1, 'stopped', false, 360, at(6)],
          [2, 'stopped', false, 660, at(11)],
        ],
      );
      const g2 = await s.getGuest(tenant.id, list.data[1]!.id);
      assert.equal(g2?.report['status'], 'stopped');
      assert.deepEqual(g2?.status_changes.map((c) => [c.from_status, c.to_status]).sort(), [
        [null, 'running'],
        ['running', 'stopped'],
      ]);
    });

    test('a batch of many agents and guests marks every agent seen and stores every report', async (t) => {
      if (skip(t)) return;
      const agents = await Promise.all([agent(), agent(), agent()]);
      const cl = { cluster_name: `many-${dialect.name}`, cluster_fingerprint: '4'.repeat(64) };
      const jobs = (m: number) =>
        agents.flatMap((a, i) => [
          job(a, 'node', { ...cl, name: `m${i}` }, m),
          ...[1, 2, 3].map((k) =>
            job(
              a,
              'qemu',
              { ...cl, vmid: 100 * (i + 1) + k, node: `m${i}`, status: 'running', uptime: m },
              m,
            ),
          ),
        ]);
      await ok(jobs(0));
      const out = await ok(jobs(1));
      const guests = await s.listGuests(tenant.id, { clusterId: out[0]!.clusterId, limit: 20, offset: 0 });
      assert.deepEqual(
        guests.data.map((g) => [g.vmid, g.uptime_seconds, g.last_seen]),
        [101, 102, 103, 201, 202, 203, 301, 302, 303].map((v) => [v, 1, at(1)]),
      );
      const listed = await s.listAgents(tenant.id);
      for (const a of agents) assert.equal(listed.find((x) => x.id === a.id)?.last_seen_at, at(1));
    });
  });
}
