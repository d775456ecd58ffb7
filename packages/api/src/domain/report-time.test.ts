import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { MAX_AHEAD_MS, MAX_BEHIND_MS, occurredAt } from './report-time.ts';

const at = '2026-01-01T00:00:00.000Z';
const t = Date.parse(at);

test('collected_at is used when plausible, else clamped to the received time ± skew', () => {
  assert.equal(occurredAt(null, at), at);
  assert.equal(occurredAt('2025-12-31T23:59:00.000Z', at), '2025-12-31T23:59:00.000Z');
  assert.equal(occurredAt('9999-12-31T23:59:59.000Z', at), new Date(t + MAX_AHEAD_MS).toISOString());
  assert.equal(occurredAt('1970-01-01T00:00:00.000Z', at), new Date(t - MAX_BEHIND_MS).toISOString());
  assert.equal(occurredAt('not a date', at), at);
});
