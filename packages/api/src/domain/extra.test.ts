import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { EXTRA_MAX_BYTES, EXTRA_MAX_KEYS, boundReport } from './extra.ts';

test('known fields are kept, unknown scalars go to a bounded extra map, the rest is counted', () => {
  const body: Record<string, unknown> = { name: 'pve1', uptime_seconds: 5, nested: { a: 1 }, list: [1] };
  for (let i = 0; i < 100; i++) body[`x${i}`] = i;
  const r = boundReport('node', body);
  assert.equal(r.payload['name'], 'pve1');
  assert.equal(r.payload['uptime_seconds'], 5);
  assert.equal(r.payload['nested'], undefined);
  const extra = r.payload['extra'] as Record<string, unknown>;
  assert.equal(Object.keys(extra).length, EXTRA_MAX_KEYS);
  assert.equal(r.dropped, 2 + 100 - EXTRA_MAX_KEYS);
});

test('the extra map stays within its byte budget', () => {
  const r = boundReport('lxc', {
    vmid: 1,
    node: 'n',
    status: 'running',
    big: 'x'.repeat(1_000_000),
    small: 'ok',
  });
  assert.deepEqual(r.payload['extra'], { small: 'ok' });
  assert.ok(JSON.stringify(r.payload['extra']).length <= EXTRA_MAX_BYTES);
  assert.equal(r.dropped, 1);
  assert.equal(
    boundReport('cluster', { cluster_name: 'c', nodes: 1, quorate: 1 }).payload['extra'],
    undefined,
  );
});
