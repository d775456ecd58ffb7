// Issue 15 against the simulator: the backups, HA and replication reports of the files, pvesh and
// api sources are the same, and the simulator's events (a failing backup, an HA resource in error,
// a fenced node, a failing replication) show in them.
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { validateOps, type OpsKind } from '@nanny/schema';
import { DEFAULT_TOKEN, startServers } from '@nanny/pve-sim';
import { dryRun, makeSim, requireSim, type DryRun } from './testing/sim.ts';

/** The ops reports by kind, without what differs by design (source, collection time). */
function opsOf(r: DryRun): Partial<Record<OpsKind, Record<string, unknown>>> {
  const out: Partial<Record<OpsKind, Record<string, unknown>>> = {};
  for (const i of r.ops) {
    const kind = i.endpoint.replace('/api/proxmox/', '') as OpsKind;
    const v = validateOps(kind, i.body);
    assert.ok(v.ok, `${kind}: ${JSON.stringify(v.ok ? '' : v.issues)}`);
    const { source: _s, collected_at: _c, agent_version: _a, ...rest } = i.body;
    out[kind] = rest;
  }
  return out;
}

test('backups, HA and replication: files, pvesh and api give the same reports, before and after events', async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(t, { nodes: 3, guests: 12, seed: 5, clock: 'frozen' });
  const servers = await startServers(f.sim, { nodes: ['pve1'], port: 0, host: '127.0.0.1' });
  t.after(() => servers.close());
  const served = servers.list[0]!;
  const token = `${DEFAULT_TOKEN.tokenId}=${DEFAULT_TOKEN.secret}`;
  const all = async () => {
    const files = await dryRun(f.env('pve1'), ['--source', 'files']);
    const pvesh = await dryRun(f.env('pve1'), ['--source', 'pvesh']);
    const api = await dryRun(
      f.env('pve1', {
        NANNYAGENT_NODE: 'pve1',
        NANNYAGENT_PVE_API_URL: served.url,
        NANNYAGENT_PVE_API_TOKEN: token,
        NANNYAGENT_PVE_API_FINGERPRINT: served.fingerprint,
        NANNYAGENT_PVE_API_CA_FILE: join(f.sim.paths('pve1').etcPve, 'pve-root-ca.pem'),
      }),
      ['--source', 'api'],
    );
    for (const r of [files, pvesh, api]) {
      assert.equal(r.code, 0, r.log);
      assert.doesNotMatch(r.log, /\[ERROR\]/, r.log);
    }
    const o = opsOf(files);
    assert.deepEqual(opsOf(pvesh), o, 'pvesh = files');
    assert.deepEqual(opsOf(api), o, 'api = files');
    return o;
  };

  const st = f.sim.state();
  const mine = st.guests.filter((g) => g.node === 'pve1');
  let o = await all();
  const b = o.backups as {
    guests: { vmid: number; covered: boolean; last_success?: { storage?: string; size_bytes?: number } }[];
  };
  assert.equal(b.guests.length, mine.length);
  assert.ok(
    b.guests.every(
      (g) => g.covered && g.last_success?.storage === 'local' && (g.last_success.size_bytes ?? 0) > 0,
    ),
  );
  const ha = o.ha as { master_node: string; resources: { state: string }[] };
  assert.equal(ha.master_node, 'pve1', 'pve1 is the HA master and reports HA');
  assert.equal(ha.resources[0]!.state, 'started');

  // events: pve1's backup of one guest fails; an HA resource errors; pve2 is fenced; replication fails
  const failing = mine[0]!.vmid;
  f.sim.apply({ type: 'backup-run', node: 'pve1', fail: [failing] });
  const haVmid = Number((ha.resources[0] as { sid?: string } & Record<string, unknown>).vmid);
  f.sim.apply({ type: 'ha-state', vmid: haVmid, state: 'error' });
  f.sim.apply({ type: 'ha-state', node: 'pve2', state: 'fence' });
  const rep = st.ops!.replication[0]!;
  f.sim.apply({ type: 'replication-fail', vmid: rep.guest, error: 'out of space' });
  o = await all();
  const b2 = o.backups as {
    guests: { vmid: number; last_failure?: { error: string } }[];
    failed_tasks: { status: string }[];
  };
  assert.match(b2.guests.find((g) => g.vmid === failing)!.last_failure!.error, /No space left on device/);
  assert.equal(b2.failed_tasks[0]!.status, 'job errors');
  const ha2 = o.ha as {
    nodes: { node: string; state: string }[];
    resources: { vmid: number; state: string }[];
  };
  assert.equal(ha2.resources.find((r) => r.vmid === haVmid)!.state, 'error');
  assert.equal(ha2.nodes.find((n) => n.node === 'pve2')!.state, 'fence');
  if (rep.guest && st.guests.find((g) => g.vmid === rep.guest)!.node === 'pve1') {
    const jobs = (o.replication as { jobs: { fail_count: number; error?: string }[] }).jobs;
    assert.equal(jobs[0]!.fail_count, 1);
    assert.equal(jobs[0]!.error, 'out of space');
  }

  // every node reports HA, not only the master: the same manager state from pve2 (files and pvesh)
  for (const source of ['files', 'pvesh']) {
    const other = await dryRun(f.env('pve2'), ['--source', source]);
    assert.equal(other.code, 0, other.log);
    assert.deepEqual(
      other.ops.map((i) => i.endpoint),
      ['/api/proxmox/backups', '/api/proxmox/ha', '/api/proxmox/replication'],
      source,
    );
    assert.deepEqual({ ...opsOf(other).ha, node: 'pve1' }, o.ha, `${source}: pve2's HA report`);
  }
});

test('a cluster without HA sends no HA report from any node', async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(t, { nodes: 1, standalone: true, guests: 2, seed: 5, clock: 'frozen' });
  const r = await dryRun(f.env('pve'), ['--source', 'files']);
  assert.equal(r.code, 0, r.log);
  assert.ok(!r.ops.some((i) => i.endpoint === '/api/proxmox/ha'), r.ops.map((i) => i.endpoint).join());
});
