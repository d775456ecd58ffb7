/**
 * Issue 13, M7 re-attacked: an agent rotating storage names, or back-dating its samples, cannot grow
 * `storage_pools` and `storage_samples` without bound; a fresh agent's first storage or operations
 * report counts against the organisation's cluster and node quotas like a node report does; a
 * guest whose config map changes on every report keeps a bounded config history.
 */
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { makeTestApp, SPEC, type TestApp } from '../testing.ts';
import { CONFIG_HISTORY_BYTES } from '../storage/ingest-batch.ts';
import { DIALECTS } from '../storage/testing.ts';

const FP = { cluster_name: 'prod', cluster_fingerprint: 'cd'.repeat(32) };
const GB = 1024 ** 3;

const pool = (storage: string, shared: 0 | 1) => ({
  storage,
  type: shared ? 'nfs' : 'dir',
  shared,
  enabled: 1,
  active: 1,
  total_bytes: 100 * GB,
  used_bytes: 10 * GB,
  avail_bytes: 90 * GB,
});

async function rows(ta: TestApp): Promise<{ pools: number; samples: number }> {
  const db = ta.storage.extend((h) => h.db as Kysely<unknown>);
  const count = async (table: string) =>
    Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]!.n);
  return { pools: await count('storage_pools'), samples: await count('storage_samples') };
}

test('an agent rotating storage names keeps only its last list: pools and samples stay bounded', async (t) => {
  const ta = await makeTestApp();
  t.after(() => ta.app.close());
  const a = await ta.register('pve1', FP);
  const b = await ta.register('pve2', FP);
  for (const [n, x] of [
    ['pve1', a],
    ['pve2', b],
  ] as const)
    assert.equal(
      (await ta.post('/api/proxmox/node', x.access, { ...SPEC.node, ...FP, name: n })).status,
      200,
    );
  // pve2 reports one shared storage of the cluster
  const shared = { ...FP, node: 'pve2', storages: [pool('cephfs', 1)] };
  assert.equal((await ta.post('/api/proxmox/storage', b.access, shared)).status, 200);

  for (let round = 0; round < 6; round++) {
    const storages = [];
    for (let i = 0; i < 20; i++) storages.push(pool(`local-${round}-${i}`, 0), pool(`nfs-${round}-${i}`, 1));
    const r = await ta.post('/api/proxmox/storage', a.access, { ...FP, node: 'pve1', storages });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  // before: 20 local + 6 × 20 shared rows (+ cephfs), and a sample for every name ever sent
  assert.deepEqual(await rows(ta), { pools: 41, samples: 41 });
  const read = await ta.pat('read');
  const listed = (await ta.get('/api/storage', read)).json.data as { storage: string }[];
  assert.ok(
    listed.some((s) => s.storage === 'cephfs'),
    'another node’s shared storage stays',
  );
  assert.ok(
    !listed.some((s) => s.storage.startsWith('nfs-4-')),
    'an earlier report’s shared storage is gone',
  );

  // a storage that turns from shared to local is listed once, as local
  const r = await ta.post('/api/proxmox/storage', a.access, {
    ...FP,
    node: 'pve1',
    storages: [pool('nfs-5-0', 0)],
  });
  assert.equal(r.status, 200);
  const after = (await ta.get('/api/storage', read)).json.data as { storage: string; node: string | null }[];
  assert.deepEqual(after.map((s) => [s.storage, s.node]).sort(), [
    ['cephfs', null],
    ['nfs-5-0', 'pve1'],
  ]);
});

test('a sample back-dated beyond the 48 hours kept is not stored', async (t) => {
  const ta = await makeTestApp();
  t.after(() => ta.app.close());
  const a = await ta.register('pve1');
  assert.equal((await ta.post('/api/proxmox/node', a.access, { ...SPEC.node, name: 'pve1' })).status, 200);
  const old = new Date(Date.now() - 3 * 86_400_000).toISOString();
  for (let i = 0; i < 5; i++) {
    const storages = [pool('local', 0)];
    const collected_at = new Date(Date.parse(old) - i * 60_000).toISOString();
    const r = await ta.post('/api/proxmox/storage', a.access, { node: 'pve1', collected_at, storages });
    assert.equal(r.status, 200);
  }
  // before: five samples three days old, which no later report's 48-hour cutoff would have pruned
  assert.deepEqual(await rows(ta), { pools: 1, samples: 0 });
});

test('a fresh agent’s first storage or operations report counts against the cluster and node quotas', async (t) => {
  const ta = await makeTestApp({ quotas: { clusters: 1, nodes: 10, guests: 10 } });
  t.after(() => ta.app.close());
  const read = await ta.pat('read');
  const first = await ta.register('pve1');
  assert.equal(
    (await ta.post('/api/proxmox/node', first.access, { ...SPEC.node, name: 'pve1' })).status,
    200,
  );
  const reports: [string, Record<string, unknown>][] = [
    ['storage', { storages: [pool('local', 0)] }],
    ['backups', { guests: [], failed_tasks: [] }],
    ['replication', { jobs: [] }],
    ['ha', { nodes: [], resources: [] }],
  ];
  for (const [kind, body] of reports) {
    // each a new standalone node: a second cluster, over the quota of one
    const x = await ta.register(`pve-${kind}`);
    const r = await ta.post(`/api/proxmox/${kind}`, x.access, { node: `pve-${kind}`, ...body });
    assert.equal(r.status, 403, `${kind}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.error, 'quota_exceeded');
    assert.match(String(r.json.error_description), /NANNYAPI_QUOTA_CLUSTERS/);
  }
  const nodes = (await ta.get('/api/nodes', read)).json.data as { name: string }[];
  assert.deepEqual(
    nodes.map((n) => n.name),
    ['pve1'],
  );
  // the stored node's own storage report still goes through
  const ok = await ta.post('/api/proxmox/storage', first.access, {
    node: 'pve1',
    storages: [pool('local', 0)],
  });
  assert.equal(ok.status, 200);
});

for (const d of DIALECTS) {
  test(`a config map changed on every report keeps a bounded history per guest (${d.name})`, async (t) => {
    const opened = await d.open();
    if (!requires(t, 'postgres', opened !== undefined, d.skipReason) || !opened) return;
    t.after(opened.cleanup);
    const ta = await makeTestApp({}, { storage: opened.storage });
    t.after(() => ta.app.close());
    const a = await ta.register('pve-node-01');
    assert.equal((await ta.post('/api/proxmox/node', a.access, SPEC.node)).status, 200);
    const db = ta.storage.extend((h) => h.db as Kysely<unknown>);
    const history = async () => {
      const r = await sql<{ n: number | string; bytes: number | string | null }>`
        select count(*) as n, sum(length(config) + coalesce(length(diff), 0)) as bytes
        from guest_config_versions`.execute(db);
      return { versions: Number(r.rows[0]!.n), bytes: Number(r.rows[0]!.bytes ?? 0) };
    };
    // each report: 6 values of 60 KB, all changed — a 360 KB map and a 720 KB diff per version
    for (let i = 0; i < 8; i++) {
      const config: Record<string, string> = { hostname: 'web' };
      for (let k = 0; k < 6; k++) config[`description${k}`] = `${i}`.padEnd(60_000, 'y');
      const r = await ta.post('/api/proxmox/lxc', a.access, { ...SPEC.lxc, config });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
    const h = await history();
    // before: 8 versions, ~5.4 MB; now what fits the budget plus the latest version
    assert.ok(h.bytes <= CONFIG_HISTORY_BYTES + 1_100_000, `${h.versions} versions, ${h.bytes} bytes`);
    assert.ok(h.versions >= 1 && h.versions < 8, `${h.versions} versions`);
    // the latest version is the one the guest answers with, and a small change is still a diff
    const read = await ta.pat('read');
    const g = (await ta.get('/api/guests', read)).json.data as { id: string }[];
    const small = { hostname: 'web2' };
    assert.equal((await ta.post('/api/proxmox/lxc', a.access, { ...SPEC.lxc, config: small })).status, 200);
    const detail = (await ta.get(`/api/guests/${g[0]!.id}`, read)).json.data as Record<string, unknown>;
    assert.match(JSON.stringify(detail), /web2/);
  });
}

test('an operations report is stored with the fields its schema knows, nested ones included', async (t) => {
  const ta = await makeTestApp();
  t.after(() => ta.app.close());
  const a = await ta.register('pve1');
  assert.equal((await ta.post('/api/proxmox/node', a.access, { ...SPEC.node, name: 'pve1' })).status, 200);
  const junk = 'j'.repeat(300_000);
  const body = {
    node: 'pve1',
    junk,
    guests: [
      { vmid: 100, covered: true, junk, last_success: { at: 1_700_000_000, upid: 'UPID:pve1:1', junk: 'x' } },
    ],
    failed_tasks: [],
  };
  const r = await ta.post('/api/proxmox/backups', a.access, body);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const db = ta.storage.extend((h) => h.db as Kysely<unknown>);
  const stored = await sql<{ payload: string }>`select payload from ops_reports`.execute(db);
  // before: the 600 KB of unknown fields were stored as sent
  assert.ok(stored.rows[0]!.payload.length < 2000, `${stored.rows[0]!.payload.length} bytes stored`);
  const read = await ta.pat('read');
  const backups = (await ta.get('/api/backups', read)).json.data as { guests: { vmid: number }[] };
  assert.deepEqual(
    backups.guests.map((g) => g.vmid),
    [100],
  );
});

test('a cluster report naming new members every time does not grow the membership table', async (t) => {
  const ta = await makeTestApp({ quotas: { clusters: 10, nodes: 20, guests: 10 } });
  t.after(() => ta.app.close());
  const a = await ta.register('pve1', FP);
  assert.equal(
    (await ta.post('/api/proxmox/node', a.access, { ...SPEC.node, ...FP, name: 'pve1' })).status,
    200,
  );
  const db = ta.storage.extend((h) => h.db as Kysely<unknown>);
  const memberRows = async () =>
    Number((await sql<{ n: number }>`select count(*) as n from membership_nodes`.execute(db)).rows[0]!.n);
  for (let round = 0; round < 5; round++) {
    const members = [{ name: 'pve1', node_id: 1, online: 1 }];
    for (let i = 0; i < 50; i++) members.push({ name: `fake-${round}-${i}`, node_id: i + 2, online: i % 2 });
    const body = { ...SPEC.cluster, ...FP, reporting_node: 'pve1', quorate: 1, members };
    const r = await ta.post('/api/proxmox/cluster', a.access, body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  // before: 1 + 5 × 50 rows, past the node quota of 20; now the names of the current view only
  assert.equal(await memberRows(), 51);
  const read = await ta.pat('read');
  const clusters = (await ta.get('/api/clusters', read)).json.data as { id: string }[];
  const m = (await ta.get(`/api/clusters/${clusters[0]!.id}/membership`, read)).json.data as {
    nodes: { name: string }[];
  };
  assert.ok(m.nodes.some((n) => n.name === 'pve1'));
  assert.ok(!m.nodes.some((n) => n.name.startsWith('fake-3-')), 'an older view’s names are gone');
  assert.ok(m.nodes.some((n) => n.name.startsWith('fake-4-')));
});
