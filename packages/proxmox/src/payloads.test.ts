import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { validatePayload, type PayloadKind } from '@nanny/schema';
import {
  buildClusterPayload,
  buildLxcPayload,
  buildNodePayload,
  buildQemuPayload,
  type ReportMeta,
} from './payloads.ts';
import {
  configFromPending,
  normalizeApiConfig,
  parseGuestConfigFile,
  pendingKeysOf,
  type PendingEntry,
} from './config-file.ts';
import { unwrapEnvelope } from './envelope.ts';
import type { ClusterResource, ClusterStatusEntry, NodeStatus } from './types.ts';

const read = (p: string) => readFileSync(new URL(`../fixtures/${p}`, import.meta.url), 'utf8');
const json = (p: string): unknown => unwrapEnvelope(JSON.parse(read(p)));
const specBody = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../schema/fixtures/valid/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
const meta: ReportMeta = { collectedAt: '2026-11-25T22:00:00.000Z', agentVersion: '0.1.0' };

function assertValid(kind: PayloadKind, body: unknown): void {
  const r = validatePayload(kind, body);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.issues));
}

test('the spec LXC config builds the spec LXC POST body field for field', () => {
  const expected = specBody('spec-lxc.json');
  const config = normalizeApiConfig('lxc', expected.config);
  assert.deepEqual(config.warnings, []);
  const res: ClusterResource = {
    id: 'lxc/100',
    type: 'lxc',
    vmid: 100,
    node: 'pve-node-01',
    name: 'web-prod-01',
    status: 'running',
    uptime: 86400,
  };
  const r = buildLxcPayload(res, config.data, meta);
  assert.deepEqual(r.warnings, []);
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(r.data[k as keyof typeof r.data], v, k);
  assertValid('lxc', r.data);
  assert.deepEqual(
    r.data.networks?.map((n) => [n.key, n.ip, n.bridge]),
    [['net0', '10.0.1.100/24', 'vmbr0']],
  );
  assert.deepEqual(
    r.data.disks?.map((d) => [d.key, d.mount_path, d.size_bytes]),
    [
      ['rootfs', '/', 32 * 1024 ** 3],
      ['mp0', '/data', undefined],
    ],
  );
});

const lxcRes = (over: Partial<ClusterResource> = {}): ClusterResource => ({
  id: 'lxc/101',
  type: 'lxc',
  vmid: 101,
  node: 'pve1',
  name: 'proxy01',
  status: 'running',
  uptime: 3600,
  cpu: 0.05,
  mem: 536870912,
  disk: 1073741824,
  maxcpu: 2,
  ...over,
});

test('the LXC payload is the same from the config file, the config endpoint and (but for raw lxc.* keys) the pending endpoint', () => {
  const file = parseGuestConfigFile(read('conf/lxc-101.conf'), 'lxc');
  const api = normalizeApiConfig('lxc', json('api/lxc-101.config-current.json'));
  const pending = configFromPending('lxc', json('api/lxc-101.pending.json') as PendingEntry[]);
  const m = { ...meta, pendingKeys: pendingKeysOf(file.data) };
  const fromFile = buildLxcPayload(lxcRes(), file.data.current, m);
  const fromApi = buildLxcPayload(lxcRes(), { ...api.data, digest: 'whatever-the-api-said' }, m);
  const fromPending = buildLxcPayload(lxcRes(), pending.current, {
    ...meta,
    pendingKeys: pending.pendingKeys,
  });
  assert.deepEqual(fromFile.warnings, []);
  assert.deepEqual(fromApi.data, fromFile.data);
  // GET …/pending has no raw lxc.* keys (config_with_pending_array skips array values): that is
  // the only difference, and only for containers that have such keys.
  const { lxc, ...fileConfigWithoutRaw } = fromFile.data.config ?? {};
  assert.equal(typeof lxc, 'string');
  assert.deepEqual(fromPending.data, { ...fromFile.data, config: fileConfigWithoutRaw });
  const p = fromFile.data;
  assertValid('lxc', p);
  assert.equal(p.cpu_cores, 2);
  assert.equal(p.memory_mb, 2048, 'the running value, not the pending 4096');
  assert.deepEqual(p.pending_keys, ['cores', 'memory', 'net1', 'tags']);
  assert.equal(p.tags, 'prod,proxy');
  assert.equal(p.unprivileged, true);
  assert.equal(p.protection, true);
  assert.equal(p.template, false);
  assert.equal(p.cpu_usage_ratio, 0.05);
  assert.equal(p.config?.digest, undefined);
  assert.equal(p.disks?.length, 4);
  assert.equal(p.networks?.[1]?.ip, 'dhcp');
});

test('the QEMU payload is the same from the config file and the config endpoint', () => {
  const file = parseGuestConfigFile(read('conf/qemu-201.conf'), 'qemu');
  const api = normalizeApiConfig('qemu', json('api/qemu-201.config-current.json'));
  const res: ClusterResource = {
    id: 'qemu/201',
    type: 'qemu',
    vmid: 201,
    node: 'pve1',
    name: 'db01',
    status: 'running',
    uptime: 7200,
  };
  const fromFile = buildQemuPayload(res, file.data.current, {
    ...meta,
    pendingKeys: pendingKeysOf(file.data),
  });
  const fromApi = buildQemuPayload(res, api.data, { ...meta, pendingKeys: ['balloon', 'memory'] });
  assert.deepEqual(fromFile.warnings, []);
  assert.deepEqual(fromApi.data, fromFile.data);
  const p = fromFile.data;
  assertValid('qemu', p);
  assert.equal(p.qemu_id, 'qemu/201');
  assert.equal(p.cpu_cores, 4);
  assert.equal(p.cpu_sockets, 2);
  assert.equal(p.memory_mb, 16384, 'memory arrives as the string "16384" since PVE 8.1');
  assert.equal(p.tags, 'prod,db');
  assert.deepEqual(
    p.disks?.map((d) => d.key),
    ['ide2', 'sata0', 'scsi0', 'scsi1', 'efidisk0', 'tpmstate0', 'unused0'],
  );
  assert.deepEqual(
    p.networks?.map((n) => [n.model, n.hwaddr, n.link_down]),
    [
      ['virtio', 'BC:24:11:2E:C5:4A', undefined],
      ['e1000', 'BC:24:11:2E:C5:4B', true],
    ],
  );
});

test('a VM without cores, sockets or memory gets the Proxmox defaults: 1 core, 1 socket, 512 MiB', () => {
  const r = buildQemuPayload(
    { id: 'qemu/300', type: 'qemu', vmid: 300, node: 'n', status: 'stopped' },
    { name: 'tiny' },
    meta,
  );
  assert.deepEqual(r.warnings, []);
  assert.equal(r.data.cpu_cores, 1);
  assert.equal(r.data.cpu_sockets, 1);
  assert.equal(r.data.memory_mb, 512);
  assert.equal(r.data.name, 'tiny', 'name from the config when /cluster/resources has none');
  assertValid('qemu', r.data);
});

test('a container without cores gets the host core count from maxcpu; without memory/swap 512 MiB each', () => {
  const r = buildLxcPayload(lxcRes({ maxcpu: 16 }), { hostname: 'x', ostype: 'alpine' }, meta);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.data.cpu_cores, 16);
  assert.equal(r.data.memory_mb, 512);
  assert.equal(r.data.swap_mb, 512);
  assert.equal(r.data.unprivileged, false);
  assert.equal(r.data.protection, false);
  assert.equal(r.data.tags, undefined, 'no tags: no field, not an empty string');
});

test('unreadable guest values become warnings and are left out, never 0', () => {
  const r = buildQemuPayload(
    { id: 'qemu/5', type: 'qemu', vmid: '5', node: 'n', status: 'running', uptime: 'soon', cpu: 'x' },
    { cores: 'four', memory: 'lots', sockets: '2' },
    meta,
  );
  assert.equal(r.data.vmid, 5);
  assert.equal(r.data.cpu_cores, undefined);
  assert.equal(r.data.memory_mb, undefined);
  assert.equal(r.data.uptime, undefined);
  assert.equal(r.data.cpu_usage_ratio, undefined);
  assert.equal(r.data.cpu_sockets, 2);
  assert.equal(r.warnings.length, 4);
  assertValid('qemu', r.data);
});

test('a guest resource without status is reported "unknown" with a warning; vmid falls back to the id', () => {
  const r = buildLxcPayload({ id: 'lxc/77', type: 'lxc', node: 'n' }, {}, meta);
  assert.equal(r.data.vmid, 77);
  assert.equal(r.data.status, 'unknown');
  assert.equal(r.warnings.length, 1);
});

test('templates are flagged from the config or from /cluster/resources', () => {
  const res = { id: 'qemu/9000', type: 'qemu', vmid: 9000, node: 'n', status: 'stopped', template: 1 };
  assert.equal(buildQemuPayload(res, {}, meta).data.template, true);
  assert.equal(buildQemuPayload({ ...res, template: '' }, { template: 1 }, meta).data.template, true);
  assert.equal(buildQemuPayload({ ...res, template: '' }, {}, meta).data.template, false);
});

test('the cluster payload from /cluster/status carries members and the meta fields', () => {
  const status = json('api/cluster-status.3nodes-1offline.json') as ClusterStatusEntry[];
  const r = buildClusterPayload(status, {
    ...meta,
    reportingNode: 'pve1',
    clusterFingerprint: 'ab'.repeat(32),
  });
  assert.ok(r);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.data, {
    cluster_name: 'lab',
    cluster_id: 'cluster',
    nodes: 3,
    quorate: 1,
    version: 5,
    cluster_fingerprint: 'ab'.repeat(32),
    collected_at: meta.collectedAt,
    agent_version: '0.1.0',
    reporting_node: 'pve1',
    members: [
      { name: 'pve2', node_id: 2, online: 1, ip: '192.168.50.12', local: 0, level: 'c' },
      { name: 'pve1', node_id: 1, online: 1, ip: '192.168.50.11', local: 1, level: 'c' },
      { name: 'pve3', node_id: 3, online: 0, local: 0, level: '' },
    ],
  });
  assertValid('cluster', r.data);
});

test('a standalone node sends no cluster payload', () => {
  const status = json('api/cluster-status.standalone.json') as ClusterStatusEntry[];
  assert.equal(buildClusterPayload(status, { ...meta, reportingNode: 'homelab' }), null);
});

test('an unreadable quorate is a warning and reported as not quorate', () => {
  const r = buildClusterPayload(
    [{ type: 'cluster', id: 'cluster', name: 'c', nodes: '2', quorate: 'yes-ish' }],
    { ...meta, reportingNode: 'a' },
  );
  assert.ok(r);
  assert.equal(r.data.quorate, 0);
  assert.equal(r.data.nodes, 2);
  assert.equal(r.warnings.length, 2);
});

test('the node payload combines /cluster/status and /nodes/{node}/status', () => {
  const status = json('api/cluster-status.3nodes-1offline.json') as ClusterStatusEntry[];
  const ns = json('api/node-status.pve9.json') as NodeStatus;
  const r = buildNodePayload(
    {
      nodeName: 'pve1',
      clusterStatus: status,
      nodeStatus: ns,
      intervalSeconds: 300,
      heartbeatIntervalSeconds: 60,
    },
    meta,
  );
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.data, {
    name: 'pve1',
    node_id: 1,
    ip: '192.168.50.11',
    online: 1,
    local: 1,
    level: 'c',
    pve_version: 'pve-manager/9.1.1/42db4a6cf33dac83',
    collected_at: meta.collectedAt,
    agent_version: '0.1.0',
    cluster_name: 'lab',
    interval_seconds: 300,
    heartbeat_interval_seconds: 60,
    cpu_usage_ratio: 0.0423,
    io_wait_ratio: 0.0012,
    cpu_model: 'AMD Ryzen 7 5700G with Radeon Graphics',
    cpu_cores: 8,
    cpu_sockets: 1,
    cpu_threads: 16,
    load_avg_1m: 0.16,
    load_avg_5m: 0.1,
    load_avg_15m: 0.09,
    mem_total_bytes: 67108864000,
    mem_used_bytes: 12133282612,
    mem_free_bytes: 30064771072,
    swap_total_bytes: 8589930496,
    swap_used_bytes: 0,
    swap_free_bytes: 8589930496,
    rootfs_total_bytes: 100861726720,
    rootfs_used_bytes: 24372563968,
    rootfs_avail_bytes: 71318425600,
    uptime_seconds: 1480737,
    kernel_version: 'Linux 6.14.11-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4 (2025-10-10T08:04Z)',
  });
  assertValid('node', r.data);
});

test('/proc CPU shares win over the API value, and a standalone node reports node_id 0', () => {
  const status = json('api/cluster-status.standalone.json') as ClusterStatusEntry[];
  const r = buildNodePayload(
    {
      nodeName: 'homelab',
      clusterStatus: status,
      nodeStatus: { cpu: 0.9, wait: 0.5 },
      cpu: { busyRatio: 0.2, ioWaitRatio: 0.01 },
      version: 'pve-manager/9.1.1/42db4a6cf33dac83',
    },
    meta,
  );
  assert.deepEqual(r.warnings, []);
  assert.equal(r.data.node_id, 0);
  assert.equal(r.data.cluster_name, undefined);
  assert.equal(r.data.cpu_usage_ratio, 0.2);
  assert.equal(r.data.io_wait_ratio, 0.01);
  assertValid('node', r.data);
});

test('node network counters (/proc/net/dev) become net_in_bytes/net_out_bytes, absent without them', () => {
  const r = buildNodePayload({ nodeName: 'n1', net: { inBytes: 81235567890, outBytes: 7125456789 } }, meta);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.data.net_in_bytes, 81235567890);
  assert.equal(r.data.net_out_bytes, 7125456789);
  assertValid('node', r.data);
  assert.equal('net_in_bytes' in buildNodePayload({ nodeName: 'n1' }, meta).data, false);
  assert.equal(validatePayload('node', { ...r.data, net_in_bytes: -1 }).ok, false);
});

test('a node missing from /cluster/status and garbage load averages are warnings', () => {
  const r = buildNodePayload(
    { nodeName: 'ghost', clusterStatus: [], nodeStatus: { loadavg: ['0.1', 'x', '0.3'], uptime: '12' } },
    meta,
  );
  assert.equal(r.data.node_id, undefined);
  assert.equal(r.data.load_avg_5m, undefined);
  assert.equal(r.data.load_avg_1m, 0.1);
  assert.equal(r.data.uptime_seconds, 12);
  assert.equal(r.warnings.length, 2);
});
