import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { testConfig } from '../config.ts';
import type { ModuleContext } from '../module-contract.ts';
import type { HistoryHorizons } from '../storage/history-types.ts';
import { createRetention } from './module.ts';

test('the retention module runs the usage-history job with the configured horizons, one run at a time', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const history = { rawDays: 3, fiveMinuteDays: 30, hourlyDays: 400 };
  const calls: [number, HistoryHorizons][] = [];
  let finish: (() => void) | undefined;
  const ctx = {
    config: testConfig({ history }),
    storage: {
      prune: () => Promise.resolve({}),
      maintainHistory: (now: number, h: HistoryHorizons) => {
        calls.push([now, h]);
        return new Promise((resolve) => {
          finish = () => resolve(null);
        });
      },
    },
    log: { debug: () => undefined, error: () => undefined },
    now: () => new Date('2026-11-25T12:00:00Z'),
  } as unknown as ModuleContext;
  const stop = await createRetention(ctx, 3600_000, 1000).start!();
  t.mock.timers.tick(1000);
  assert.deepEqual(calls, [[Date.parse('2026-11-25T12:00:00Z'), history]]);
  // still running: the next tick does not start a second run
  t.mock.timers.tick(1000);
  assert.equal(calls.length, 1);
  finish?.();
  await new Promise((r) => setImmediate(r));
  t.mock.timers.tick(1000);
  assert.equal(calls.length, 2);
  await stop();
  t.mock.timers.tick(5000);
  assert.equal(calls.length, 2);
});
