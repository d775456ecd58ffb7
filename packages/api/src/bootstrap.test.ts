import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { buildApp } from './app.ts';
import { bootstrap, launch } from './bootstrap.ts';
import { testConfig } from './config.ts';
import type { ApiModule } from './module-contract.ts';
import { createKyselyStorage } from './storage/kysely-storage.ts';
import { createRetention } from './retention/module.ts';
import type { ModuleContext } from './module-contract.ts';

/** A module that records what the app did with it. */
function probe() {
  const seen: string[] = [];
  const module: ApiModule = {
    name: 'probe',
    create: () => {
      seen.push('create');
      return {
        start: () => {
          seen.push('start');
          return Promise.resolve(() => {
            seen.push('stop');
            return Promise.resolve();
          });
        },
      };
    },
  };
  return { seen, module };
}

test('buildApp creates no user and no secret and starts no background work', async () => {
  const storage = await createKyselyStorage({ sqliteFile: ':memory:' });
  const p = probe();
  try {
    const app = await buildApp(
      testConfig(),
      { storage, jwtSecret: 'x'.repeat(64), setup: { adminCreated: false, username: 'admin' } },
      { modules: [p.module] },
    );
    await app.ready();
    assert.equal(await storage.countUsers(), 0);
    // The generator runs only when no secret is stored yet.
    assert.equal(await storage.secret('jwt_secret', () => 'none-before'), 'none-before');
    assert.deepEqual(p.seen, ['create']);
    await app.close();
    assert.deepEqual(p.seen, ['create']);
  } finally {
    await storage.close();
  }
});

test('launch bootstraps once (admin, JWT secret) and runs background work from ready to close', async () => {
  const storage = await createKyselyStorage({ sqliteFile: ':memory:' });
  const p = probe();
  try {
    const app = await launch(testConfig({ adminPassword: 'admin-password-1' }), {
      storage,
      modules: [p.module],
    });
    assert.equal(app.nanny.setup.adminCreated, true);
    assert.equal(await storage.countUsers(), 1);
    assert.deepEqual(p.seen, ['create']);
    await app.ready();
    assert.deepEqual(p.seen, ['create', 'start']);
    await app.close();
    assert.deepEqual(p.seen, ['create', 'start', 'stop']);
    // A second start (another replica, a restart) finds the admin and the same secret.
    const again = await bootstrap(storage, testConfig());
    assert.equal(again.setup.adminCreated, false);
    assert.equal(again.jwtSecret, await storage.secret('jwt_secret', () => 'unused'));
  } finally {
    await storage.close();
  }
});

test('the retention module prunes history older than retentionDays every interval, until stopped', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const calls: string[] = [];
  const ctx = {
    config: testConfig({ retentionDays: 2 }),
    storage: {
      prune: (before: string) => {
        calls.push(before);
        return Promise.resolve({});
      },
    },
    log: { debug: () => undefined, error: () => undefined },
    now: () => new Date('2026-11-25T12:00:00Z'),
    leader: { role: () => role },
  } as unknown as ModuleContext;
  let role = 'follower';
  const r = createRetention(ctx, 1000);
  const stop = await r.start!();
  // a follower leaves pruning to the leader (replicas on one PostgreSQL)
  t.mock.timers.tick(1000);
  await Promise.resolve();
  assert.deepEqual(calls, []);
  role = 'leader';
  t.mock.timers.tick(1000);
  await Promise.resolve();
  assert.deepEqual(calls, ['2026-11-23T12:00:00.000Z']);
  await stop();
  t.mock.timers.tick(5000);
  assert.equal(calls.length, 1);
});
