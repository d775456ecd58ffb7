/**
 * Issue 13, M7 and Low: an agent cannot grow the database with unknown fields, nest JSON until the
 * server fails, or file events in year 9999.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { makeTestApp, SPEC } from '../testing.ts';

async function dbBytes(db: Kysely<unknown>): Promise<number> {
  const pages = await sql<{ page_count: number }>`PRAGMA page_count`.execute(db);
  const size = await sql<{ page_size: number }>`PRAGMA page_size`.execute(db);
  return Number(pages.rows[0]!.page_count) * Number(size.rows[0]!.page_size);
}

test('100 reports with 1 MB of unknown fields each: accepted, database growth bounded', async (t) => {
  const ta = await makeTestApp();
  t.after(() => ta.app.close());
  const { access } = await ta.register('pve-node-01');
  const db = ta.storage.extend((h) => h.db as Kysely<unknown>);
  assert.equal((await ta.post('/api/proxmox/node', access, SPEC.node)).status, 200);
  assert.equal((await ta.post('/api/proxmox/lxc', access, SPEC.lxc)).status, 200);
  const before = await dbBytes(db);
  const junk = 'x'.repeat(1_000_000);
  for (let i = 0; i < 100; i++) {
    const kind = i % 2 ? 'lxc' : 'node';
    const body = { ...(i % 2 ? SPEC.lxc : SPEC.node), [`junk_${i}`]: junk, small_extra: i };
    const r = await ta.post(`/api/proxmox/${kind}`, access, body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  const grown = (await dbBytes(db)) - before;
  // ~98 MB before the fix; now the reports keep their known fields and a small extra map.
  assert.ok(grown < 2_000_000, `database grew by ${grown} bytes`);
  const read = await ta.pat('read');
  const nodes = (await ta.get('/api/nodes', read)).json.data as { name: string }[];
  assert.ok(nodes.some((n) => n.name === 'pve-node-01'));
});

test('10,000-deep JSON is a 400 in the envelope, not a 500', async (t) => {
  const ta = await makeTestApp();
  t.after(() => ta.app.close());
  const { access } = await ta.register('pve-node-01');
  const deep = '['.repeat(10_000) + ']'.repeat(10_000);
  for (const body of [deep, `{"name":"pve-node-01","x":${deep}}`]) {
    const r = await ta.post('/api/proxmox/node', access, body);
    assert.equal(r.status, 400);
    assert.equal(r.json.success, false);
    assert.equal(r.json.error, 'invalid_request');
    assert.match(String(r.json.error_description), /nested deeper/);
  }
  // brackets inside strings are text, not nesting
  const ok = await ta.post('/api/proxmox/node', access, { ...SPEC.node, note: '['.repeat(1000) });
  assert.equal(ok.status, 200);
});

test('collected_at in year 9999 is kept as sent but files events at most minutes ahead', async (t) => {
  const ta = await makeTestApp();
  t.after(() => ta.app.close());
  const { access } = await ta.register('pve-node-01');
  const far = '9999-12-31T23:59:59.000Z';
  assert.equal((await ta.post('/api/proxmox/node', access, { ...SPEC.node, collected_at: far })).status, 200);
  const read = await ta.pat('read');
  const events = (await ta.get('/api/events', read)).json.data as { occurred_at: string }[];
  assert.ok(events.length > 0);
  for (const e of events) assert.ok(Date.parse(e.occurred_at) < Date.now() + 3600_000, e.occurred_at);
});

test('config keys with a newline or 1,000 characters are a 400', async (t) => {
  const ta = await makeTestApp();
  t.after(() => ta.app.close());
  const { access } = await ta.register('pve-node-01');
  for (const key of ['net0\nevil', 'k'.repeat(1000)]) {
    const r = await ta.post('/api/proxmox/lxc', access, {
      ...SPEC.lxc,
      config: { ...SPEC.lxc.config, [key]: 'x' },
    });
    assert.equal(r.status, 400, key.slice(0, 20));
    assert.equal(r.json.error, 'invalid_request');
  }
  assert.equal((await ta.post('/api/proxmox/lxc', access, SPEC.lxc)).status, 200);
});
