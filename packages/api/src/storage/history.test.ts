import { describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { join } from 'node:path';
import { requires, tempDir, test } from '@nanny/testing';
import { DIALECTS, PG_URL, type DialectUnderTest } from './testing.ts';
import { createKyselyStorage } from './kysely-storage.ts';
import type { Agent, IngestJob, Storage, Tenant } from './storage.ts';
import type { HistoryHorizons, HistoryRange } from './history-types.ts';

const T0 = Date.UTC(2026, 0, 1);
const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();
const KEEP: HistoryHorizons = { rawDays: 7, fiveMinuteDays: 90, hourlyDays: 730 };
const range = (resolution: HistoryRange['resolution'], from = at(-60), to = at(60 * 24 * 400)) => ({
  from,
  to,
  resolution,
  limit: 10_000,
});

/** SQLite in a file (WAL, as served) instead of in memory; PostgreSQL as every storage test runs it */
const CASES: { dialect: DialectUnderTest; file: boolean }[] = DIALECTS.map((dialect) => ({
  dialect,
  file: dialect.name === 'sqlite',
}));

for (const { dialect, file } of CASES) {
  describe(`usage history on ${dialect.name}${file ? ' (file)' : ''}`, () => {
    // The job's watermarks are the database's: every case gets a database of its own, its clock
    // starting at T0.
    let s: Storage;
    let tenant: Tenant;
    const skip = async (t: TestContext) => {
      const opened = file
        ? await (async () => {
            const storage = await createKyselyStorage({
              sqliteFile: join(tempDir(t, 'history'), 'nanny.db'),
            });
            return { storage, cleanup: () => storage.close() };
          })()
        : await dialect.open();
      if (!requires(t, 'postgres', opened !== undefined, dialect.skipReason)) return true;
      t.after(() => opened?.cleanup());
      s = opened!.storage;
      tenant = await s.ensureTenant('default', at(0));
      return false;
    };

    let n = 0;
    const agent = async (): Promise<Agent> =>
      s.createAgent({
        tenant_id: (await s.createTenant(`h-${dialect.name}-${++n}`, at(0))).id,
        hostname: `h${n}`,
        cluster_name: null,
        cluster_fingerprint: null,
        agent_version: null,
        pve_version: null,
        created_at: at(0),
      });
    const job = (a: Agent, kind: IngestJob['kind'], payload: Record<string, unknown>, minute: number) => ({
      tenantId: a.tenant_id,
      agentId: a.id,
      tokenVersion: a.token_version,
      kind,
      payload,
      receivedAt: at(minute),
    });
    /** a node and one guest reporting every minute for `minutes`: cpu = minute / 100 */
    async function fleet(a: Agent, minutes: number) {
      for (let m = 0; m < minutes; m++) {
        const out = await s.ingest([
          job(a, 'node', { name: 'n1', cpu_usage_ratio: m / 100, mem_used_bytes: 1000 + m, online: 1 }, m),
          job(
            a,
            'lxc',
            {
              vmid: 100,
              node: 'n1',
              status: 'running',
              cpu_usage_ratio: m / 100,
              mem_used_bytes: 2000 + m,
              disk_used_bytes: 50,
              net_in_bytes: 10_000 + m * 100,
              net_out_bytes: 5000 + m * 10,
            },
            m,
          ),
        ]);
        for (const o of out) assert.equal(o.ok, true, JSON.stringify(o));
      }
      const nodeId = (await s.listNodes(a.tenant_id, {}))[0]!.id;
      const guestId = (await s.listGuests(a.tenant_id, { limit: 1, offset: 0 })).data[0]!.id;
      return { nodeId, guestId };
    }

    test('every guest report is one usage sample; a replayed report adds none', async (t) => {
      if (await skip(t)) return;
      const a = await agent();
      const { guestId } = await fleet(a, 3);
      await s.ingest([job(a, 'lxc', { vmid: 100, node: 'n1', status: 'running', cpu_usage_ratio: 0.5 }, 2)]);
      const raw = await s.guestHistory(a.tenant_id, guestId, range('raw'));
      assert.deepEqual(
        raw?.map((p) => [p.ts, p.cpu_avg, p.net_in_max]),
        [
          [at(0), 0, 10_000],
          [at(1), 0.01, 10_100],
          [at(2), 0.02, 10_200],
        ],
      );
      // another tenant cannot read it
      assert.equal(await s.guestHistory(tenant.id, guestId, range('raw')), undefined);
    });

    test('5-minute and hourly rollups keep avg, max and min per bucket', async (t) => {
      if (await skip(t)) return;
      const a = await agent();
      const { nodeId, guestId } = await fleet(a, 15);
      const first = await s.maintainHistory(Date.parse(at(70)), KEEP);
      assert.ok(first);
      const g5 = await s.guestHistory(a.tenant_id, guestId, range('5m'));
      assert.deepEqual(
        g5?.map((p) => [p.ts, p.n, p.cpu_avg?.toFixed(4), p.cpu_max, p.mem_max, p.net_in_min, p.net_in_max]),
        [
          [at(0), 5, '0.0200', 0.04, 2004, 10_000, 10_400],
          [at(5), 5, '0.0700', 0.09, 2009, 10_500, 10_900],
          [at(10), 5, '0.1200', 0.14, 2014, 11_000, 11_400],
        ],
      );
      const n5 = await s.nodeHistory(a.tenant_id, nodeId, range('5m'));
      assert.deepEqual(
        n5?.map((p) => [p.ts, p.n, p.cpu_avg?.toFixed(4), p.cpu_max, p.mem_avg, p.online_min]),
        [
          [at(0), 5, '0.0200', 0.04, 1002, 1],
          [at(5), 5, '0.0700', 0.09, 1007, 1],
          [at(10), 5, '0.1200', 0.14, 1012, 1],
        ],
      );
      const g1 = await s.guestHistory(a.tenant_id, guestId, range('1h'));
      assert.deepEqual(
        g1?.map((p) => [p.ts, p.n, p.cpu_avg?.toFixed(4), p.cpu_max, p.net_out_min, p.net_out_max]),
        [[at(0), 15, '0.0700', 0.14, 5000, 5140]],
      );
      const n1 = await s.nodeHistory(a.tenant_id, nodeId, range('1h'));
      assert.deepEqual(
        n1?.map((p) => [p.ts, p.n, p.mem_avg, p.mem_max]),
        [[at(0), 15, 1007, 1014]],
      );
    });

    test('a sample arriving late re-rolls its recent bucket', async (t) => {
      if (await skip(t)) return;
      const a = await agent();
      const { guestId } = await fleet(a, 9);
      await s.maintainHistory(Date.parse(at(12)), KEEP);
      const before5 = await s.guestHistory(a.tenant_id, guestId, range('5m'));
      assert.deepEqual(
        before5?.map((p) => [p.ts, p.n]),
        [
          [at(0), 5],
          [at(5), 4],
        ],
      );
      // the report collected at minute 9.5 arrives at minute 13 (collected_at keeps its time)
      await s.ingest([
        job(
          a,
          'lxc',
          { vmid: 100, node: 'n1', status: 'running', cpu_usage_ratio: 0.9, collected_at: at(9.5) },
          13,
        ),
      ]);
      // the job rolls once an hour of buckets has closed; it re-rolls the bucket before its mark
      await s.maintainHistory(Date.parse(at(72)), KEEP);
      const after5 = await s.guestHistory(a.tenant_id, guestId, range('5m'));
      assert.deepEqual(
        after5?.map((p) => [p.ts, p.n, p.cpu_max]),
        [
          [at(0), 5, 0.04],
          [at(5), 5, 0.9],
        ],
      );
    });

    test('5-minute answers reach the last sample: buckets the job has not rolled yet come from raw', async (t) => {
      if (await skip(t)) return;
      const a = await agent();
      const { nodeId, guestId } = await fleet(a, 15);
      await s.maintainHistory(Date.parse(at(12)), KEEP);
      for (const points of [
        await s.guestHistory(a.tenant_id, guestId, range('5m')),
        await s.nodeHistory(a.tenant_id, nodeId, range('5m')),
      ])
        assert.deepEqual(
          points?.map((p) => [p.ts, p.n, p.cpu_max]),
          [
            [at(0), 5, 0.04],
            [at(5), 5, 0.09],
            [at(10), 5, 0.14],
          ],
        );
      // and a point budget keeps the latest
      const last = await s.guestHistory(a.tenant_id, guestId, { ...range('5m'), limit: 2 });
      assert.deepEqual(
        last?.map((p) => p.ts),
        [at(5), at(10)],
      );
    });

    test('retention deletes in batches and keeps each horizon', async (t) => {
      if (await skip(t)) return;
      const a = await agent();
      const { nodeId, guestId } = await fleet(a, 15);
      const horizons = { rawDays: 1, fiveMinuteDays: 2, hourlyDays: 3 };
      await s.maintainHistory(Date.parse(at(70)), horizons, { batchRows: 4 });
      // a day and a half later: raw is past its day, the 5-minute and hourly rows are kept
      const r = await s.maintainHistory(Date.parse(at(60 * 36)), horizons, { batchRows: 4 });
      assert.ok(r);
      assert.equal(r.deleted.guestSamples >= 15, true, JSON.stringify(r));
      assert.equal(r.deleted.nodeSamples >= 15, true, JSON.stringify(r));
      assert.equal(r.deleted.guestRollups, 0);
      // 15 rows, 4 a statement: at least 4 delete statements per table
      assert.ok(r.statements >= 8, JSON.stringify(r));
      assert.deepEqual(await s.guestHistory(a.tenant_id, guestId, range('raw')), []);
      assert.deepEqual(await s.nodeHistory(a.tenant_id, nodeId, range('raw')), []);
      assert.equal((await s.guestHistory(a.tenant_id, guestId, range('5m')))?.length, 3);
      // two and a half days: the 5-minute rows go, the hourly row stays
      await s.maintainHistory(Date.parse(at(60 * 60)), horizons, { batchRows: 4 });
      assert.deepEqual(await s.guestHistory(a.tenant_id, guestId, range('5m')), []);
      assert.deepEqual(await s.nodeHistory(a.tenant_id, nodeId, range('5m')), []);
      assert.equal((await s.guestHistory(a.tenant_id, guestId, range('1h')))?.length, 1);
      // past three days nothing of it is left
      await s.maintainHistory(Date.parse(at(60 * 80)), horizons, { batchRows: 4 });
      assert.deepEqual(await s.guestHistory(a.tenant_id, guestId, range('1h')), []);
      assert.deepEqual(await s.nodeHistory(a.tenant_id, nodeId, range('1h')), []);
    });

    test('raw samples stay until their buckets are rolled up', async (t) => {
      if (await skip(t)) return;
      const a = await agent();
      const { guestId } = await fleet(a, 6);
      // the first run ever is already past the raw horizon: it rolls, then deletes
      const r = await s.maintainHistory(Date.parse(at(60 * 24 * 3)), { ...KEEP, rawDays: 1 });
      assert.ok(r);
      assert.equal((await s.guestHistory(a.tenant_id, guestId, range('5m')))?.length, 2);
    });

    if (dialect.name === 'postgres')
      test('on PostgreSQL a run is skipped while another process holds the job lock', async (t) => {
        if (await skip(t)) return;
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        t.after(() => c.end());
        await c.query('select pg_advisory_lock(7953757464442498356)');
        assert.equal(await s.maintainHistory(Date.parse(at(70)), KEEP), null);
        await c.query('select pg_advisory_unlock(7953757464442498356)');
        assert.notEqual(await s.maintainHistory(Date.parse(at(70)), KEEP), null);
      });
  });
}
