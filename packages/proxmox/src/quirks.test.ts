/**
 * One test per quirk listed in pve-reference/README.md ("Quirks that break naive code"), on this
 * package's own hand-written fixtures, so they hold on a machine without ../shared.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  buildClusterPayload,
  buildLxcPayload,
  buildNodePayload,
  buildQemuPayload,
  type ReportMeta,
} from './payloads.ts';
import { clusterFingerprint } from './identity.ts';
import { clusterStatusFromMembers, parseMembers, parseVmlist } from './pmxcfs.ts';
import { normalizeApiConfig, parseGuestConfigFile, pendingKeysOf } from './config-file.ts';
import { unwrapEnvelope } from './envelope.ts';
import { parseQemuMemory } from './guest-parsers.ts';
import type { ClusterResource, ClusterStatusEntry } from './types.ts';

const read = (p: string) => readFileSync(new URL(`../fixtures/${p}`, import.meta.url), 'utf8');
const json = (p: string): unknown => unwrapEnvelope(JSON.parse(read(p)));
const meta: ReportMeta = { collectedAt: '2026-11-25T22:00:00.000Z', agentVersion: '0.1.0' };

test('quirk: the cluster entry id is "cluster" on every cluster, so identity comes from the CA fingerprint', () => {
  const status = json('api/cluster-status.3nodes-1offline.json') as ClusterStatusEntry[];
  const pem = read('pve-root-ca.pem');
  const a = buildClusterPayload(status, {
    ...meta,
    reportingNode: 'pve1',
    clusterFingerprint: clusterFingerprint(pem),
  });
  const otherPem = pem.replace('EXAMPLE', 'ANOTHER');
  const b = buildClusterPayload(status, {
    ...meta,
    reportingNode: 'pve1',
    clusterFingerprint: clusterFingerprint(otherPem),
  });
  assert.ok(a && b);
  assert.equal(a.data.cluster_id, 'cluster');
  assert.equal(b.data.cluster_id, 'cluster');
  assert.equal(a.data.cluster_name, b.data.cluster_name);
  assert.notEqual(a.data.cluster_fingerprint, b.data.cluster_fingerprint);
});

test('quirk: a standalone node has no cluster entry and reports itself with nodeid 0', () => {
  const api = json('api/cluster-status.standalone.json') as ClusterStatusEntry[];
  assert.equal(
    api.some((e) => e.type === 'cluster'),
    false,
  );
  assert.equal(buildClusterPayload(api, { ...meta, reportingNode: 'homelab' }), null);
  const node = buildNodePayload({ nodeName: 'homelab', clusterStatus: api }, meta);
  assert.equal(node.data.node_id, 0);
  assert.equal(node.data.online, 1);
  // The files source rebuilds the same shape from a standalone .members.
  const members = parseMembers(read('pmxcfs/members.standalone.txt')).data;
  assert.ok(members);
  assert.deepEqual(clusterStatusFromMembers(members, 'homelab', { localIp: '192.168.1.20' }), api);
});

test('quirk: numbers arrive as strings, booleans as 0/1 and template as "" (PVE 6.2)', () => {
  const [ct, tmpl] = json('api/cluster-resources.pve6-strings.json') as ClusterResource[];
  assert.ok(ct && tmpl);
  const config = normalizeApiConfig('lxc', {
    memory: '2048',
    cpulimit: '0',
    swap: '512',
    unprivileged: 1,
    protection: 0,
  });
  assert.deepEqual(config.data, { memory: 2048, cpulimit: '0', swap: 512, unprivileged: 1, protection: 0 });
  const p = buildLxcPayload(ct, config.data, meta);
  assert.deepEqual(p.warnings, []);
  assert.equal(p.data.vmid, 100);
  assert.equal(p.data.uptime, 86400);
  assert.equal(p.data.memory_mb, 2048);
  assert.equal(p.data.cpu_usage_ratio, 0.0123);
  assert.equal(p.data.disk_used_bytes, 744189952);
  assert.equal(p.data.template, false, 'template "" means no');
  assert.equal(p.data.unprivileged, true);
  assert.equal(p.data.protection, false);
  const t = buildQemuPayload(tmpl, {}, meta);
  assert.equal(t.data.vmid, 9000);
  assert.equal(t.data.template, true);
});

test('quirk: QEMU memory is a property string from PVE 8.1 and a number before', () => {
  assert.equal(parseQemuMemory(4096).data.currentMb, 4096);
  assert.equal(parseQemuMemory('4096').data.currentMb, 4096);
  assert.equal(parseQemuMemory('current=4096').data.currentMb, 4096);
  const res: ClusterResource = { id: 'qemu/1', type: 'qemu', vmid: 1, node: 'n', status: 'running' };
  for (const memory of [4096, '4096', 'current=4096']) {
    assert.equal(buildQemuPayload(res, { memory }, meta).data.memory_mb, 4096, String(memory));
  }
});

test('quirk: tags are ;-separated in configs and /cluster/resources and go out comma-separated', () => {
  const [ct] = json('api/cluster-resources.pve6-strings.json') as ClusterResource[];
  assert.ok(ct);
  assert.equal(ct.tags, 'dns;infra');
  assert.equal(buildLxcPayload(ct, {}, meta).data.tags, 'dns,infra', 'from /cluster/resources');
  assert.equal(buildLxcPayload(ct, { tags: 'prod;web' }, meta).data.tags, 'prod,web', 'the config wins');
  assert.equal(
    buildQemuPayload({ ...ct, type: 'qemu' }, { tags: 'one, two, three' }, meta).data.tags,
    'one,two,three',
  );
});

test('quirk: pvesh prints bare data while the HTTPS API wraps it in {"data": …}', () => {
  const bare = JSON.parse(read('api/cluster-status.3nodes-1offline.json')) as unknown;
  const wrapped = { data: bare };
  assert.deepEqual(unwrapEnvelope(wrapped), unwrapEnvelope(bare));
  const q = JSON.parse(read('api/qemu-201.config-current.json')) as { data: unknown };
  assert.deepEqual(normalizeApiConfig('qemu', q), normalizeApiConfig('qemu', q.data));
});

test('quirk: config files hold snapshot sections after the main one and the description as %-encoded # lines', () => {
  const file = parseGuestConfigFile(read('conf/qemu-201.conf'), 'qemu');
  assert.deepEqual(file.warnings, []);
  assert.equal(file.data.current.description, 'Primary PostgreSQL: do not migrate during business hours');
  assert.deepEqual(Object.keys(file.data.snapshots), ['pre-17']);
  assert.equal(file.data.current.vmstate, undefined, 'snapshot keys do not leak into the main section');
  assert.equal(file.data.current.runningmachine, undefined);
  assert.equal(file.data.current.parent, 'pre-17');
});

test('quirk: pending changes live in [PENDING] / [pve:pending]; the report uses the running values', () => {
  const q = parseGuestConfigFile(read('conf/qemu-201.conf'), 'qemu');
  assert.equal(q.data.current.memory, '16384');
  assert.equal(q.data.pending.memory, '32768');
  const l = parseGuestConfigFile(read('conf/lxc-101.conf'), 'lxc');
  assert.equal(l.data.current.cores, 2);
  assert.equal(l.data.pending.cores, 4);
  const res: ClusterResource = { id: 'lxc/101', type: 'lxc', vmid: 101, node: 'pve1', status: 'running' };
  const p = buildLxcPayload(res, l.data.current, { ...meta, pendingKeys: pendingKeysOf(l.data) });
  assert.equal(p.data.cpu_cores, 2);
  assert.deepEqual(p.data.pending_keys, ['cores', 'memory', 'net1', 'tags']);
});

test('quirk: a dot-file read can be torn or empty (pmxcfs rebuilds it per read): parsers refuse it so the reader retries', () => {
  const vmlist = read('pmxcfs/vmlist.txt');
  assert.equal(parseVmlist(vmlist.slice(0, 40)).data, undefined);
  assert.equal(parseVmlist('').data, undefined);
  assert.ok(parseVmlist(vmlist).data);
  assert.equal(parseMembers('').data, undefined);
});
