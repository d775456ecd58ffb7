import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, test } from '@nanny/testing';
import {
  estimateSeconds,
  orderLongestFirst,
  readDurations,
  writeDurations,
} from '../../scripts/lib/test-order.mjs';

const rel = (f: string) => f;

test('files start longest first: recorded durations win, unknown files get an estimate by location', () => {
  const files = [
    'packages/a/src/unit.test.ts',
    'packages/web/src/browser.test.ts',
    'test/e2e/demo.test.ts',
    'packages/b/src/slow-unit.test.ts',
    'test/deps/engines.test.ts',
  ];
  // nothing recorded: end-to-end and browser files first, then the other test/ files, then units
  assert.deepEqual(orderLongestFirst(files, {}, rel), [
    'packages/web/src/browser.test.ts',
    'test/e2e/demo.test.ts',
    'test/deps/engines.test.ts',
    'packages/a/src/unit.test.ts',
    'packages/b/src/slow-unit.test.ts',
  ]);
  // recorded: a unit file measured at 90 s starts before an end-to-end file measured at 20 s
  const recorded = { 'packages/b/src/slow-unit.test.ts': 90, 'test/e2e/demo.test.ts': 20 };
  assert.deepEqual(orderLongestFirst(files, recorded, rel), [
    'packages/b/src/slow-unit.test.ts',
    'packages/web/src/browser.test.ts',
    'test/e2e/demo.test.ts',
    'test/deps/engines.test.ts',
    'packages/a/src/unit.test.ts',
  ]);
  assert.equal(estimateSeconds('test/e2e/x.test.ts') > estimateSeconds('packages/x/src/x.test.ts'), true);
});

test('durations: a missing or broken file reads as none; a partial run keeps the other figures', (t) => {
  const dir = tempDir(t, 'durations');
  const file = join(dir, 'nested', 'test-durations.json');
  assert.deepEqual(readDurations(file), {});
  writeDurations(file, { 'a.test.ts': 3, 'b.test.ts': 4 }, { 'b.test.ts': 12.345 });
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { 'a.test.ts': 3, 'b.test.ts': 12.3 });
  assert.deepEqual(readDurations(file), { 'a.test.ts': 3, 'b.test.ts': 12.3 });
  writeFileSync(file, '{ not json');
  assert.deepEqual(readDurations(file), {});
  writeFileSync(file, '[1, 2]');
  assert.deepEqual(readDurations(file), {});
});
