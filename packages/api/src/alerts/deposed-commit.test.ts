/**
 * A leader that loses its lock in the middle of an evaluation pass must not commit that pass.
 *
 * The pass read the fence for its commit from `leader.epoch()` just before committing. When the
 * leadership found the lock gone during the pass (its lock connection ended: a successor ended it
 * after a pause, or the connection died), `epoch()` was already undefined — the step down waits
 * for the pass — and the pass committed with no fence at all. A successor that had loaded the
 * engine state before that commit never saw what it did: the deposed leader's quorum_lost was
 * stored and notified, the successor fired a second one for the same outage at the next
 * non-quorate report and resolved only its own (the doubled quorum_lost of
 * test/bench/replica-chaos.ts, docs/deploy.md). The fence is now the epoch the pass started under.
 *
 * Two alert services on one database, each with a leadership driven by hand, and the interleaving
 * held in place by gates in their stores: the deposed leader stops after evaluating, the successor
 * takes the lock and loads the state, the deposed one commits, then the successor reads the queue.
 */
import { requires, tempDir, test, within } from '@nanny/testing';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createKyselyStorage } from '../storage/kysely-storage.ts';
import { createAlertStore, type AlertStore } from '../storage/alerts.ts';
import { DIALECTS } from '../storage/testing.ts';
import type { Storage } from '../storage/storage.ts';
import type { Role } from '../leader.ts';
import { createAlertService, type LeaderView } from './service.ts';
import type { ClusterFact } from './types.ts';

const T0 = Date.parse('2026-12-03T00:00:00Z');
const s = (sec: number) => T0 + sec * 1000;
const NODES = ['pve1', 'pve2', 'pve3'];
const TENANT = 't';

function report(from: string, quorate: boolean, at: number): ClusterFact {
  return {
    kind: 'cluster',
    clusterId: 'c1',
    clusterName: 'prod',
    at,
    collectedAt: at,
    quorate,
    nodes: 3,
    reportingNode: from,
    members: NODES.map((name) => ({ name, online: quorate || name === from })),
  };
}

/** a leadership moved by the test: `lead(epoch)` wins, `depose()` is what a failed lock check does */
function handLeader(): LeaderView & { lead(epoch: number): void; depose(): void } {
  let epoch: number | undefined;
  const listeners: ((role: Role) => void | Promise<void>)[] = [];
  const announce = () => {
    // the real leadership awaits these on its own chain; the service's pass does not wait for them
    for (const l of listeners) void l(epoch === undefined ? 'follower' : 'leader');
  };
  return {
    name: 'nanny',
    role: () => (epoch === undefined ? 'follower' : 'leader'),
    epoch: () => epoch,
    onChange: (l) => void listeners.push(l),
    lost: () => {
      if (epoch !== undefined) {
        epoch = undefined;
        announce();
      }
      return Promise.resolve();
    },
    lead(e) {
      epoch = e;
      announce();
    },
    depose() {
      epoch = undefined;
      announce();
    },
  };
}

/** a promise the store waits on, and one that says the store got there */
function gate() {
  let open!: () => void;
  let reached!: () => void;
  return {
    opened: new Promise<void>((r) => (open = r)),
    arrived: new Promise<void>((r) => (reached = r)),
    open: () => open(),
    reach: () => reached(),
    armed: false,
  };
}

for (const d of DIALECTS) {
  test(`${d.name}: a leader deposed in the middle of a pass does not commit it; one quorum_lost, one webhook each way`, async (t) => {
    // two replicas: two storages (two pools) on one database
    let one: Storage;
    let two: Storage;
    if (d.name === 'sqlite') {
      const file = join(tempDir(t, 'nanny-deposed-'), 'nannyapi.db');
      one = await createKyselyStorage({ sqliteFile: file });
      t.after(() => one.close());
      two = await createKyselyStorage({ sqliteFile: file });
      t.after(() => two.close());
    } else {
      const opened = await d.open();
      if (!requires(t, 'postgres', opened !== undefined, d.skipReason) || !opened) return;
      t.after(opened.cleanup);
      one = opened.storage;
      two = await createKyselyStorage({
        databaseUrl: opened.databaseUrl,
        pgSchema: opened.pgSchema,
        pgPoolSize: 2,
      });
      t.after(() => two.close());
    }
    const realOne = one.extend(createAlertStore);
    const realTwo = two.extend(createAlertStore);
    await realOne.createChannel(
      {
        id: 'ch',
        tenantId: TENANT,
        type: 'webhook',
        name: 'w',
        config: { url: 'http://127.0.0.1:1/' },
        minSeverity: 'info',
      },
      new Date(T0 - 60_000).toISOString(),
    );

    // the deposed leader stops after evaluating, before it commits (it looks up silences only for
    // a pass that fired or resolved something)
    const evaluated = gate();
    const storeOne: AlertStore = {
      ...realOne,
      listSilences: async (tenantId, activeAt) => {
        if (evaluated.armed) {
          evaluated.armed = false;
          evaluated.reach();
          await evaluated.opened;
        }
        return realOne.listSilences(tenantId, activeAt);
      },
    };
    // the successor stops after loading the state, before it reads the queue
    const loaded = gate();
    const storeTwo: AlertStore = {
      ...realTwo,
      readQueue: async (limit) => {
        if (loaded.armed) {
          loaded.armed = false;
          loaded.reach();
          await loaded.opened;
        }
        return realTwo.readQueue(limit);
      },
    };

    const lockOne = one.leaderLock('nanny');
    t.after(() => lockOne.release());
    const lockTwo = two.leaderLock('nanny');
    t.after(() => lockTwo.release());
    const leaderOne = handLeader();
    const leaderTwo = handLeader();
    const quiet = { pollMs: 3_600_000 };
    const first = createAlertService({
      store: storeOne,
      leader: leaderOne,
      now: () => s(10),
      tickMs: 3_600_000,
      pollMs: 3_600_000,
      worker: quiet,
    });
    const second = createAlertService({
      store: storeTwo,
      leader: leaderTwo,
      now: () => s(10),
      tickMs: 3_600_000,
      pollMs: 3_600_000,
      worker: quiet,
    });
    t.after(() => first.stop());
    t.after(() => second.stop());
    const enqueue = (...facts: ClusterFact[]) =>
      realOne.enqueue(facts.map((f) => ({ tenantId: TENANT, body: JSON.stringify(f) })));

    leaderOne.lead((await lockOne.tryAcquire('one', new Date(T0).toISOString()))!);
    await first.start();
    await first.worker.stop(); // the deliveries stay queued, to be counted
    await enqueue(...NODES.map((n, i) => report(n, true, s(i))));
    await first.flush();

    // pve1 reports the loss of quorum; the leader evaluates it (quorum_lost fires in its memory)...
    evaluated.armed = true;
    await enqueue(report('pve1', false, s(10)));
    const pass = first.flush();
    await within(evaluated.arrived, { what: 'the leader to evaluate the fact', budget: 'short' });
    // ...and loses its lock before it commits: it notices (epoch undefined), the pass goes on
    await lockOne.release();
    leaderOne.depose();
    // the successor wins the lock and loads the engine state
    loaded.armed = true;
    leaderTwo.lead((await lockTwo.tryAcquire('two', new Date(s(10)).toISOString()))!);
    await second.start();
    await second.worker.stop();
    await within(loaded.arrived, { what: 'the successor to load the state', budget: 'short' });
    // the deposed leader's pass ends: it must not have committed
    evaluated.open();
    await within(pass, { what: "the deposed leader's pass", budget: 'short' });
    loaded.open();
    await second.flush();

    // the outage goes on (pve2 now says so too), then ends
    await enqueue(report('pve2', false, s(19.5)));
    await second.flush();
    await enqueue(...NODES.map((n, i) => report(n, true, s(30 + i))));
    await second.flush();

    const alerts = await realTwo.listAlerts(TENANT, { rule: 'quorum_lost', limit: 10, offset: 0 });
    assert.deepEqual(
      alerts.map((a) => [a.state, a.started_at]),
      [['resolved', new Date(s(10)).toISOString()]],
      'one quorum_lost for the one outage, resolved',
    );
    const deliveries = await realTwo.listDeliveries(TENANT, { limit: 10 });
    assert.deepEqual(deliveries.map((x) => x.event).sort(), ['fire', 'resolve'], 'one webhook each way');
    assert.equal((await realTwo.readQueue(10)).length, 0, 'every fact evaluated');
  });
}
