import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { test } from '@nanny/testing';
import pg from 'pg';
import { at, HISTORY_CASES, historyFixture, KEEP, PG_URL, range } from './testing.ts';

for (const c of HISTORY_CASES) {
  describe(`usage history retention on ${c.name}`, () => {
    const { open, agent, fleet, storage, pgSchema } = historyFixture(c);
    test('retention deletes in batches and keeps each horizon', async (t) => {
      if (await open(t)) return;
      const s = storage();
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
      if (await open(t)) return;
      const s = storage();
      const a = await agent();
      const { guestId } = await fleet(a, 6);
      // the first run ever is already past the raw horizon: it rolls, then deletes
      const r = await s.maintainHistory(Date.parse(at(60 * 24 * 3)), { ...KEEP, rawDays: 1 });
      assert.ok(r);
      assert.equal((await s.guestHistory(a.tenant_id, guestId, range('5m')))?.length, 2);
    });

    if (c.dialect.name === 'postgres')
      test('on PostgreSQL a run is skipped while another process holds the job lock', async (t) => {
        if (await open(t)) return;
        const s = storage();
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        t.after(() => c.end());
        await c.query('select pg_advisory_lock(1853385070, hashtext($1))', [pgSchema()]);
        assert.equal(await s.maintainHistory(Date.parse(at(70)), KEEP), null);
        await c.query('select pg_advisory_unlock(1853385070, hashtext($1))', [pgSchema()]);
        assert.notEqual(await s.maintainHistory(Date.parse(at(70)), KEEP), null);
      });
  });
}
