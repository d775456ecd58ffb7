import { after, before, describe } from 'node:test';
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import type { PayloadKind } from '@nanny/schema';
import { DIALECTS } from './testing.ts';
import type { Agent, IngestApplied, IngestJob, Storage, Tenant } from './storage.ts';

const FP_A = 'a'.repeat(64);
const FP_B = 'b'.repeat(64);

function at(minute: number): string {
  return new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
}

for (const dialect of DIALECTS) {
  describe(`storage on ${dialect.name}`, () => {
    let opened: Awaited<ReturnType<typeof dialect.open>>;
    let s: Storage;
    let tenant: Tenant;
    let other: Tenant;
    before(async () => {
      opened = await dialect.open();
      if (!opened) return;
      s = opened.storage;
      tenant = await s.ensureTenant('default', new Date().toISOString());
      other = await s.createTenant('other', new Date().toISOString());
    });
    after(async () => opened?.cleanup());

    // the requirement switch: skipped without PostgreSQL, a failure under NANNY_REQUIRE=postgres
    const skip = (t: { skip: (m?: string) => void }) =>
      !requires(t, 'postgres', opened !== undefined, dialect.skipReason);
    let n = 0;
    const agent = async (t: Tenant = tenant, extra: Partial<Agent> = {}) =>
      s.createAgent({
        tenant_id: t.id,
        hostname: `host-${++n}`,
        cluster_name: null,
        cluster_fingerprint: null,
        agent_version: null,
        pve_version: null,
        created_at: new Date().toISOString(),
        ...extra,
      });
    const job = (
      a: Agent,
      kind: PayloadKind,
      payload: Record<string, unknown>,
      receivedAt = new Date().toISOString(),
    ): IngestJob => ({
      tenantId: a.tenant_id,
      agentId: a.id,
      tokenVersion: a.token_version,
      kind,
      payload,
      receivedAt,
    });
    const ok = async (...jobs: IngestJob[]) => {
      const out = await s.ingest(jobs);
      for (const o of out) assert.equal(o.ok, true, JSON.stringify(o));
      return out as IngestApplied[];
    };

    test('three agents of one cluster (same fingerprint) give one cluster', async (t) => {
      if (skip(t)) return;
      const ids = new Set<string>();
      for (const node of ['n1', 'n2', 'n3']) {
        const a = await agent();
        // the agent's order: its node report binds it, then its view of the cluster (a fresh
        // agent's cluster report naming no node is refused once others report for the cluster)
        const [nd] = await ok(
          job(a, 'node', { name: node, cluster_fingerprint: FP_A, cluster_name: 'prod' }),
        );
        const [c] = await ok(
          job(a, 'cluster', {
            cluster_name: 'prod',
            cluster_id: 'cluster',
            nodes: 3,
            quorate: 1,
            cluster_fingerprint: FP_A,
          }),
        );
        ids.add(c!.clusterId);
        ids.add(nd!.clusterId);
      }
      assert.equal(ids.size, 1);
      const clusters = (await s.listClusters(tenant.id)).filter((c) => c.fingerprint === FP_A);
      assert.equal(clusters.length, 1);
      assert.equal(clusters[0]!.nodes_reporting, 3);
    });

    test('two clusters with the same name and different fingerprints stay two; the literal id "cluster" is no identity', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const b = await agent();
      const [x] = await ok(
        job(a, 'cluster', {
          cluster_name: 'samename',
          cluster_id: 'cluster',
          nodes: 2,
          quorate: 1,
          cluster_fingerprint: FP_B,
        }),
      );
      const [y] = await ok(
        job(b, 'cluster', {
          cluster_name: 'samename',
          cluster_id: 'cluster',
          nodes: 2,
          quorate: 1,
          cluster_fingerprint: 'c'.repeat(64),
        }),
      );
      assert.notEqual(x!.clusterId, y!.clusterId);
      // An agent is bound to one cluster (issue 13, M2): the third cluster is another agent's.
      const [z] = await ok(
        job(await agent(), 'cluster', {
          cluster_name: 'another',
          cluster_id: 'cluster',
          nodes: 1,
          quorate: 1,
        }),
      );
      assert.notEqual(z!.clusterId, y!.clusterId);
    });

    test('without fingerprints, agents reporting the same cluster name share one cluster; nodes follow the agent’s cluster', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const b = await agent();
      const [c1] = await ok(job(a, 'cluster', { cluster_name: 'byname', nodes: 2, quorate: 1 }));
      const [c2] = await ok(job(b, 'cluster', { cluster_name: 'byname', nodes: 2, quorate: 1 }));
      assert.equal(c1!.clusterId, c2!.clusterId);
      // The spec's node body carries no cluster name: it joins the cluster its agent reported.
      const [nd] = await ok(job(a, 'node', { name: 'bn1' }));
      assert.equal(nd!.clusterId, c1!.clusterId);
    });

    test('a standalone node is its own site', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const [nd] = await ok(job(a, 'node', { name: 'lonely', cluster_fingerprint: 'd'.repeat(64) }));
      const c = await s.getCluster(tenant.id, nd!.clusterId);
      assert.equal(c?.standalone, true);
      assert.equal(c?.cluster_name, 'lonely');
    });

    test('simultaneous first reports of one cluster create one cluster and one node', async (t) => {
      if (skip(t)) return;
      const agents = await Promise.all([agent(), agent(), agent(), agent(), agent(), agent()]);
      const fp = 'e'.repeat(64);
      const outs = await Promise.all(
        agents.map((a) =>
          s.ingest([job(a, 'node', { name: 'racer', cluster_fingerprint: fp, cluster_name: 'race' })]),
        ),
      );
      // One node has one agent (issue 13, M2): the first report binds it, the others are refused.
      const applied = outs.map((o) => o[0]).filter((o): o is IngestApplied => o?.ok === true);
      assert.equal(applied.length, 1);
      assert.deepEqual(outs.map((o) => (o[0]?.ok ? 'ok' : o[0]?.reason)).sort(), [
        'forbidden',
        'forbidden',
        'forbidden',
        'forbidden',
        'forbidden',
        'ok',
      ]);
      assert.equal((await s.listClusters(tenant.id)).filter((c) => c.fingerprint === fp).length, 1);
    });

    test('a guest is keyed by (cluster, vmid): a migration updates its node and records an event', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const fp = 'f'.repeat(64);
      const base = {
        vmid: 300,
        status: 'running',
        cluster_fingerprint: fp,
        cluster_name: 'mig',
        name: 'vm300',
      };
      const [g1] = await ok(job(a, 'qemu', { ...base, node: 'm1' }));
      // m2's own agent reports the migrated guest (an agent reports the guests of its node only)
      const [g2] = await ok(job(await agent(), 'qemu', { ...base, node: 'm2' }));
      assert.equal(g1!.guestId, g2!.guestId);
      assert.deepEqual(
        g2!.events.map((e) => e.type),
        ['migrated'],
      );
      const g = await s.getGuest(tenant.id, g2!.guestId!);
      assert.equal(g?.node, 'm2');
    });

    test('config versions are stored only when the config changed, with a diff', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const base = {
        vmid: 101,
        node: 'cv1',
        status: 'running',
        cluster_name: 'cfg',
        config: { cores: 2, memory: 1024, net0: 'name=eth0' },
      };
      const [g] = await ok(job(a, 'lxc', base));
      await ok(job(a, 'lxc', base));
      await ok(job(a, 'lxc', { ...base, config: { cores: 2, memory: 1024, net0: 'name=eth0' } }));
      let d = await s.getGuest(tenant.id, g!.guestId!);
      assert.equal(d?.config_versions.length, 1);
      const [g3] = await ok(job(a, 'lxc', { ...base, config: { cores: 4, memory: 1024, swap: 512 } }));
      assert.ok(g3!.events.some((e) => e.type === 'config_changed'));
      d = await s.getGuest(tenant.id, g!.guestId!);
      assert.equal(d?.config_versions.length, 2);
      assert.deepEqual(d?.config_versions[0]?.diff, {
        added: { swap: 512 },
        removed: { net0: 'name=eth0' },
        changed: { cores: [2, 4] },
      });
    });

    test('status changes, reboots, upgrades, offline and back become events and history', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const cl = { cluster_name: 'ev', cluster_fingerprint: '1'.repeat(64) };
      // the agent's cluster reports say whose view they are (the ingest fills it from the binding)
      const view = { reporting_node: 'e1' };
      await ok(
        job(a, 'cluster', {
          ...cl,
          ...view,
          nodes: 2,
          quorate: 1,
          members: [
            { name: 'e1', node_id: 1, online: 1 },
            { name: 'e2', node_id: 2, online: 1 },
          ],
        }),
      );
      await ok(
        job(a, 'node', { ...cl, name: 'e1', pve_version: 'pve-manager/8.1.4/x', uptime_seconds: 5000 }),
      );
      const [up] = await ok(
        job(a, 'node', { ...cl, name: 'e1', pve_version: 'pve-manager/8.2.2/y', uptime_seconds: 20 }),
      );
      assert.deepEqual(up!.events.map((e) => e.type).sort(), ['rebooted', 'upgraded']);
      const [q] = await ok(
        job(a, 'cluster', {
          ...cl,
          ...view,
          nodes: 2,
          quorate: 0,
          members: [
            { name: 'e1', node_id: 1, online: 1 },
            { name: 'e2', node_id: 2, online: 0 },
          ],
        }),
      );
      // e1 is alive outside any quorate partition: partitioned (issue 12), e2 nobody sees: offline
      assert.deepEqual(q!.events.map((e) => e.type).sort(), ['partitioned', 'quorum_lost', 'went_offline']);
      const [back] = await ok(
        job(a, 'cluster', {
          ...cl,
          ...view,
          nodes: 2,
          quorate: 1,
          members: [
            { name: 'e1', node_id: 1, online: 1 },
            { name: 'e2', node_id: 2, online: 1 },
          ],
        }),
      );
      assert.deepEqual(back!.events.map((e) => e.type).sort(), ['came_back', 'quorum_regained', 'rejoined']);
      const [g] = await ok(job(a, 'lxc', { ...cl, vmid: 120, node: 'e1', status: 'running', uptime: 100 }));
      const [st] = await ok(job(a, 'lxc', { ...cl, vmid: 120, node: 'e1', status: 'stopped' }));
      assert.deepEqual(
        st!.events.map((e) => e.type),
        ['status_changed'],
      );
      const d = await s.getGuest(tenant.id, g!.guestId!);
      assert.deepEqual(
        d?.status_changes.map((c) => c.to_status),
        ['stopped', 'running'],
      );
      const ev = await s.listEvents(tenant.id, { guestId: g!.guestId!, limit: 10, offset: 0 });
      assert.deepEqual(
        ev.data.map((e) => e.type),
        ['status_changed', 'first_seen'],
      );
      const node = (await s.listNodes(tenant.id, { clusterId: up!.clusterId })).find((x) => x.name === 'e1')!;
      const samples = await s.nodeSamples(
        tenant.id,
        node.id,
        '2000-01-01T00:00:00.000Z',
        '2100-01-01T00:00:00.000Z',
        100,
      );
      assert.equal(samples.length, 2);
      assert.equal(samples[1]?.uptime_seconds, 20);
    });

    test('the same node report stored twice (a spool replay) is one history sample', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const report = {
        name: 'replayed',
        cluster_fingerprint: '9'.repeat(64),
        uptime_seconds: 5,
        collected_at: at(7),
      };
      const [first] = await ok(job(a, 'node', report, at(9)));
      await ok(job(a, 'node', report, at(9)));
      await ok(job(a, 'node', { ...report, uptime_seconds: 65, collected_at: at(8) }, at(9)));
      const node = (await s.listNodes(tenant.id, { clusterId: first!.clusterId })).find(
        (x) => x.name === 'replayed',
      )!;
      const samples = await s.nodeSamples(tenant.id, node.id, at(0), at(59), 100);
      assert.deepEqual(
        samples.map((x) => x.ts),
        [at(7), at(8)],
      );
    });

    test('a guest missing from its node’s complete report cycle is marked gone, and comes back', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const cl = { cluster_name: 'gone', cluster_fingerprint: '2'.repeat(64) };
      const guest = (vmid: number, m: number) =>
        job(a, 'lxc', { ...cl, vmid, node: 'g1', status: 'running' }, at(m));
      await ok(job(a, 'node', { ...cl, name: 'g1' }, at(0)));
      await ok(guest(1, 1), guest(2, 1));
      await ok(job(a, 'node', { ...cl, name: 'g1' }, at(5)));
      await ok(guest(1, 6));
      const [third] = await ok(job(a, 'node', { ...cl, name: 'g1' }, at(10)));
      assert.deepEqual(
        third!.events.map((e) => e.type),
        ['gone'],
      );
      const list = await s.listGuests(tenant.id, { clusterId: third!.clusterId, limit: 10, offset: 0 });
      assert.deepEqual(
        list.data.map((g) => g.vmid),
        [1],
      );
      const all = await s.listGuests(tenant.id, {
        clusterId: third!.clusterId,
        includeGone: true,
        limit: 10,
        offset: 0,
      });
      assert.equal(all.data.find((g) => g.vmid === 2)?.gone, true);
      const [back] = await ok(guest(2, 11));
      assert.deepEqual(
        back!.events.map((e) => e.type),
        ['came_back'],
      );
    });

    test('a revoked agent’s report is refused inside the batch, its neighbours still commit', async (t) => {
      if (skip(t)) return;
      const good = await agent();
      const bad = await agent();
      assert.equal(await s.revokeAgent(tenant.id, bad.id, new Date().toISOString()), true);
      const out = await s.ingest([
        job(bad, 'node', { name: 'rv1', cluster_name: 'rv' }),
        job(good, 'node', { name: 'rv2', cluster_name: 'rv' }),
      ]);
      assert.deepEqual(
        out.map((o) => o.ok),
        [false, true],
      );
    });

    test('one tenant never sees another tenant’s fleet', async (t) => {
      if (skip(t)) return;
      const a = await agent(other);
      const [g] = await ok(
        job(a, 'lxc', { vmid: 999, node: 'secret-node', status: 'running', cluster_name: 'secret' }),
      );
      assert.equal(
        (await s.listClusters(tenant.id)).some((c) => c.cluster_name === 'secret'),
        false,
      );
      assert.equal(await s.getGuest(tenant.id, g!.guestId!), undefined);
      assert.equal(await s.getCluster(tenant.id, g!.clusterId), undefined);
      assert.equal((await s.listGuests(tenant.id, { q: '999', limit: 10, offset: 0 })).total, 0);
      assert.equal((await s.listEvents(tenant.id, { guestId: g!.guestId!, limit: 10, offset: 0 })).total, 0);
      assert.equal((await s.listGuests(other.id, { limit: 10, offset: 0 })).total, 1);
    });

    test('guest filters and paging', async (t) => {
      if (skip(t)) return;
      const ft = await s.createTenant(`filters-${dialect.name}`, new Date().toISOString());
      // one agent per node (issue 13, M2)
      const f1 = await agent(ft);
      const f2 = await agent(ft);
      const tid = ft.id;
      const cl = { cluster_name: 'flt' };
      for (let i = 1; i <= 25; i++)
        await ok(
          job(i <= 10 ? f1 : f2, i % 2 ? 'lxc' : 'qemu', {
            ...cl,
            vmid: 100 + i,
            node: i <= 10 ? 'f1' : 'f2',
            status: i % 3 ? 'running' : 'stopped',
            name: `web-${i}`,
            tags: i === 7 ? 'prod;db' : 'test',
          }),
        );
      assert.equal((await s.listGuests(tid, { limit: 10, offset: 0 })).total, 25);
      const page = await s.listGuests(tid, { limit: 10, offset: 20 });
      assert.deepEqual(
        page.data.map((g) => g.vmid),
        [121, 122, 123, 124, 125],
      );
      assert.equal((await s.listGuests(tid, { type: 'qemu', limit: 100, offset: 0 })).total, 12);
      assert.equal((await s.listGuests(tid, { node: 'f1', limit: 100, offset: 0 })).total, 10);
      assert.equal((await s.listGuests(tid, { status: 'stopped', limit: 100, offset: 0 })).total, 8);
      assert.deepEqual(
        (await s.listGuests(tid, { tag: 'db', limit: 100, offset: 0 })).data.map((g) => g.vmid),
        [107],
      );
      assert.deepEqual(
        (await s.listGuests(tid, { q: 'WEB-12', limit: 100, offset: 0 })).data.map((g) => g.vmid),
        [112],
      );
      assert.deepEqual(
        (await s.listGuests(tid, { q: '115', limit: 100, offset: 0 })).data.map((g) => g.vmid),
        [115],
      );
    });

    test('an enrollment token gives exactly its number of uses and expires', async (t) => {
      if (skip(t)) return;
      const now = new Date().toISOString();
      await s.createEnrollmentToken(
        {
          tenant_id: tenant.id,
          max_uses: 2,
          expires_at: new Date(Date.now() + 60_000).toISOString(),
          created_at: now,
        },
        'h-two',
      );
      const r = await Promise.all([1, 2, 3].map(() => s.consumeEnrollmentToken('h-two', now)));
      assert.equal(r.filter(Boolean).length, 2);
      await s.createEnrollmentToken(
        {
          tenant_id: tenant.id,
          max_uses: 5,
          expires_at: new Date(Date.now() - 1000).toISOString(),
          created_at: now,
        },
        'h-old',
      );
      assert.equal(await s.consumeEnrollmentToken('h-old', now), undefined);
    });

    test('a refresh token works once; presenting it again revokes the agent’s tokens', async (t) => {
      if (skip(t)) return;
      const a = await agent();
      const now = new Date().toISOString();
      const exp = new Date(Date.now() + 60_000).toISOString();
      await s.storeRefreshToken({
        tokenHash: 'rt1',
        agentId: a.id,
        tenantId: tenant.id,
        tokenVersion: 1,
        createdAt: now,
        expiresAt: exp,
      });
      assert.equal((await s.useRefreshToken('rt1', now)).kind, 'ok');
      await s.storeRefreshToken({
        tokenHash: 'rt2',
        agentId: a.id,
        tenantId: tenant.id,
        tokenVersion: 1,
        createdAt: now,
        expiresAt: exp,
      });
      assert.equal((await s.useRefreshToken('rt1', now)).kind, 'reused');
      assert.equal((await s.agentAuthStates([a.id])).get(a.id)?.token_version, 2);
      assert.equal((await s.useRefreshToken('rt2', now)).kind, 'invalid');
    });

    test('retention prunes old history and keeps the latest config version', async (t) => {
      if (skip(t)) return;
      const a = await agent(await s.createTenant(`prune-${dialect.name}`, new Date().toISOString()));
      const cl = { cluster_name: 'pr' };
      await ok(job(a, 'node', { ...cl, name: 'p1' }, at(0)));
      await ok(job(a, 'lxc', { ...cl, vmid: 1, node: 'p1', status: 'running', config: { a: 1 } }, at(1)));
      await ok(job(a, 'lxc', { ...cl, vmid: 1, node: 'p1', status: 'running', config: { a: 2 } }, at(2)));
      const r = await s.prune(at(30));
      assert.ok(r.statusChanges >= 1);
      assert.ok(r.events >= 1);
      const g = (await s.listGuests(a.tenant_id, { limit: 1, offset: 0 })).data[0]!;
      assert.equal((await s.getGuest(a.tenant_id, g.id))?.config_versions.length, 1);
    });
  });
}
