import { test, waitFor } from '@nanny/testing';
import assert from 'node:assert/strict';
import { createKyselyStorage } from '../storage/kysely-storage.ts';
import { createAlertStore, type AlertStore } from '../storage/alerts.ts';
import { createAlertService } from './service.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');

test('a commit that fails leaves the facts queued: they are evaluated again, the alert and its notification once', async () => {
  const storage = await createKyselyStorage({ sqliteFile: ':memory:' });
  const real = storage.extend(createAlertStore);
  let failures = 1;
  const store: AlertStore = {
    ...real,
    commitEvaluation: async (c) => {
      if (c.batches.some((b) => b.fires.length > 0) && failures-- > 0)
        throw new Error('SQLITE_BUSY: database is locked');
      return real.commitEvaluation(c);
    },
  };
  const warnings: string[] = [];
  const service = createAlertService({
    store,
    now: () => T0,
    log: { warn: (_o, m) => warnings.push(m), error: (_o, m) => warnings.push(m) },
    worker: { pollMs: 3600_000 },
  });
  try {
    await service.start();
    await real.createChannel(
      {
        id: 'ch',
        tenantId: 't',
        type: 'webhook',
        name: 'w',
        config: { url: 'http://127.0.0.1:1/' },
        minSeverity: 'info',
      },
      new Date(T0).toISOString(),
    );
    await service.worker.stop(); // keep the delivery queued for inspection
    await service.onIngest({
      tenantId: 't',
      kind: 'cluster',
      clusterId: 'c1',
      payload: { cluster_name: 'prod', nodes: 3, quorate: 0 },
      receivedAt: T0,
    });
    assert.match(warnings.join(), /not stored/);
    assert.equal((await real.readQueue(10)).length, 1, 'the fact is still queued');
    // the next pass (after its backoff) evaluates it from the state in the database
    await waitFor(
      async () => {
        await service.flush();
        return (await real.readQueue(10)).length === 0;
      },
      { what: 'the queued fact to be evaluated', budget: 'short' },
    );
    const alerts = await real.listAlerts('t', { state: 'firing', limit: 10, offset: 0 });
    assert.deepEqual(
      alerts.map((a) => a.rule),
      ['quorum_lost'],
    );
    const deliveries = await real.listDeliveries('t', { limit: 10 });
    assert.equal(deliveries.length, 1);
    assert.equal(deliveries[0]?.event, 'fire');
  } finally {
    await service.stop();
    await storage.close();
  }
});

test('the engine state survives a new service on the same database: no second fire, the resolve still comes', async () => {
  const storage = await createKyselyStorage({ sqliteFile: ':memory:' });
  const store = storage.extend(createAlertStore);
  const ingest = (quorate: number, at: number) => ({
    tenantId: 't',
    kind: 'cluster' as const,
    clusterId: 'c1',
    payload: { cluster_name: 'prod', nodes: 3, quorate },
    receivedAt: at,
  });
  try {
    const a = createAlertService({ store, now: () => T0 });
    await a.start();
    await a.onIngest(ingest(0, T0));
    await a.stop();
    const b = createAlertService({ store, now: () => T0 + 60_000 });
    await b.start();
    await b.onIngest(ingest(0, T0 + 60_000));
    await b.onIngest(ingest(1, T0 + 120_000));
    await b.stop();
    const all = await store.listAlerts('t', { limit: 10, offset: 0 });
    assert.deepEqual(
      all.map((x) => [x.rule, x.state, x.started_at, x.resolved_at]),
      [['quorum_lost', 'resolved', new Date(T0).toISOString(), new Date(T0 + 120_000).toISOString()]],
    );
  } finally {
    await storage.close();
  }
});
