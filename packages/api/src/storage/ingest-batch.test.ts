/**
 * Set-based ingest (ingest-batch.ts): a batch reads its guests in one statement and writes the
 * steady-state updates in one statement per table. Whatever lands in one batch must leave the same
 * rows and events as the same reports one per batch.
 */
import { after, before, describe } from 'node:test';
import { requires, test, waitFor } from '@nanny/testing';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { PayloadKind } from '@nanny/schema';
import { DIALECTS, pgQuery } from './testing.ts';
import type {
  Agent,
  IngestApplied,
  IngestJob,
  IngestOutcome,
  QueueRows,
  Storage,
  Tenant,
} from './storage.ts';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

/** a statement a pg client was asked to send: its text, and its name when it is a named statement */
interface Sent {
  text: string;
  name?: string;
}

/** the statements every pg client sends while `fn` runs (the pool's clients are pg.Clients) */
async function pgStatements(fn: () => Promise<unknown>): Promise<Sent[]> {
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  const sent: Sent[] = [];
  proto.query = function (this: unknown, ...a: unknown[]) {
    const q = a[0] as string | { text: string; name?: string };
    sent.push(typeof q === 'string' ? { text: q } : { text: q.text, ...(q.name ? { name: q.name } : {}) });
    return original.apply(this, a);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return sent;
}
const countPgStatements = async (fn: () => Promise<unknown>): Promise<number> =>
  (await pgStatements(fn)).length;

for (const dialect of DIALECTS) {
  describe(`set-based ingest on ${dialect.name}`, () => {
    let opened: Awaited<ReturnType<typeof dialect.open>>;
    let s: Storage;
    let tenant: Tenant;
    before(async () => {
      opened = await dialect.open();
      if (!opened) return;
      s = opened.storage;
      tenant = await s.ensureTenant('default', new Date().toISOString());
    });
    after(async () => opened?.cleanup());
    const skip = (t: { skip: (m?: string) => void }) =>
      !requires(t, 'postgres', opened !== undefined, dialect.skipReason);
    let n = 0;
    const agent = () =>
      s.createAgent({
        tenant_id: tenant.id,
        hostname: `batch-${++n}`,
        cluster_name: null,
        cluster_fingerprint: null,
        agent_version: null,
        pve_version: null,
        created_at: new Date().toISOString(),
      });
    const job = (a: Agent, kind: PayloadKind, payload: Record<string, unknown>, m: number): IngestJob => ({
      tenantId: a.tenant_id,
      agentId: a.id,
      tokenVersion: a.token_version,
      kind,
      payload,
      receivedAt: at(m),
    });
    const ok = async (jobs: IngestJob[]) => {
      const out = await s.ingest(jobs);
      for (const o of out) assert.equal(o.ok, true, JSON.stringify(o));
      return out as IngestApplied[];
    };

    test('three cycles in ONE batch: gone, status change and return as if reported one by one', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const cl = { cluster_name: `batch-${dialect.name}`, cluster_fingerprint: '3'.repeat(64) };
      const node = (m: number) => job(a, 'node', { ...cl, name: 'b1' }, m);
      const guest = (vmid: number, m: number, status = 'running') =>
        job(a, 'lxc', { ...cl, vmid, node: 'b1', status, uptime: m * 60, name: `g${vmid}` }, m);
      const out = await ok([
        node(0),
        guest(1, 1),
        guest(2, 1),
        node(5),
        guest(1, 6),
        guest(1, 6, 'stopped'),
        // the node report reads guests by SQL: guest 1's deferred update must be written first,
        // or guest 1 would be judged gone as well
        node(10),
        // guest 2 was marked gone by SQL: the batch must not answer from its stale copy
        guest(2, 11),
        guest(2, 11, 'stopped'),
      ]);
      const types = out.map((o) => o.events.map((e) => e.type));
      assert.deepEqual(types, [
        ['first_seen', 'first_seen'],
        ['first_seen'],
        ['first_seen'],
        [],
        [],
        ['status_changed'],
        ['gone'],
        ['came_back'],
        ['status_changed'],
      ]);
      const list = await s.listGuests(tenant.id, { clusterId: out[0]!.clusterId, limit: 10, offset: 0 });
      assert.deepEqual(
        list.data.map((g) => [g.vmid, g.status, g.gone, g.uptime_seconds, g.last_seen]),
        [
          [1, 'stopped', false, 360, at(6)],
          [2, 'stopped', false, 660, at(11)],
        ],
      );
      const g2 = await s.getGuest(tenant.id, list.data[1]!.id);
      assert.equal(g2?.report['status'], 'stopped');
      assert.deepEqual(g2?.status_changes.map((c) => [c.from_status, c.to_status]).sort(), [
        [null, 'running'],
        ['running', 'stopped'],
      ]);
    });

    test('a batch of many agents and guests marks every agent seen and stores every report', async (t) => {
      if (skip(t)) return;
      const agents = await Promise.all([agent(), agent(), agent()]);
      const cl = { cluster_name: `many-${dialect.name}`, cluster_fingerprint: '4'.repeat(64) };
      const jobs = (m: number) =>
        agents.flatMap((a, i) => [
          job(a, 'node', { ...cl, name: `m${i}` }, m),
          ...[1, 2, 3].map((k) =>
            job(
              a,
              'qemu',
              { ...cl, vmid: 100 * (i + 1) + k, node: `m${i}`, status: 'running', uptime: m },
              m,
            ),
          ),
        ]);
      await ok(jobs(0));
      const out = await ok(jobs(1));
      const guests = await s.listGuests(tenant.id, { clusterId: out[0]!.clusterId, limit: 20, offset: 0 });
      assert.deepEqual(
        guests.data.map((g) => [g.vmid, g.uptime_seconds, g.last_seen]),
        [101, 102, 103, 201, 202, 203, 301, 302, 303].map((v) => [v, 1, at(1)]),
      );
      const listed = await s.listAgents(tenant.id);
      for (const a of agents) assert.equal(listed.find((x) => x.id === a.id)?.last_seen_at, at(1));
    });

    /**
     * One cluster's story: a setup (one report per batch), then a batch mixing a gone guest's node
     * report, known guests (status change, config change, return) and 40 first-seen guests, one of
     * them reported twice (status and config change within the batch).
     */
    const story = (a: Agent, cl: Record<string, unknown>) => {
      const node = (m: number) => job(a, 'node', { ...cl, name: 'b1' }, m);
      const guest = (vmid: number, m: number, extra: Record<string, unknown> = {}) =>
        job(
          a,
          'lxc',
          { ...cl, vmid, node: 'b1', status: 'running', uptime: m * 60, name: `g${vmid}`, ...extra },
          m,
        );
      const setup = [
        node(0),
        guest(1, 1),
        guest(2, 1, { config: { cores: 1, memory: 512 } }),
        guest(3, 1),
        node(5),
        guest(1, 6),
        guest(2, 6, { config: { cores: 1, memory: 512 } }),
      ];
      const mixed = [
        node(10), // guest 3 missed the cycle of minute 5: gone
        guest(1, 11, { status: 'stopped' }),
        guest(2, 11, { config: { cores: 2, memory: 512 } }),
        guest(3, 11),
        ...Array.from({ length: 40 }, (_, k) =>
          guest(100 + k, 11, k % 2 ? { config: { cores: k, net0: `virtio,bridge=vmbr${k}` } } : {}),
        ),
        guest(200, 11, { config: { cores: 1 } }),
        guest(200, 12, { status: 'stopped', config: { cores: 4 } }),
      ];
      return { setup, mixed };
    };
    const stateOf = async (clusterId: string) => {
      const list = await s.listGuests(tenant.id, { clusterId, limit: 100, offset: 0 });
      return Promise.all(
        list.data.map(async (g) => {
          const full = await s.getGuest(tenant.id, g.id);
          return {
            row: [g.vmid, g.status, g.gone, g.uptime_seconds, g.last_seen, g.name],
            report: full?.report['status'],
            changes: full?.status_changes,
            versions: full?.config_versions,
          };
        }),
      );
    };
    const eventsOf = (out: IngestOutcome[]) =>
      out.map((o) => (o.ok ? o.events.map((e) => [e.type, e.message, e.data]) : o));

    test('new, known and gone guests in ONE batch leave the rows and events of one report per batch', async (t) => {
      if (skip(t)) return;
      const one = await agent();
      const each = await agent();
      const a = story(one, { cluster_name: `one-${dialect.name}`, cluster_fingerprint: '5'.repeat(64) });
      const b = story(each, { cluster_name: `each-${dialect.name}`, cluster_fingerprint: '6'.repeat(64) });
      for (const j of a.setup) await ok([j]);
      for (const j of b.setup) await ok([j]);
      const batched = await ok(a.mixed);
      const single: IngestApplied[] = [];
      for (const j of b.mixed) single.push(...(await ok([j])));
      assert.deepEqual(eventsOf(batched), eventsOf(single));
      assert.equal(batched.filter((o) => o.events.some((e) => e.type === 'first_seen')).length, 41);
      const got = await stateOf(batched[0]!.clusterId);
      assert.equal(got.length, 44);
      assert.deepEqual(got, await stateOf(single[0]!.clusterId));
      const g200 = got.find((g) => g.row[0] === 200)!;
      assert.deepEqual(g200.row, [200, 'stopped', false, 720, at(12), 'g200']);
      assert.deepEqual(
        g200.changes?.map((c) => [c.from_status, c.to_status]),
        [
          ['running', 'stopped'],
          [null, 'running'],
        ],
      );
      assert.deepEqual(g200.versions?.[0]?.diff, { added: {}, removed: {}, changed: { cores: [1, 4] } });
    });

    test('batches of guest reports alone leave the rows and events of one report per batch', async (t) => {
      if (skip(t)) return;
      // On PostgreSQL such batches are applied outside a transaction first (ingest.ts): known guests
      // only close in one statement, new guests in a transaction, and a known guest's config change
      // (its previous version is read) sends the batch back to a transaction from the start.
      const one = await agent();
      const each = await agent();
      const a = story(one, { cluster_name: `alone-${dialect.name}`, cluster_fingerprint: '9'.repeat(64) });
      const b = story(each, { cluster_name: `each1-${dialect.name}`, cluster_fingerprint: 'a'.repeat(64) });
      for (const j of a.setup) await ok([j]);
      for (const j of b.setup) await ok([j]);
      // the story's mixed batch without its node report, in three batches
      const split = (mixed: IngestJob[]) => {
        const vmid = (j: IngestJob) => Number(j.payload['vmid']);
        const guests = mixed.filter((j) => j.kind !== 'node');
        return [
          guests.filter((j) => vmid(j) === 1 || vmid(j) === 3),
          guests.filter((j) => vmid(j) >= 100),
          guests.filter((j) => vmid(j) === 2),
        ];
      };
      const batched: IngestApplied[] = [];
      for (const jobs of split(a.mixed)) batched.push(...(await ok(jobs)));
      const single: IngestApplied[] = [];
      for (const jobs of split(b.mixed)) for (const j of jobs) single.push(...(await ok([j])));
      assert.deepEqual(eventsOf(batched), eventsOf(single));
      assert.deepEqual(
        batched.slice(0, 2).map((o) => o.events.map((e) => e.type)),
        [['status_changed'], []],
      );
      for (const e of batched.flatMap((o) => o.events)) assert.ok(Number.isInteger(e.id), 'event id set');
      const got = await stateOf(batched[0]!.clusterId);
      assert.equal(got.length, 44);
      assert.deepEqual(got, await stateOf(single[0]!.clusterId));
      const g2 = got.find((g) => g.row[0] === 2)!;
      assert.deepEqual(g2.versions?.[0]?.diff, { added: {}, removed: {}, changed: { cores: [1, 2] } });
      const g200 = got.find((g) => g.row[0] === 200)!;
      assert.deepEqual(g200.row, [200, 'stopped', false, 720, at(12), 'g200']);
    });

    test('a batch of guest reports alone counts its new guests against the guest quota', async (t) => {
      if (skip(t)) return;
      // an organisation of its own: the quota counts all of its guests
      const org = await s.ensureTenant(`quota-${dialect.name}`, at(0));
      const a = await s.createAgent({
        tenant_id: org.id,
        hostname: 'quota-1',
        cluster_name: null,
        cluster_fingerprint: null,
        agent_version: null,
        pve_version: null,
        created_at: at(0),
      });
      const cl = { cluster_name: 'quota', cluster_fingerprint: 'd'.repeat(64) };
      const quotas = { clusters: 5, nodes: 5, guests: 3 };
      const q = (kind: PayloadKind, payload: Record<string, unknown>, m: number): IngestJob => ({
        ...job(a, kind, { ...cl, ...payload }, m),
        quotas,
      });
      await ok([q('node', { name: 'q1' }, 0)]);
      const guests = (vmids: number[], m: number) =>
        s.ingest(vmids.map((vmid) => q('lxc', { vmid, node: 'q1', status: 'running', uptime: m }, m)));
      const reasons = (out: IngestOutcome[]) => out.map((o) => (o.ok ? 'ok' : o.reason));
      assert.deepEqual(reasons(await guests([1, 2, 3, 4, 5], 1)), ['ok', 'ok', 'ok', 'quota', 'quota']);
      // the stored ones keep updating; a new one is still refused
      assert.deepEqual(reasons(await guests([1, 2, 3, 6], 2)), ['ok', 'ok', 'ok', 'quota']);
      const list = await s.listGuests(org.id, { limit: 10, offset: 0 });
      assert.deepEqual(
        list.data.map((g) => [g.vmid, g.uptime_seconds]),
        [
          [1, 2],
          [2, 2],
          [3, 2],
        ],
      );
    });

    // PostgreSQL only: round trips are what the batch saves there, and only there can another
    // transaction insert a guest while a batch runs.
    if (dialect.name !== 'postgres') return;

    test('on PostgreSQL a batch of known guests is three named statements and no transaction', async (t) => {
      if (skip(t)) return;
      const [a, b] = [await agent(), await agent()];
      const cl = { cluster_name: 'steady', cluster_fingerprint: 'b'.repeat(64) };
      const [n] = await ok([
        job(a, 'node', { ...cl, name: 's1' }, 0),
        job(b, 'node', { ...cl, name: 's2' }, 0),
      ]);
      const guests = (count: number, m: number, stopped = -1) =>
        Array.from({ length: count }, (_, k) =>
          job(
            k % 2 ? b : a,
            'lxc',
            {
              ...cl,
              vmid: 3000 + k,
              node: k % 2 ? 's2' : 's1',
              status: k === stopped ? 'stopped' : 'running',
              uptime: m,
            },
            m,
          ),
        );
      await ok(guests(60, 1));
      // a listener's queued facts go into the same statement
      const queue: QueueRows = (j) => [
        { topic: 'test', tenant_id: j.tenantId, body: `{"vmid":${String(j.payload['vmid'])}}` },
      ];
      let out: IngestOutcome[] = [];
      const five = await pgStatements(async () => (out = await s.ingest(guests(5, 2), queue)));
      assert.ok(out.every((o) => o.ok));
      // the agents, the guests, and one statement writing everything (ingest-fold.ts); no begin/commit
      assert.deepEqual(
        five.map((x) => x.text.slice(0, 6)),
        ['select', 'select', 'with w'],
      );
      // as many for 60, one of them with a status change (its event's id comes back from that statement)
      const sixty = await pgStatements(async () => (out = await s.ingest(guests(60, 3, 7), queue)));
      assert.equal(sixty.length, 3);
      for (const x of [...five, ...sixty]) assert.ok(x.name, `sent unnamed: ${x.text.slice(0, 60)}`);
      const changed = out[7];
      assert.ok(changed?.ok);
      assert.deepEqual(
        changed.events.map((e) => e.type),
        ['status_changed'],
      );
      const schema = opened!.pgSchema!;
      const [stored] = await pgQuery<{ id: number; guest_id: string }>(
        schema,
        "select id, guest_id from events where type = 'status_changed' and guest_id = $1",
        [changed.guestId],
      );
      assert.equal(changed.events[0]?.id, Number(stored?.id));
      // every report of the batch is stored, queued and sampled; the agents are seen
      const list = await s.listGuests(tenant.id, { clusterId: n!.clusterId, limit: 100, offset: 0 });
      assert.deepEqual(
        list.data.map((g) => [g.uptime_seconds, g.status]),
        Array.from({ length: 60 }, (_, k) => [3, k === 7 ? 'stopped' : 'running']),
      );
      const [queued] = await pgQuery<{ n: number }>(
        schema,
        "select count(*)::int as n from ingest_queue where topic = 'test'",
      );
      assert.equal(queued?.n, 65);
      const [samples] = await pgQuery<{ n: number }>(
        schema,
        'select count(*)::int as n from guest_samples where ts = $1',
        [Date.parse(at(3)) / 1000],
      );
      assert.equal(samples?.n, 60);
      const listed = await s.listAgents(tenant.id);
      for (const x of [a, b]) assert.equal(listed.find((l) => l.id === x.id)?.last_seen_at, at(3));
    });

    test('a column a newer replica adds to guests does not break the prepared guest read', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const cl = { cluster_name: 'later', cluster_fingerprint: 'c'.repeat(64) };
      await ok([job(a, 'node', { ...cl, name: 'l1' }, 0)]);
      const guest = (m: number) =>
        job(a, 'lxc', { ...cl, vmid: 4000, node: 'l1', status: 'running', uptime: m }, m);
      for (let m = 1; m <= 3; m++) await ok([guest(m)]);
      // the pool's connection has prepared the guests' read; a migration of a newer version adds a column
      const schema = opened!.pgSchema!;
      await pgQuery(schema, 'alter table guests add column later_column text');
      t.after(() => pgQuery(schema, 'alter table guests drop column later_column'));
      const [out] = await s.ingest([guest(4)]);
      assert.ok(out?.ok, JSON.stringify(out));
    });

    test('on PostgreSQL a batch of first-seen guests takes as many statements for 60 as for 5', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const cl = { cluster_name: 'count', cluster_fingerprint: '7'.repeat(64) };
      await ok([job(a, 'node', { ...cl, name: 'c1' }, 0)]);
      const guests = (from: number, n: number, m: number, status = 'running') =>
        Array.from({ length: n }, (_, k) =>
          job(a, 'qemu', { ...cl, vmid: from + k, node: 'c1', status, config: { cores: k } }, m),
        );
      const batch = async (jobs: IngestJob[]) => countPgStatements(() => ok(jobs));
      const new5 = await batch(guests(1100, 5, 1));
      const new60 = await batch(guests(1200, 60, 1));
      assert.equal(new60, new5);
      // known guests (each with a status change) and new ones in one batch
      const mixed5 = await batch([...guests(1100, 5, 2, 'stopped'), ...guests(2100, 5, 2)]);
      const mixed60 = await batch([...guests(1200, 60, 2, 'stopped'), ...guests(2200, 60, 2)]);
      assert.equal(mixed60, mixed5);
      // the guests' two reads, then in a transaction: the guests, their last reports, config
      // versions and their pruning, and one statement for the rest (ingest-fold.ts)
      assert.ok(new5 <= 9, `a batch of new guests took ${new5} statements`);
      assert.ok(mixed5 <= 9, `a batch of new and known guests took ${mixed5} statements`);
    });

    test('a guest another transaction inserts while the batch runs is updated, not inserted twice', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const cl = { cluster_name: 'race', cluster_fingerprint: '8'.repeat(64) };
      const [n] = await ok([job(a, 'node', { ...cl, name: 'r1' }, 0)]);
      const schema = opened!.pgSchema!;
      // "another replica": a transaction that inserted the guest and has not committed yet
      const other = new pg.Client({
        connectionString: opened!.databaseUrl,
        options: `-c search_path=${schema}`,
      });
      await other.connect();
      t.after(() => other.end());
      const otherPid = (await other.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      await other.query('begin');
      await other.query(
        `insert into guests (id, tenant_id, cluster_id, vmid, type, node_name, status, template, first_seen_at, last_seen_at)
         values ('other-row', $1, $2, 7, 'lxc', 'r1', 'running', 0, $3, $3)`,
        [tenant.id, n!.clusterId, at(0)],
      );
      await other.query(`insert into guest_reports values ('other-row', $1, '{}')`, [tenant.id]);
      const racing = s.ingest([
        job(a, 'lxc', { ...cl, vmid: 7, node: 'r1', status: 'stopped', uptime: 5 }, 1),
      ]);
      await waitFor(
        async () =>
          (
            await pgQuery<{ n: number }>(
              schema,
              'select count(*)::int as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))',
              [otherPid],
            )
          )[0]!.n > 0,
        { what: 'the batch waiting on the uncommitted guest' },
      );
      await other.query('commit');
      const [out] = await racing;
      assert.ok(out?.ok, JSON.stringify(out));
      assert.deepEqual(
        out.events.map((e) => e.type),
        ['status_changed'],
      );
      const rows = await pgQuery<{ id: string; status: string }>(
        schema,
        'select id, status from guests where vmid = 7',
      );
      assert.deepEqual(rows, [{ id: 'other-row', status: 'stopped' }]);
      const report = await pgQuery<{ report: string }>(
        schema,
        "select report from guest_reports where guest_id = 'other-row'",
      );
      assert.equal(JSON.parse(report[0]!.report).status, 'stopped');
    });
  });
}
