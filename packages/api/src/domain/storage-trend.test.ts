import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { daysUntilFull, TREND_WINDOW_MS } from './storage-trend.ts';

const H = 3600 * 1000;
const now = Date.parse('2026-12-01T12:00:00Z');

test('a steady growth projects the days left from the slope', () => {
  // 1 TB total, 600 GB used now, growing 10 GB per hour: 400 GB left / 240 GB a day = 1.67 days
  const samples = [0, 1, 2, 3, 4].map((h) => ({ t: now - (4 - h) * H, used: 560e9 + h * 10e9, total: 1e12 }));
  const d = daysUntilFull(samples, now);
  assert.ok(d !== null);
  assert.ok(Math.abs(d - 400 / 240) < 1e-9, String(d));
});

test('flat or shrinking use, one sample, or too short a span give no projection', () => {
  const flat = [0, 1, 2].map((h) => ({ t: now - h * H, used: 5e9, total: 1e10 }));
  assert.equal(daysUntilFull(flat, now), null);
  const shrinking = [0, 1, 2].map((h) => ({ t: now - h * H, used: 5e9 + h * 1e8, total: 1e10 }));
  assert.equal(daysUntilFull(shrinking, now), null);
  assert.equal(daysUntilFull([{ t: now, used: 1, total: 2 }], now), null);
  const short = [
    { t: now - 60_000, used: 1e9, total: 1e10 },
    { t: now, used: 2e9, total: 1e10 },
  ];
  assert.equal(daysUntilFull(short, now, H), null);
  assert.ok(daysUntilFull(short, now, 0)! > 0);
});

test('samples older than 24 hours do not count', () => {
  const old = { t: now - TREND_WINDOW_MS - H, used: 0, total: 1e10 };
  const recent = [
    { t: now - H, used: 5e9, total: 1e10 },
    { t: now, used: 5e9, total: 1e10 },
  ];
  // with the old sample the line would rise; without it, it is flat
  assert.equal(daysUntilFull([old, ...recent], now), null);
});

test('a full storage has 0 days left while it still grows', () => {
  const s = [
    { t: now - H, used: 9e9, total: 1e10 },
    { t: now, used: 1e10, total: 1e10 },
  ];
  assert.equal(daysUntilFull(s, now), 0);
});
