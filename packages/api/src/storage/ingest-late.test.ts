/**
 * Issue 14, current-state rows: a replica that stalled with a report in hand commits it after a
 * newer report of the same node, guest or cluster went through another replica. The late report
 * changes no column of the row, records no event, derives nothing, judges no guest gone and comes
 * back `stale` (no facts for the alert engine); its history sample is still stored. The same
 * receive time again is a replay, applied as before (it changes nothing). The statement guards on
 * PostgreSQL are tested with a newer report that another transaction commits while a batch waits.
 */
import { requires, test, waitFor } from '@nanny/testing';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import pg from 'pg';
import type { Kysely } from 'kysely';
import { DIALECTS, clusterAgents, pgQuery } from './testing.ts';
import { createOpsReportStore } from './ops-reports.ts';
import type { IngestApplied, IngestJob, IngestOutcome, Storage } from './storage.ts';
import type { CoreDatabase } from './types.ts';

const FP = 'feed0000feed0000feed0000feed0000';
const T0 = Date.parse('2026-12-01T10:00:00Z');
const iso = (s: number): string => new Date(T0 + s * 1000).toISOString();
const GB = 1024 ** 3;

async function fleet(storage: Storage) {
  const { tenantId, agents } = await clusterAgents(storage, 'late-rows', ['pve1', 'pve2'], FP, iso(0));
  const job = (
    kind: IngestJob['kind'],
    payload: Record<string, unknown>,
    at: number,
    from = 'pve1',
  ): IngestJob => ({
    tenantId,
    agentId: agents[from] as string,
    tokenVersion: 1,
    kind,
    payload: { cluster_fingerprint: FP, cluster_name: 'prod', ...payload },
    receivedAt: iso(at),
  });
  /** pve1's node report: its uptime grows with the receive time, on `version` */
  const node = (at: number, version: string, extra: Record<string, unknown> = {}) =>
    job(
      'node',
      {
        name: 'pve1',
        pve_version: version,
        uptime_seconds: 1000 + at,
        cpu_usage_ratio: at / 1000,
        collected_at: iso(at),
        ...extra,
      },
      at,
    );
  const guest = (vmid: number, at: number, status: string, cores: number) =>
    job(
      'lxc',
      {
        vmid,
        node: 'pve1',
        status,
        name: `ct${vmid}`,
        uptime: status === 'running' ? 500 + at : 0,
        cpu_usage_ratio: at / 1000,
        collected_at: iso(at),
        config: { cores, memory: 512 },
      },
      at,
    );
  const ingest = async (jobs: IngestJob[]): Promise<IngestApplied[]> => {
    const out: IngestOutcome[] = await storage.ingest(jobs);
    for (const o of out) assert.ok(o.ok, JSON.stringify(o));
    return out as IngestApplied[];
  };
  const events = async () =>
    (await storage.listEvents(tenantId, { limit: 500, offset: 0 })).data.map(
      (e) => `${e.type} ${e.message} ${e.received_at}`,
    );
  const guestRow = async (clusterId: string, vmid: number) => {
    const g = (
      await storage.listGuests(tenantId, { clusterId, includeGone: true, limit: 50, offset: 0 })
    ).data.find((x) => x.vmid === vmid);
    assert.ok(g, `guest ${vmid}`);
    const d = await storage.getGuest(tenantId, g.id);
    assert.ok(d);
    return d;
  };
  const guestState = async (clusterId: string, vmid: number) => {
    const d = await guestRow(clusterId, vmid);
    return {
      row: [d.status, d.gone, d.uptime_seconds, d.last_seen, d.collected_at],
      report: d.report['status'],
      changes: d.status_changes.map((c) => `${c.ts} ${c.from_status ?? '-'}→${c.to_status}`),
      versions: d.config_versions.map((v) => `${v.ts} ${v.config_hash}`),
    };
  };
  const guestSamples = async (guestId: string) =>
    (
      (await storage.guestHistory(tenantId, guestId, {
        from: iso(-60),
        to: iso(600),
        resolution: 'raw',
        limit: 100,
      })) ?? []
    ).map((p) => `${p.ts} ${p.cpu_avg}`);
  const nodeState = async (nodeId: string) => {
    const n = await storage.getNode(tenantId, nodeId);
    assert.ok(n);
    return [n.pve_version, n.uptime_seconds, n.cpu_usage_ratio, n.last_seen, n.last_report, n.collected_at];
  };
  const nodeSamples = async (nodeId: string) =>
    (await storage.nodeSamples(tenantId, nodeId, iso(-60), iso(600), 100)).map(
      (s) => `${s.ts} ${s.cpu_usage_ratio}`,
    );
  const agentSeen = async (from = 'pve1') => (await storage.agentById(agents[from] as string))?.last_seen_at;
  /** a node's storage report: `pools` maps a storage to its used GB (`shared` ones are the cluster's) */
  const storageReport = (at: number, pools: Record<string, number>, from = 'pve1', shared: string[] = []) =>
    job(
      'storage',
      {
        node: from,
        collected_at: iso(at),
        storages: Object.entries(pools).map(([name, used]) => ({
          storage: name,
          type: shared.includes(name) ? 'nfs' : 'dir',
          shared: shared.includes(name) ? 1 : 0,
          enabled: 1,
          active: 1,
          total_bytes: 100 * GB,
          used_bytes: used * GB,
          avail_bytes: (100 - used) * GB,
        })),
      },
      at,
      from,
    );
  /** `node/storage used-GB updated-at reported-by`, sorted */
  const pools = async () =>
    (await storage.listStoragePools(tenantId, {})).map(
      (p) => `${p.node ?? ''}/${p.storage} ${Number(p.used_bytes) / GB} ${p.updated_at} ${p.reported_by}`,
    );
  const storageSamples = async () =>
    (
      await storage
        .extend((h) => h.db as Kysely<CoreDatabase>)
        .selectFrom('storage_samples')
        .select(['node', 'storage', 'ts'])
        .orderBy('node')
        .orderBy('storage')
        .orderBy('ts')
        .execute()
    ).map((r) => `${r.node}/${r.storage} ${r.ts}`);
  const ops = storage.extend(createOpsReportStore);
  /** the stored report of a kind: `reporter received-at marker` */
  const opsLatest = async (kind: string) =>
    (await ops.latest(tenantId, kind)).map(
      (r) => `${r.reporter} ${r.received_at} ${String(r.payload['marker'])}`,
    );
  return {
    tenantId,
    job,
    node,
    guest,
    ingest,
    events,
    guestRow,
    guestState,
    guestSamples,
    nodeState,
    nodeSamples,
    agentSeen,
    storageReport,
    pools,
    storageSamples,
    opsLatest,
  };
}

type Fleet = Awaited<ReturnType<typeof fleet>>;

/**
 * pve1's cycles at 0 and 60 (upgraded 8.2.4 → 8.3.0 in between) with ct101 reported at 1 and 31:
 * the cycle-30 node report, received at 30 by a replica that stalled, is not committed yet.
 */
async function nodeStory(f: Fleet) {
  const [first] = await f.ingest([f.node(0, '8.2.4')]);
  await f.ingest([f.guest(101, 1, 'running', 1)]);
  await f.ingest([f.guest(101, 31, 'running', 1)]);
  await f.ingest([f.node(60, '8.3.0')]);
  return { clusterId: first!.clusterId, nodeId: first!.nodeId! };
}

/** ct101 running (cores 1) at 1, stopped at 20, running (cores 2) at 40 */
async function guestStory(f: Fleet) {
  const [n] = await f.ingest([f.node(0, '8.3.0')]);
  await f.ingest([f.guest(101, 1, 'running', 1)]);
  await f.ingest([f.guest(102, 1, 'running', 1)]);
  await f.ingest([f.guest(101, 20, 'stopped', 1)]);
  await f.ingest([f.guest(101, 40, 'running', 2)]);
  return { clusterId: n!.clusterId };
}

for (const d of DIALECTS) {
  const open = async (t: TestContext) => {
    const opened = await d.open();
    if (!requires(t, 'postgres', opened !== undefined, d.skipReason) || !opened) return undefined;
    t.after(opened.cleanup);
    return opened;
  };

  test(`${d.name}: a node report received before the stored one changes no column, records no event, judges no guest gone; its sample is stored`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const { clusterId, nodeId } = await nodeStory(f);
    const before = {
      node: await f.nodeState(nodeId),
      events: await f.events(),
      guest: await f.guestState(clusterId, 101),
      report: await opened.storage.nodeReport(f.tenantId, nodeId),
    };
    assert.deepEqual(before.node, ['8.3.0', 1060, 0.06, iso(60), iso(60), iso(60)]);
    // the cycle-30 report: lower uptime, the version before the upgrade, and its cycle would
    // judge ct101 (last seen at 31, before the stored cycle's start at 60) gone
    const [late] = await f.ingest([f.node(30, '8.2.4')]);
    assert.equal(late?.stale, true);
    assert.equal(late?.nodeId, nodeId);
    assert.deepEqual(late?.events, []);
    assert.deepEqual(await f.nodeState(nodeId), before.node);
    assert.deepEqual(await opened.storage.nodeReport(f.tenantId, nodeId), before.report);
    assert.deepEqual(await f.events(), before.events);
    assert.deepEqual(await f.guestState(clusterId, 101), before.guest);
    assert.deepEqual(await f.nodeSamples(nodeId), [`${iso(0)} 0`, `${iso(30)} 0.03`, `${iso(60)} 0.06`]);
    assert.equal(await f.agentSeen(), iso(60));
  });

  test(`${d.name}: a late node report in a batch is late there too, and its neighbours apply`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const { clusterId, nodeId } = await nodeStory(f);
    const before = { node: await f.nodeState(nodeId), events: await f.events() };
    const out = await f.ingest([
      f.guest(101, 61, 'stopped', 1),
      f.node(30, '8.2.4'),
      f.guest(102, 62, 'running', 1),
    ]);
    assert.deepEqual(
      out.map((o) => [o.stale ?? false, o.events.map((e) => e.type)]),
      [
        [false, ['status_changed']],
        [true, []],
        [false, ['first_seen']],
      ],
    );
    assert.deepEqual(await f.nodeState(nodeId), before.node);
    assert.equal((await f.guestState(clusterId, 101)).row[0], 'stopped');
    assert.equal(await f.agentSeen(), iso(62));
  });

  test(`${d.name}: a guest report received before the stored one changes no column, status history or config version; its sample is stored`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const { clusterId } = await guestStory(f);
    const before = { guest: await f.guestState(clusterId, 101), events: await f.events() };
    assert.deepEqual(before.guest.row, ['running', false, 540, iso(40), iso(40)]);
    // received at 30 (stopped, the old config), committed after the report of 40
    const [late] = await f.ingest([f.guest(101, 30, 'stopped', 1)]);
    assert.equal(late?.stale, true);
    assert.deepEqual(late?.events, []);
    assert.deepEqual(await f.guestState(clusterId, 101), before.guest);
    assert.deepEqual(await f.events(), before.events);
    const g = await f.guestRow(clusterId, 101);
    assert.equal(late?.guestId, g.id);
    assert.deepEqual(await f.guestSamples(g.id), [
      `${iso(1)} 0.001`,
      `${iso(20)} 0.02`,
      `${iso(30)} 0.03`,
      `${iso(40)} 0.04`,
    ]);
    assert.equal(await f.agentSeen(), iso(40));
  });

  test(`${d.name}: a late guest report in a batch with other reports, and after its newer one in the same batch, changes nothing`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const { clusterId } = await guestStory(f);
    const before = { g101: await f.guestState(clusterId, 101), events: await f.events() };
    const out = await f.ingest([
      f.guest(102, 41, 'stopped', 1),
      f.guest(101, 30, 'stopped', 1),
      f.guest(103, 42, 'running', 1),
      // ct102: its newer report first in the batch, then one received before it
      f.guest(102, 35, 'running', 3),
    ]);
    assert.deepEqual(
      out.map((o) => [o.stale ?? false, o.events.map((e) => e.type)]),
      [
        [false, ['status_changed']],
        [true, []],
        [false, ['first_seen']],
        [true, []],
      ],
    );
    assert.deepEqual(await f.guestState(clusterId, 101), before.g101);
    const g102 = await f.guestState(clusterId, 102);
    assert.deepEqual(g102.row, ['stopped', false, 0, iso(41), iso(41)]);
    assert.equal(g102.report, 'stopped');
    assert.deepEqual(g102.changes, [`${iso(41)} running→stopped`, `${iso(1)} -→running`]);
    assert.equal(g102.versions.length, 1);
    assert.equal(await f.agentSeen(), iso(42));
  });

  test(`${d.name}: a guest report received before its node's cycle judged it gone does not bring it back`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const [n] = await f.ingest([f.node(0, '8.3.0')]);
    await f.ingest([f.guest(101, 1, 'running', 1)]);
    await f.ingest([f.node(60, '8.3.0')]);
    await f.ingest([f.node(120, '8.3.0')]); // ct101 missed the cycle of 60: gone at 120
    const before = { guest: await f.guestState(n!.clusterId, 101), events: await f.events() };
    assert.equal(before.guest.row[1], true);
    const [late] = await f.ingest([f.guest(101, 90, 'running', 1)]);
    assert.equal(late?.stale, true);
    assert.deepEqual(await f.guestState(n!.clusterId, 101), before.guest);
    assert.deepEqual(await f.events(), before.events);
  });

  test(`${d.name}: the same receive time again is a replay: applied as before, no event, not stale`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const { clusterId, nodeId } = await nodeStory(f);
    await f.ingest([f.guest(101, 61, 'stopped', 2)]);
    const before = {
      node: await f.nodeState(nodeId),
      guest: await f.guestState(clusterId, 101),
      events: await f.events(),
    };
    const out = await f.ingest([f.node(60, '8.3.0'), f.guest(101, 61, 'stopped', 2)]);
    assert.deepEqual(
      out.map((o) => [o.stale ?? false, o.events]),
      [
        [false, []],
        [false, []],
      ],
    );
    assert.deepEqual(await f.nodeState(nodeId), before.node);
    assert.deepEqual(await f.guestState(clusterId, 101), before.guest);
    assert.deepEqual(await f.events(), before.events);
    assert.deepEqual(await f.nodeSamples(nodeId), [`${iso(0)} 0`, `${iso(60)} 0.06`]);
  });

  test(`${d.name}: a cluster report received before the stored one keeps the row's quorate, node count, version and last seen`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    // an older agent: no reporter, no view (the row is all there is)
    const cluster = (at: number, quorate: number, nodes: number, version: number) =>
      f.job('cluster', { cluster_id: 'cluster', quorate, nodes, version }, at);
    const [c] = await f.ingest([cluster(0, 1, 2, 6)]);
    await f.ingest([cluster(60, 1, 3, 7)]);
    await f.ingest([f.node(70, '8.3.0')]);
    const view = async () => {
      const v = await opened.storage.getCluster(f.tenantId, c!.clusterId);
      return [v?.quorate, v?.nodes, v?.version, v?.last_seen];
    };
    const before = { row: await view(), events: await f.events() };
    assert.deepEqual(before.row, [1, 3, 7, iso(70)]);
    const [late] = await f.ingest([cluster(30, 0, 2, 6)]);
    assert.equal(late?.stale, true);
    assert.deepEqual(await view(), before.row);
    assert.deepEqual(await f.events(), before.events);
    // received after the stored cluster report but before the node report: taken, last seen kept
    const [newer] = await f.ingest([cluster(65, 0, 3, 8)]);
    assert.equal(newer?.stale, undefined);
    assert.deepEqual(await view(), [0, 3, 8, iso(70)]);
    // pve1's node report received at 75, committed after pve2's of 80: taken for pve1's row (its
    // last was 70), and the cluster's last seen stays
    await f.ingest([f.job('node', { name: 'pve2', uptime_seconds: 5 }, 80, 'pve2')]);
    const [n] = await f.ingest([f.node(75, '8.3.0')]);
    assert.equal(n?.stale, undefined);
    assert.deepEqual(await view(), [0, 3, 8, iso(80)]);
  });

  test(`${d.name}: a late cluster report whose reporter's view is newer is taken for the view, not for the row`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const report = (from: string, at: number, nodes: number, sees: string[]) =>
      f.job(
        'cluster',
        {
          cluster_id: 'cluster',
          quorate: 1,
          nodes,
          version: nodes,
          reporting_node: from,
          collected_at: iso(at),
          members: ['pve1', 'pve2'].map((name, i) => ({
            name,
            node_id: i + 1,
            online: sees.includes(name) ? 1 : 0,
            local: name === from ? 1 : 0,
          })),
        },
        at,
        from,
      );
    const [c] = await f.ingest([report('pve2', 0, 2, ['pve1', 'pve2'])]);
    await f.ingest([report('pve1', 60, 3, ['pve1', 'pve2'])]);
    // pve2's report received at 50 (its own view is of 0: newer), committed after pve1's of 60
    const [late] = await f.ingest([report('pve2', 50, 2, ['pve2'])]);
    assert.equal(late?.stale, undefined);
    const v = await opened.storage.getCluster(f.tenantId, c!.clusterId);
    assert.deepEqual([v?.nodes, v?.version], [3, 3]);
    const m = await opened.storage.clusterMembership(f.tenantId, c!.clusterId, iso(61));
    assert.deepEqual(
      m?.views.map((x) => `${x.reporter} ${x.received_at}`),
      [`pve1 ${iso(60)}`, `pve2 ${iso(50)}`],
    );
    // the members' rows follow the newest cluster report (pve1's: both online), as the row does
    const nodes = await opened.storage.listNodes(f.tenantId, { clusterId: c!.clusterId });
    assert.deepEqual(
      nodes.map((n) => `${n.name} ${n.online}`),
      ['pve1 1', 'pve2 1'],
    );
  });

  test(`${d.name}: a storage report received before the node's stored one sets no pool back, brings back no storage, removes none`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    await f.ingest([f.node(0, '8.3.0')]);
    await f.ingest([f.storageReport(0, { local: 10, old: 5 })]);
    // the report of 60: local grew, `old` was removed, `new` added
    await f.ingest([f.storageReport(60, { local: 20, new: 1 })]);
    const before = { pools: await f.pools(), samples: await f.storageSamples() };
    assert.deepEqual(before.pools, [`pve1/local 20 ${iso(60)} pve1`, `pve1/new 1 ${iso(60)} pve1`]);
    // received at 30, committed after the report of 60
    const [late] = await f.ingest([f.storageReport(30, { local: 15, old: 6 })]);
    assert.deepEqual(await f.pools(), before.pools);
    assert.deepEqual(await f.storageSamples(), before.samples);
    assert.equal(late?.stale, true);
    assert.equal(late?.derived, undefined);
    // the same receive time again is a replay: taken, and it changes nothing
    const [again] = await f.ingest([f.storageReport(60, { local: 20, new: 1 })]);
    assert.equal(again?.stale, undefined);
    assert.deepEqual(await f.pools(), before.pools);
  });

  test(`${d.name}: a shared storage's row keeps the newer report another node stored`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    await f.ingest([f.node(0, '8.3.0')]);
    await f.ingest([f.storageReport(60, { local: 20, nfs: 40 }, 'pve1', ['nfs'])]);
    // pve2's first storage report, received at 30 and committed after pve1's of 60: its own local
    // storage is taken, the shared one stays as pve1 reported it at 60
    const [r] = await f.ingest([f.storageReport(30, { local: 3, nfs: 35 }, 'pve2', ['nfs'])]);
    assert.equal(r?.stale, undefined);
    assert.deepEqual(await f.pools(), [
      `/nfs 40 ${iso(60)} pve1`,
      `pve1/local 20 ${iso(60)} pve1`,
      `pve2/local 3 ${iso(30)} pve2`,
    ]);
    // pve2's next report is newer: it takes the shared row
    await f.ingest([f.storageReport(90, { local: 3, nfs: 41 }, 'pve2', ['nfs'])]);
    assert.ok((await f.pools()).includes(`/nfs 41 ${iso(90)} pve2`));
  });

  test(`${d.name}: an operations report received before the stored one of its kind is not kept; HA orders by the manager's timestamp first`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const backups = (at: number) =>
      f.job('backups', { node: 'pve1', marker: at, guests: [], failed_tasks: [], collected_at: iso(at) }, at);
    const ha = (from: string, at: number, version: number) =>
      f.job(
        'ha',
        {
          node: from,
          marker: at,
          manager_timestamp: version,
          nodes: [],
          resources: [],
          collected_at: iso(at),
        },
        at,
        from,
      );
    await f.ingest([f.node(0, '8.3.0'), f.job('node', { name: 'pve2', uptime_seconds: 5 }, 0, 'pve2')]);
    await f.ingest([backups(60)]);
    const [late] = await f.ingest([backups(30)]);
    assert.deepEqual(await f.opsLatest('backups'), [`pve1 ${iso(60)} 60`]);
    assert.equal(late?.stale, true);
    const [replay] = await f.ingest([backups(60)]);
    assert.equal(replay?.stale, undefined);
    await f.ingest([ha('pve1', 60, 1000)]);
    const out = await f.ingest([
      // pve2's view of the same manager state, received before pve1's: late
      ha('pve2', 30, 1000),
      // pve1's view of an older manager state, received after: stale, as before
      ha('pve1', 70, 990),
    ]);
    assert.deepEqual(
      out.map((o) => o.stale),
      [true, true],
    );
    assert.deepEqual(await f.opsLatest('ha'), [`pve1 ${iso(60)} 60`]);
    // pve2 had seen a newer manager state, whatever its receive time: taken
    const [newer] = await f.ingest([ha('pve2', 40, 1010)]);
    assert.equal(newer?.stale, undefined);
    assert.deepEqual(await f.opsLatest('ha'), [`pve2 ${iso(40)} 40`]);
  });

  // PostgreSQL only: only there can another transaction commit a newer report between a batch's
  // read of a row and its write (read committed).
  if (d.name !== 'postgres') continue;

  /**
   * Another replica's transaction writes `sql` (a newer report of the row) and holds it uncommitted
   * while `ingest` reads the row as it was and then waits on it; the commit lands before the write.
   */
  const race = async (
    t: TestContext,
    opened: NonNullable<Awaited<ReturnType<typeof open>>>,
    sql: string,
    params: unknown[],
    ingest: () => Promise<IngestApplied[]>,
  ) => {
    const other = new pg.Client({
      connectionString: opened.databaseUrl,
      options: `-c search_path=${opened.pgSchema}`,
    });
    await other.connect();
    t.after(() => other.end());
    const pid = (await other.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    await other.query('begin');
    await other.query(sql, params);
    const running = ingest();
    await waitFor(
      async () =>
        (
          await pgQuery<{ n: number }>(
            opened.pgSchema!,
            'select count(*)::int as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))',
            [pid],
          )
        )[0]!.n > 0,
      { what: 'the batch waiting on the newer uncommitted report' },
    );
    await other.query('commit');
    return running;
  };

  test(`${d.name}: a node report whose row another replica updates with a newer report meanwhile is late`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const { nodeId } = await nodeStory(f);
    const [late] = await race(
      t,
      opened,
      "update nodes set pve_version = '8.4.0', last_report_at = $2, last_seen_at = $2 where id = $1",
      [nodeId, iso(90)],
      () => f.ingest([f.node(80, '8.3.0')]),
    );
    assert.equal(late?.stale, true);
    assert.deepEqual(late?.events, []);
    const [version, , , seen, report] = await f.nodeState(nodeId);
    assert.deepEqual([version, seen, report], ['8.4.0', iso(90), iso(90)]);
  });

  test(`${d.name}: a guest update whose row another replica writes with a newer report meanwhile keeps that row`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const { clusterId } = await guestStory(f);
    await race(
      t,
      opened,
      "update guests set status = 'paused', last_seen_at = $2 where cluster_id = $1 and vmid = 101",
      [clusterId, iso(90)],
      () => f.ingest([f.guest(101, 80, 'running', 2), f.guest(102, 80, 'stopped', 1)]),
    );
    assert.deepEqual((await f.guestState(clusterId, 101)).row.slice(0, 4), ['paused', false, 540, iso(90)]);
    assert.equal((await f.guestState(clusterId, 102)).row[0], 'stopped');
  });

  test(`${d.name}: a guest report whose row another replica writes with a newer report meanwhile is late: no report text, status change or config version of it`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const { clusterId } = await guestStory(f);
    const before = { g101: await f.guestState(clusterId, 101), events: await f.events() };
    // ct101's report received at 80 (paused, cores 3) read the row of 40 (running, cores 2); the
    // report of 90 another replica commits meanwhile makes it late: the batch runs again and
    // keeps nothing of it but its sample. ct102 in the same batch applies once.
    const out = await race(
      t,
      opened,
      'update guests set last_seen_at = $2, collected_at = $2 where cluster_id = $1 and vmid = 101',
      [clusterId, iso(90)],
      () => f.ingest([f.guest(101, 80, 'paused', 3), f.guest(102, 80, 'stopped', 1)]),
    );
    assert.deepEqual(await f.guestState(clusterId, 101), {
      ...before.g101,
      row: ['running', false, 540, iso(90), iso(90)],
    });
    assert.deepEqual(
      out.map((o) => [o.stale ?? false, o.events.map((e) => e.type)]),
      [
        [true, []],
        [false, ['status_changed']],
      ],
    );
    const g102 = await f.guestState(clusterId, 102);
    assert.deepEqual(g102.changes, [`${iso(80)} running→stopped`, `${iso(1)} -→running`]);
    assert.deepEqual(
      (await f.events()).filter((e) => !before.events.includes(e)),
      [`status_changed lxc 102 (ct102) running → stopped ${iso(80)}`],
    );
    const g = await f.guestRow(clusterId, 101);
    assert.ok((await f.guestSamples(g.id)).includes(`${iso(80)} 0.08`));
  });

  test(`${d.name}: a guest report whose row another replica's node cycle marks gone meanwhile does not bring it back`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const { clusterId } = await guestStory(f);
    const before = await f.guestState(clusterId, 101);
    // the node's cycle of 90 judged ct101 gone (another replica); its report of 80 commits after
    const out = await race(
      t,
      opened,
      'update guests set gone_at = $2 where cluster_id = $1 and vmid = 101',
      [clusterId, iso(90)],
      () => f.ingest([f.guest(101, 80, 'paused', 3)]),
    );
    assert.equal(out[0]?.stale, true);
    assert.deepEqual(await f.guestState(clusterId, 101), {
      ...before,
      row: ['running', true, 540, iso(40), iso(40)],
    });
  });

  test(`${d.name}: a cluster report whose row another replica updates with a newer report meanwhile is late`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const cluster = (at: number, nodes: number) =>
      f.job('cluster', { cluster_id: 'cluster', quorate: 1, nodes, version: nodes }, at);
    const [c] = await f.ingest([cluster(0, 2)]);
    const [late] = await race(
      t,
      opened,
      'update clusters set nodes = 5, last_report_at = $2, last_seen_at = $2 where id = $1',
      [c!.clusterId, iso(90)],
      () => f.ingest([cluster(80, 3)]),
    );
    assert.equal(late?.stale, true);
    const v = await opened.storage.getCluster(f.tenantId, c!.clusterId);
    assert.deepEqual([v?.nodes, v?.last_seen], [5, iso(90)]);
  });

  test(`${d.name}: a storage report of a node another replica stores a newer storage report of meanwhile is late`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const [n] = await f.ingest([f.node(0, '8.3.0')]);
    await f.ingest([f.storageReport(0, { local: 10 })]);
    // the report of 90 through another replica: what its batch writes first (the node's storage
    // report time), then its pool
    const [late] = await race(
      t,
      opened,
      'with n as (update nodes set storage_report_at = $2 where id = $1 returning cluster_id) ' +
        "update storage_pools set used_bytes = $3, updated_at = $2 where cluster_id = (select cluster_id from n) and node = 'pve1' and storage = 'local'",
      [n!.nodeId, iso(90), 50 * GB],
      () => f.ingest([f.storageReport(80, { local: 30, extra: 1 })]),
    );
    assert.deepEqual(await f.pools(), [`pve1/local 50 ${iso(90)} pve1`]);
    assert.equal(late?.stale, true);
  });

  const opsReport = (f: Fleet, kind: IngestJob['kind'], at: number) =>
    f.job(kind, { node: 'pve1', marker: at, guests: [], failed_tasks: [], jobs: [] }, at);

  test(`${d.name}: an operations report whose row another replica writes with a newer report meanwhile is late`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const [n] = await f.ingest([f.node(0, '8.3.0')]);
    await f.ingest([opsReport(f, 'backups', 10)]);
    const [late] = await race(
      t,
      opened,
      "update ops_reports set received_at = $2, payload = $3 where cluster_id = $1 and kind = 'backups'",
      [n!.clusterId, iso(90), JSON.stringify({ marker: 90 })],
      () => f.ingest([opsReport(f, 'backups', 80)]),
    );
    assert.deepEqual(await f.opsLatest('backups'), [`pve1 ${iso(90)} 90`]);
    assert.equal(late?.stale, true);
  });

  test(`${d.name}: the first operations report of a kind whose row another replica inserts with a newer report meanwhile is late, not an error`, async (t) => {
    const opened = await open(t);
    if (!opened) return;
    const f = await fleet(opened.storage);
    const [n] = await f.ingest([f.node(0, '8.3.0')]);
    const [late] = await race(
      t,
      opened,
      'insert into ops_reports (tenant_id, cluster_id, node, kind, reporter, received_at, payload) ' +
        "values ($1, $2, 'pve1', 'replication', 'pve1', $3, $4)",
      [f.tenantId, n!.clusterId, iso(90), JSON.stringify({ marker: 90 })],
      () => f.ingest([opsReport(f, 'replication', 80)]),
    );
    assert.deepEqual(await f.opsLatest('replication'), [`pve1 ${iso(90)} 90`]);
    assert.equal(late?.stale, true);
  });
}
