/**
 * Issue 12/14, storage side: a replica that stalled with a cluster report in hand commits it after
 * a newer report of the same reporter went through another replica. The stored view (what the
 * dashboard and GET /api/clusters/:id/membership read, and what node states and their events are
 * derived from) keeps the newer collection: the late one changes nothing and records no events.
 * The same for a node's own report (heartbeats included): its liveness only moves forward, and a
 * late one derives no state at its old receive time.
 */
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { DIALECTS, clusterAgents } from './testing.ts';
import type { IngestJob, IngestOutcome, Storage } from './storage.ts';

const FP = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const TRIO = ['pve1', 'pve2', 'pve3'];
const T0 = Date.parse('2026-12-01T10:00:00Z');
const iso = (s: number): string => new Date(T0 + s * 1000).toISOString();

async function fleet(storage: Storage) {
  const { tenantId, agents } = await clusterAgents(storage, 'late', TRIO, FP, iso(0));
  const ingest = async (
    from: string,
    kind: 'cluster' | 'node',
    payload: Record<string, unknown>,
    at: number,
  ) => {
    const job: IngestJob = {
      tenantId,
      agentId: agents[from] as string,
      tokenVersion: 1,
      kind,
      payload: { cluster_fingerprint: FP, cluster_name: 'prod', ...payload },
      receivedAt: iso(at),
    };
    const [o] = await storage.ingest([job]);
    assert.ok(o?.ok, JSON.stringify(o));
    return o as Extract<IngestOutcome, { ok: true }>;
  };
  /** `from` reports its partition's view; `collected` in seconds after T0, or none (old agents) */
  const view = (from: string, sees: string[], at: number, collected: number | undefined, quorate = 1) =>
    ingest(
      from,
      'cluster',
      {
        cluster_id: 'cluster',
        nodes: 3,
        quorate,
        version: 7,
        reporting_node: from,
        members: TRIO.map((name, i) => ({
          name,
          node_id: i + 1,
          online: sees.includes(name) ? 1 : 0,
          local: name === from ? 1 : 0,
        })),
        ...(collected === undefined ? {} : { collected_at: iso(collected) }),
      },
      at,
    );
  const alive = (from: string, at: number, heartbeat = 10) =>
    ingest(from, 'node', { name: from, interval_seconds: 30, heartbeat_interval_seconds: heartbeat }, at);
  const membership = async (clusterId: string, at: number) => {
    const m = await storage.clusterMembership(tenantId, clusterId, iso(at));
    assert.ok(m);
    return {
      views: m.views.map(
        (v) =>
          `${v.reporter} ${v.received_at} ${v.members.map((x) => `${x.name}:${x.online ? 1 : 0}`).join(',')}`,
      ),
      nodes: m.nodes.map((n) => `${n.name} ${n.state} ${n.since ?? '-'} ${n.last_report ?? '-'}`),
    };
  };
  const events = async () =>
    (await storage.listEvents(tenantId, { limit: 500, offset: 0 })).data.map((e) => `${e.type} ${e.message}`);
  return { view, alive, membership, events };
}

const READ_AT = 85;

/**
 * All three nodes up; then pve3 goes down (pve1 and pve2, the quorate partition, see it offline;
 * its agent is silent, or speaks at `pve3Alive` only). Returns what was read (at READ_AT) then.
 */
async function pve3Down(
  storage: Storage,
  collecting: boolean,
  /** pve3's agent still reports at these times (it is cut off, then goes down) */
  pve3Alive: number[] = [],
) {
  const f = await fleet(storage);
  const collected = (at: number) => (collecting ? at : undefined);
  let clusterId = '';
  for (const n of TRIO) clusterId = (await f.view(n, TRIO, 0, collected(0))).clusterId;
  for (const n of TRIO) await f.alive(n, 1);
  for (const at of [20, 40, 60, 80])
    for (const n of ['pve1', 'pve2']) {
      await f.view(n, ['pve1', 'pve2'], at, collected(at));
      await f.alive(n, at);
      if (n === 'pve2' && pve3Alive.includes(at)) {
        await f.view('pve3', ['pve3'], at, collected(at), 0);
        await f.alive('pve3', at);
      }
    }
  const read = async () => ({ m: await f.membership(clusterId, READ_AT), events: await f.events() });
  const before = await read();
  assert.ok(
    before.m.nodes.some((n) => n.startsWith('pve3 offline ')),
    before.m.nodes.join('; '),
  );
  return { f, before, read };
}

/**
 * pve3Down, then pve1's all-online view collected at `late.collected` (none: an old agent) is
 * committed with receive time `late.at`, after everything else. Returns the membership (read at
 * READ_AT) and the events before and after that commit.
 */
async function scenario(
  storage: Storage,
  late: { collected: number | undefined; at: number; collecting: boolean },
  pve3Alive: number[] = [],
) {
  const { f, before, read } = await pve3Down(storage, late.collecting, pve3Alive);
  await f.view('pve1', TRIO, late.at, late.collected);
  return { before, after: await read() };
}

for (const d of DIALECTS) {
  const open = async (t: TestContext) => {
    const opened = await d.open();
    if (!requires(t, 'postgres', opened !== undefined, d.skipReason) || !opened) return undefined;
    t.after(opened.cleanup);
    return opened.storage;
  };

  test(`${d.name}: a view collected earlier than the stored one, committed late, changes no view, state or event`, async (t) => {
    const storage = await open(t);
    if (!storage) return;
    // received at 11 by a replica that stalled, committed after the view collected at 80
    const { before, after } = await scenario(storage, { collected: 10, at: 11, collecting: true });
    assert.deepEqual(after.m, before.m);
    assert.deepEqual(after.events, before.events);
  });

  test(`${d.name}: a late view not taken derives nothing at its own (earlier) receive time`, async (t) => {
    const storage = await open(t);
    if (!storage) return;
    // pve3 was cut off (its agent spoke until 40), then went silent: offline. Derived again at the
    // late report's receive time, 50, it was still alive: a flap back to partitioned.
    const { before, after } = await scenario(storage, { collected: 49, at: 50, collecting: true }, [20, 40]);
    assert.deepEqual(after.m, before.m);
    assert.deepEqual(after.events, before.events);
  });

  test(`${d.name}: the stored collection committed again (the original after its resend) changes nothing`, async (t) => {
    const storage = await open(t);
    if (!storage) return;
    const { before, after } = await scenario(storage, { collected: 80, at: 82, collecting: true });
    assert.deepEqual(after.m, before.m);
    assert.deepEqual(after.events, before.events);
  });

  test(`${d.name}: a view collected later than the stored one is taken`, async (t) => {
    const storage = await open(t);
    if (!storage) return;
    const { before, after } = await scenario(storage, { collected: 81, at: 82, collecting: true });
    assert.ok(after.m.views.includes(`pve1 ${iso(82)} pve1:1,pve2:1,pve3:1`), after.m.views.join('; '));
    assert.notDeepEqual(after.m.nodes, before.m.nodes);
  });

  test(`${d.name}: a collected_at far ahead (a wrong agent clock) holds its view for minutes at most`, async (t) => {
    const storage = await open(t);
    if (!storage) return;
    const f = await fleet(storage);
    const { clusterId } = await f.view('pve1', TRIO, 0, 9999 * 365 * 86_400);
    // clamped to 5 minutes after its receipt (domain/report-time.ts): refused before, taken after
    await f.view('pve1', ['pve1', 'pve2'], 200, 200);
    assert.deepEqual((await f.membership(clusterId, 200)).views, [`pve1 ${iso(0)} pve1:1,pve2:1,pve3:1`]);
    await f.view('pve1', ['pve1', 'pve2'], 301, 301);
    assert.deepEqual((await f.membership(clusterId, 301)).views, [`pve1 ${iso(301)} pve1:1,pve2:1,pve3:0`]);
  });

  test(`${d.name}: reports without collected_at (older agents) are taken in receive order, as before`, async (t) => {
    const storage = await open(t);
    if (!storage) return;
    const { before, after } = await scenario(storage, { collected: undefined, at: 82, collecting: false });
    assert.ok(after.m.views.includes(`pve1 ${iso(82)} pve1:1,pve2:1,pve3:1`), after.m.views.join('; '));
    assert.notDeepEqual(after.m.nodes, before.m.nodes);
    assert.ok(after.events.length > before.events.length, after.events.join('; '));
  });

  test(`${d.name}: a node report received before the stored one, committed late, changes no liveness, state or event`, async (t) => {
    const storage = await open(t);
    if (!storage) return;
    // pve3 was cut off (its agent spoke until 40), then went silent: offline. Its heartbeat
    // received at 30 by a replica that stalled is committed now, with another heartbeat interval.
    const { f, before, read } = await pve3Down(storage, true, [20, 40]);
    assert.ok(before.m.nodes.includes(`pve3 offline ${iso(80)} ${iso(40)}`), before.m.nodes.join('; '));
    await f.alive('pve3', 30, 600);
    assert.deepEqual(await read(), before);
  });

  test(`${d.name}: a node report in receive order still moves liveness forward`, async (t) => {
    const storage = await open(t);
    if (!storage) return;
    const { f, before, read } = await pve3Down(storage, true, [20, 40]);
    await f.alive('pve3', 82);
    const after = await read();
    assert.ok(after.m.nodes.includes(`pve3 partitioned ${iso(82)} ${iso(82)}`), after.m.nodes.join('; '));
    assert.deepEqual(after.events.slice(-before.events.length), before.events);
    assert.ok(after.events.length > before.events.length, after.events.join('; '));
  });

  test(`${d.name}: a node report newer than its own last one but older than the states derived since changes no state or event`, async (t) => {
    const storage = await open(t);
    if (!storage) return;
    // pve3's agent last spoke at 20; the quorate partition's reports had it offline at 60. Its
    // heartbeat received at 50 is committed after 80: at 80 it was silent again, still offline.
    const { f, before, read } = await pve3Down(storage, true, [20]);
    assert.ok(before.m.nodes.includes(`pve3 offline ${iso(60)} ${iso(20)}`), before.m.nodes.join('; '));
    await f.alive('pve3', 50);
    const after = await read();
    assert.deepEqual(after.events, before.events);
    assert.deepEqual(after.m.nodes, [...before.m.nodes.slice(0, 2), `pve3 offline ${iso(60)} ${iso(50)}`]);
  });
}
