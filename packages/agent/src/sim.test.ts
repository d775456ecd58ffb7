// The agent against the simulator (packages/pve-sim), in-process: one collection cycle per test
// through the real CLI (`collect --once --dry-run`), the tools spawned from the layout's bin/.
import { budgetMs, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { validatePayload, type PayloadKind } from '@nanny/schema';
import { DEFAULT_TOKEN, startServers } from '@nanny/pve-sim';
import { dryRun, makeSim, requireSim } from './testing/sim.ts';

const kindOf = (endpoint: string) => endpoint.replace('/api/proxmox/', '') as PayloadKind;

function assertValid(items: Array<{ endpoint: string; body: unknown }>): void {
  for (const i of items) {
    const v = validatePayload(kindOf(i.endpoint), i.body);
    assert.ok(v.ok, `${i.endpoint}: ${JSON.stringify(v.ok ? '' : v.issues)}`);
  }
}

for (const source of ['files', 'pvesh'] as const) {
  test(`standalone node (${source}): node report, no cluster report, every guest of the node`, async (t) => {
    if (!requireSim(t)) return;
    const f = makeSim(t, { nodes: 1, standalone: true, guests: 6, seed: 3, clock: 'frozen' });
    const node = f.sim.state().nodes[0]!.name;
    const r = await dryRun(f.env(node), ['--source', source]);
    assert.equal(r.code, 0, r.log);
    assert.deepEqual(
      r.items.map((i) => i.endpoint),
      ['/api/proxmox/node', ...r.items.slice(1).map((i) => i.endpoint)],
    );
    assert.ok(!r.items.some((i) => i.endpoint === '/api/proxmox/cluster'));
    const nodeBody = r.items[0]!.body;
    assert.equal(nodeBody.name, node);
    assert.equal(nodeBody.node_id, 0);
    assert.equal(nodeBody.cluster_name, undefined);
    assert.match(String(nodeBody.cluster_fingerprint), /^[0-9a-f]{64}$/);
    const guests = f.sim.state().guests.filter((g) => g.node === node);
    // the storage report (issue 15) follows the node report; then the guest reports
    assert.equal(r.items[1]!.endpoint, '/api/proxmox/storage');
    const isGuest = (e: string) => e === '/api/proxmox/lxc' || e === '/api/proxmox/qemu';
    assert.equal(r.items.filter((i) => isGuest(i.endpoint)).length, guests.length);
    assertValid(r.items);
    assert.match(r.log, /\[INFO\] Proxmox VE detected, starting collector/);
    assert.match(r.log, /standalone/);
    assert.doesNotMatch(r.log, /\[ERROR\]/);
  });
}

test('3-node cluster: each node sends node → cluster → its own guests (LXC then QEMU, templates marked)', async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(t, { nodes: 3, guests: 24, seed: 11, clock: 'frozen' });
  const st = f.sim.state();
  const fingerprints = new Set<unknown>();
  for (const n of st.nodes) {
    const r = await dryRun(f.env(n.name), ['--source', 'files']);
    assert.equal(r.code, 0, r.log);
    assertValid(r.items);
    assert.equal(r.items[0]!.endpoint, '/api/proxmox/node');
    assert.equal(r.items[1]!.endpoint, '/api/proxmox/cluster');
    assert.equal(r.items[2]!.endpoint, '/api/proxmox/storage');
    assert.match(r.log, /\[INFO\] Node is part of cluster: prod/);
    const cluster = r.items[1]!.body;
    assert.equal(cluster.cluster_name, 'prod');
    assert.equal(cluster.nodes, 3);
    assert.equal(cluster.quorate, 1);
    assert.equal(r.items[0]!.body.node_id, n.nodeid);
    fingerprints.add(r.items[0]!.body.cluster_fingerprint);
    // after node and cluster: this node's storage report (issue 15), then its guests
    assert.equal(r.items[2]!.endpoint, '/api/proxmox/storage');
    const guests = r.items.slice(3).filter((i) => /\/(lxc|qemu)$/.test(i.endpoint));
    const mine = st.guests.filter((g) => g.node === n.name);
    assert.equal(guests.length, mine.length);
    const order = guests.map(
      (g) => `${g.endpoint === '/api/proxmox/lxc' ? 0 : 1}:${String(g.body.vmid).padStart(9, '0')}`,
    );
    assert.deepEqual(order, [...order].sort());
    for (const g of guests) {
      assert.equal(g.body.node, n.name);
      const model = mine.find((m) => m.vmid === g.body.vmid)!;
      assert.equal(g.body.template, model.config.template === '1');
    }
  }
  assert.equal(fingerprints.size, 1, 'one cluster, one fingerprint');
});

test('quorum loss: the cluster report says quorate 0 and every node report still goes out', async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(t, { nodes: 3, guests: 6, seed: 5, clock: 'frozen' });
  f.sim.apply({ type: 'quorum-lost' });
  for (const source of ['files', 'pvesh'] as const) {
    const r = await dryRun(f.env('pve1'), ['--source', source]);
    assert.equal(r.code, 0, r.log);
    assert.equal(r.items[0]!.endpoint, '/api/proxmox/node');
    const cluster = r.items.find((i) => i.endpoint === '/api/proxmox/cluster');
    assert.equal(cluster?.body.quorate, 0, source);
    assertValid(r.items);
  }
});

for (const source of ['files', 'pvesh'] as const) {
  test(`hung pmxcfs (${source}): the node report is still sent and the cycle ends in bounded time`, async (t) => {
    if (!requireSim(t)) return;
    const f = makeSim(t, { nodes: 3, guests: 30, seed: 5, clock: 'frozen' });
    f.sim.apply({ type: 'pmxcfs-hang', node: 'pve1' });
    const t0 = Date.now();
    let r;
    try {
      r = await dryRun(
        f.env('pve1', {
          NANNYAGENT_NODE: 'pve1',
          NANNYAGENT_PMXCFS_TIMEOUT: '0.5',
          NANNYAGENT_COMMAND_TIMEOUT: '1',
        }),
        ['--source', source],
      );
    } finally {
      f.sim.apply({ type: 'pmxcfs-release', node: 'pve1' });
    }
    const took = Date.now() - t0;
    assert.equal(r.code, 0);
    // the product's bound (0.5 s pmxcfs + 1 s command timeouts per step), scaled for a slow machine
    assert.ok(took < budgetMs(8000), `cycle took ${took} ms`);
    assert.equal(r.items[0]?.endpoint, '/api/proxmox/node', r.log);
    const node = r.items[0]!.body;
    assert.equal(node.name, 'pve1');
    // from /proc, which a hung pmxcfs does not block
    assert.equal(typeof node.mem_total_bytes, 'number');
    assert.match(r.log, /\[ERROR\].*(pmxcfs|no answer|timed out|longer than|skipped)/);
  });
}

test('the files, pvesh and api sources produce identical payloads (frozen clock)', async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(t, { nodes: 3, guests: 40, seed: 21, clock: 'frozen' });
  // issue 15: every kind of operations data present, so all of it is compared
  f.sim.apply({ type: 'storage-fill', node: 'pve2', storage: 'local', used: 0.93, perDay: 0.1 });
  f.sim.apply({ type: 'storage-down', node: 'pve2', storage: 'local-lvm' });
  f.sim.apply({ type: 'cert-expire', node: 'pve2', days: 5 });
  f.sim.apply({ type: 'kernel-install', node: 'pve2', kernel: '6.17.9-1-pve' });
  f.sim.apply({ type: 'updates', node: 'pve2', count: 4, security: 1 });
  f.sim.apply({
    type: 'ceph-health',
    status: 'HEALTH_WARN',
    checks: { OSD_DOWN: { severity: 'HEALTH_WARN', message: '1 osds down' } },
  });
  const env = f.env('pve2');
  const files = await dryRun(env, ['--source', 'files']);
  const pvesh = await dryRun(env, ['--source', 'pvesh']);
  assert.equal(files.code, 0, files.log);
  assert.equal(pvesh.code, 0, pvesh.log);
  const servers = await startServers(f.sim, { nodes: ['pve2'] });
  t.after(() => servers.close()); // also when the test times out mid-way (close is idempotent)
  let api;
  try {
    const served = servers.list[0]!;
    api = await dryRun(
      {
        ...env,
        NANNYAGENT_NODE: 'pve2',
        NANNYAGENT_PVE_API_URL: served.url,
        NANNYAGENT_PVE_API_TOKEN: `${DEFAULT_TOKEN.tokenId}=${DEFAULT_TOKEN.secret}`,
        NANNYAGENT_PVE_API_FINGERPRINT: served.fingerprint,
        // the cluster CA, as an operator copies it from /etc/pve: it gives cluster_fingerprint
        NANNYAGENT_PVE_API_CA_FILE: join(f.sim.paths('pve2').etcPve, 'pve-root-ca.pem'),
      },
      ['--source', 'api'],
    );
  } finally {
    await servers.close();
  }
  assert.equal(api.code, 0, api.log);
  assert.doesNotMatch(api.log, /\[ERROR\]/);
  // Known simulator gaps, excluded only while they exist (each check turns itself off once the
  // simulator renders the data): no /proc/cpuinfo, and node memory figures in bytes that are not
  // whole kB (real PVE reads /proc/meminfo, so its API values always are).
  const gaps: string[] = [];
  if (!existsSync(join(f.sim.paths('pve2').proc, 'cpuinfo')))
    gaps.push('cpu_model', 'cpu_cores', 'cpu_sockets', 'cpu_threads');
  const pveshNode = pvesh.items[0]!.body;
  if (Number(pveshNode.mem_used_bytes) % 1024 !== 0) gaps.push('mem_used_bytes', 'mem_free_bytes');
  // pve-container keeps the trailing newline of an LXC description (conf-examples/FORMAT.md), the
  // simulator's API strips it.
  const descr = (items: typeof files.items) =>
    items
      .filter((i) => i.endpoint === '/api/proxmox/lxc')
      .map((i) => (i.body.config as Record<string, unknown>).description);
  const lxcDescrGap = descr(pvesh.items).some(
    (d, i) => typeof d === 'string' && d + '\n' === descr(files.items)[i],
  );
  if (lxcDescrGap) gaps.push('LXC config.description trailing newline');
  if (gaps.length) t.diagnostic(`simulator gaps, not compared: ${gaps.join(', ')}`);
  const strip = (items: typeof files.items) =>
    items.map((i) => {
      const body: Record<string, unknown> = { ...i.body, collected_at: undefined };
      if (i.endpoint === '/api/proxmox/node') for (const g of gaps) body[g] = undefined;
      const cfg = body.config as Record<string, unknown> | undefined;
      if (lxcDescrGap && i.endpoint === '/api/proxmox/lxc' && typeof cfg?.description === 'string') {
        body.config = { ...cfg, description: cfg.description.replace(/\n$/, '') };
      }
      return { endpoint: i.endpoint, body };
    });
  assert.deepEqual(strip(files.items), strip(pvesh.items));
  // The API gives pve-manager's update cache without the security mark, and apt's lists are on the
  // node, out of the API source's reach: there the security count is unknown, so absent (not 0).
  assert.equal(api.items[0]!.body.updates_security_count, undefined);
  const noSecurity = (items: typeof files.items) =>
    strip(items).map((i) =>
      i.endpoint === '/api/proxmox/node'
        ? { ...i, body: { ...i.body, updates_security_count: undefined } }
        : i,
    );
  assert.deepEqual(noSecurity(api.items), noSecurity(pvesh.items));
  assert.ok(files.items.length > 3);
  // the operations data is there (not absent alike in all three)
  const storage = files.items.find((i) => i.endpoint === '/api/proxmox/storage')!.body;
  assert.deepEqual(
    (storage.storages as Record<string, unknown>[]).map((s) => [s.storage, s.active, s.enabled]),
    [
      ['local', 1, 1],
      ['local-lvm', 0, 1],
    ],
  );
  const s0 = (storage.storages as Record<string, number>[])[0]!;
  assert.ok(Math.abs(s0.used_bytes! / s0.total_bytes! - 0.93) < 0.001);
  const node = files.items[0]!.body;
  assert.equal(node.reboot_required, true);
  assert.equal(node.kernel_installed, '6.17.9-1-pve');
  assert.equal(node.updates_count, 4);
  // the one from the Debian-Security archive, known from apt's lists (the cache says `Debian`)
  assert.equal(node.updates_security_count, 1);
  assert.equal(node.ceph_health, 'HEALTH_WARN');
  const certs = node.certificates as { file: string; not_after: string }[];
  assert.equal(certs.length, 1);
  assert.equal(certs[0]!.file, 'pve-ssl.pem');
});

test('on a standalone node the files and pvesh sources give identical payloads, ip included', async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(t, { nodes: 1, standalone: true, guests: 5, seed: 17, clock: 'frozen' });
  const env = f.env('pve');
  const files = await dryRun(env, ['--source', 'files']);
  const pvesh = await dryRun(env, ['--source', 'pvesh']);
  assert.equal(files.code, 0, files.log);
  assert.equal(pvesh.code, 0, pvesh.log);
  const strip = (items: typeof files.items) =>
    items.map((i) => ({ endpoint: i.endpoint, body: { ...i.body, collected_at: undefined } }));
  assert.deepEqual(strip(files.items), strip(pvesh.items));
  const node = files.items[0]!.body;
  assert.equal(node.node_id, 0);
  assert.match(String(node.ip), /^\d+\.\d+\.\d+\.\d+$/, 'the standalone ip comes from /etc/hosts');
});

test('the api source refuses a server whose certificate does not match the pin (token never sent)', async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(t, { nodes: 1, standalone: true, guests: 1, seed: 9, clock: 'frozen' });
  const servers = await startServers(f.sim, { nodes: ['pve'] });
  t.after(() => servers.close()); // also when the test times out mid-way (close is idempotent)
  try {
    const base = {
      ...f.env('pve'),
      NANNYAGENT_NODE: 'pve',
      NANNYAGENT_PVE_API_URL: servers.list[0]!.url,
      NANNYAGENT_PVE_API_TOKEN: `${DEFAULT_TOKEN.tokenId}=${DEFAULT_TOKEN.secret}`,
    };
    const pinned = await dryRun({ ...base, NANNYAGENT_PVE_API_FINGERPRINT: 'ab'.repeat(32) }, [
      '--source',
      'api',
    ]);
    assert.match(pinned.log, /does not match the pinned fingerprint/);
    const unpinned = await dryRun(base, ['--source', 'api']);
    assert.match(unpinned.log, /unable to verify the first certificate|self-signed certificate/);
    // the node report still goes out, with what is known
    assert.equal(pinned.items[0]?.endpoint, '/api/proxmox/node');
  } finally {
    await servers.close();
  }
});
