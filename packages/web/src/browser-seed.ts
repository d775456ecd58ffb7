/** The browser test's fleet, fed through the real ingest endpoints (browser.test.ts). */
import { SPEC, type TestApp } from '@nanny/api/testing';
import { GiB, post } from './testing.ts';

/** a guest name that would run script if the page ever parsed text as HTML */
export const XSS_NAME = '<img src=x onerror="window.__xss=1">';

/** A 3-node cluster (one node on an older PVE), node history over two hours, guests, a standalone node. */
export async function seed(t: TestApp, base: string): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  const cluster = SPEC.cluster.cluster_name;
  const names = ['pve-node-01', 'pve-node-02', 'pve-node-03'];
  const members = names.map((name, i) => ({
    name,
    node_id: i + 1,
    ip: `10.0.1.${10 + i}`,
    online: 1,
    local: 0,
  }));
  const now = Date.now();
  for (const [i, name] of names.entries()) {
    const { access } = await t.register(name);
    tokens.set(name, access);
    await post(base, '/api/proxmox/cluster', access, { ...SPEC.cluster, reporting_node: name, members });
    const node = (at: number, k: number) => ({
      ...SPEC.node,
      name,
      node_id: i + 1,
      ip: `10.0.1.${10 + i}`,
      cluster_name: cluster,
      pve_version: i === 2 ? 'pve-manager/8.3.5/dac3aa88bac3f300' : 'pve-manager/8.4.1/2a5fa54a8503f96d',
      kernel_version: 'Linux 6.8.12-9-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-9',
      collected_at: new Date(at).toISOString(),
      cpu_usage_ratio: Math.min(0.97, 0.18 + 0.12 * i + 0.1 * Math.sin(k / 3) + (k % 7 === 0 ? 0.25 : 0)),
      io_wait_ratio: 0.02,
      cpu_model: 'AMD EPYC 7313P 16-Core Processor',
      cpu_sockets: 1,
      cpu_cores: 16,
      load_avg_1m: 0.6 + i + Math.abs(Math.sin(k / 5)) * 2,
      load_avg_5m: 0.8 + i,
      load_avg_15m: 0.7 + i,
      mem_total_bytes: 64 * GiB,
      mem_used_bytes: Math.round((22 + 10 * i + 4 * Math.sin(k / 8)) * GiB),
      swap_total_bytes: 8 * GiB,
      swap_used_bytes: GiB,
      rootfs_total_bytes: 94 * GiB,
      rootfs_used_bytes: Math.round((12 + 35 * i) * GiB),
      uptime_seconds: 86400 * (12 - i) + k * 300,
      // the physical NICs' counters since boot: (1 + i) MiB/s in, 512 KiB/s out
      net_in_bytes: 10 * GiB + k * 300 * (1 + i) * 1024 * 1024,
      net_out_bytes: GiB + k * 300 * 512 * 1024,
    });
    // history: one report every 5 minutes for the last two hours (node 01 has a 20-minute gap)
    for (let k = 0; k <= 24; k++) {
      if (i === 0 && k >= 8 && k < 12) continue;
      await post(base, '/api/proxmox/node', access, node(now - (24 - k) * 300_000, k));
    }
    // storage (issue 15): a local pool per node, node 03's nearly full, and one shared pool
    await post(base, '/api/proxmox/storage', access, {
      node: name,
      cluster_name: cluster,
      collected_at: new Date(now).toISOString(),
      storages: [
        {
          storage: 'local-lvm',
          type: 'lvmthin',
          shared: 0,
          enabled: 1,
          active: 1,
          total_bytes: 100 * GiB,
          used_bytes: (i === 2 ? 93 : 20 + 10 * i) * GiB,
          avail_bytes: (i === 2 ? 7 : 80 - 10 * i) * GiB,
        },
        {
          storage: 'nfs-iso',
          type: 'nfs',
          shared: 1,
          enabled: 1,
          active: 1,
          total_bytes: 1000 * GiB,
          used_bytes: 250 * GiB,
          avail_bytes: 750 * GiB,
        },
      ],
    });
    if (i === 0) {
      const usage = { cpu_usage_ratio: 0.42, mem_used_bytes: 3 * GiB, disk_used_bytes: 9 * GiB };
      await post(base, '/api/proxmox/lxc', access, { ...SPEC.lxc, ...usage, cluster_name: cluster });
      // the same container with more memory: a configuration change to show as a diff
      await post(base, '/api/proxmox/lxc', access, {
        ...SPEC.lxc,
        ...usage,
        cluster_name: cluster,
        memory_mb: 16384,
        config: { ...SPEC.lxc.config, memory: 16384 },
      });
      await post(base, '/api/proxmox/qemu', access, {
        ...SPEC.qemu,
        cpu_usage_ratio: 0.07,
        cluster_name: cluster,
      });
      await post(base, '/api/proxmox/lxc', access, {
        ...SPEC.lxc,
        cluster_name: cluster,
        name: XSS_NAME,
        hostname: 'xss',
        lxc_id: 'lxc/101',
        vmid: 101,
        status: 'stopped',
        tags: 'test',
      });
    }
  }
  // a second cluster with the same name and id, told apart by its fingerprint; it has lost quorum
  const fingerprint = 'b7e3c1d09a4f5e6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b';
  const other = await t.register('pve-b1');
  await post(base, '/api/proxmox/cluster', other.access, {
    ...SPEC.cluster,
    cluster_fingerprint: fingerprint,
    nodes: 2,
    quorate: 0,
  });
  await post(base, '/api/proxmox/node', other.access, {
    ...SPEC.node,
    name: 'pve-b1',
    cluster_name: cluster,
    cluster_fingerprint: fingerprint,
    pve_version: 'pve-manager/9.0.6/49c767b70aeb6648',
    cpu_usage_ratio: 0.02,
    mem_total_bytes: 32 * GiB,
    mem_used_bytes: 4 * GiB,
    uptime_seconds: 600,
  });
  const solo = await t.register('pve-solo');
  await post(base, '/api/proxmox/node', solo.access, {
    ...SPEC.node,
    name: 'pve-solo',
    node_id: 0,
    ip: '192.168.1.5',
    pve_version: 'pve-manager/8.4.1/2a5fa54a8503f96d',
    cpu_usage_ratio: 0.05,
    mem_total_bytes: 16 * GiB,
    mem_used_bytes: 3 * GiB,
    rootfs_total_bytes: 50 * GiB,
    rootfs_used_bytes: 47 * GiB,
    load_avg_1m: 0.2,
    uptime_seconds: 3600,
  });
  await post(base, '/api/proxmox/qemu', solo.access, {
    ...SPEC.qemu,
    node: 'pve-solo',
    name: 'homeassistant',
    qemu_id: 'qemu/300',
    vmid: 300,
  });
  await t.app.nanny.committer.drain();
  return tokens;
}
