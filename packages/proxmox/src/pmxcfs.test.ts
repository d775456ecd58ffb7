import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  clusterResourcesFromFiles,
  clusterStatusFromMembers,
  isStandalone,
  levelsFromRrd,
  parseMembers,
  parseRrdDump,
  parseVmlist,
} from './pmxcfs.ts';

const fixture = (p: string) => readFileSync(new URL(`../fixtures/pmxcfs/${p}`, import.meta.url), 'utf8');
const must = <T>(v: T | undefined): T => {
  assert.ok(v !== undefined);
  return v;
};

test('.members of a cluster gives the cluster block and every node, ip only where known', () => {
  const r = parseMembers(fixture('members.cluster.txt'));
  assert.deepEqual(r.warnings, []);
  const m = must(r.data);
  assert.equal(m.nodename, 'pve1');
  assert.equal(m.version, 74);
  assert.deepEqual(m.cluster, { name: 'lab', version: 5, nodes: 3, quorate: 1 });
  assert.deepEqual(m.nodelist.pve3, { id: 3, online: 0 });
  assert.deepEqual(m.nodelist.pve2, { id: 2, online: 1, ip: '192.168.50.12' });
  assert.equal(isStandalone(m), false);
});

test('.members of a standalone node has only nodename and version 0', () => {
  const r = parseMembers(fixture('members.standalone.txt'));
  assert.deepEqual(r.warnings, []);
  const m = must(r.data);
  assert.deepEqual(m, { nodename: 'homelab', version: 0, nodelist: {} });
  assert.equal(isStandalone(m), true);
});

test('a torn .members read is reported, not half-parsed', () => {
  const text = fixture('members.cluster.txt');
  const r = parseMembers(text.slice(0, text.length / 2));
  assert.equal(r.data, undefined);
  assert.match(r.warnings[0] ?? '', /not JSON.*torn read/);
  assert.equal(parseMembers('{"version": 1}').data, undefined);
});

test('/cluster/status from .members: cluster entry first with id "cluster", nodes sorted, local marked', () => {
  const m = must(parseMembers(fixture('members.cluster.txt')).data);
  const s = clusterStatusFromMembers(m, 'pve1', { levels: { pve1: 'c', pve2: 'c' } });
  assert.deepEqual(s, [
    { type: 'cluster', id: 'cluster', name: 'lab', nodes: 3, version: 5, quorate: 1 },
    {
      type: 'node',
      id: 'node/pve1',
      name: 'pve1',
      nodeid: 1,
      online: 1,
      local: 1,
      level: 'c',
      ip: '192.168.50.11',
    },
    {
      type: 'node',
      id: 'node/pve2',
      name: 'pve2',
      nodeid: 2,
      online: 1,
      local: 0,
      level: 'c',
      ip: '192.168.50.12',
    },
    { type: 'node', id: 'node/pve3', name: 'pve3', nodeid: 3, online: 0, local: 0, level: '' },
  ]);
});

test('/cluster/status of a standalone node is one node entry with nodeid 0 and no cluster entry', () => {
  const m = must(parseMembers(fixture('members.standalone.txt')).data);
  assert.deepEqual(clusterStatusFromMembers(m, 'homelab', { localIp: '192.168.1.20' }), [
    {
      type: 'node',
      id: 'node/homelab',
      name: 'homelab',
      nodeid: 0,
      online: 1,
      local: 1,
      level: '',
      ip: '192.168.1.20',
    },
  ]);
});

test('.members without quorum stays readable with quorate 0', () => {
  const m = must(parseMembers(fixture('members.noquorum.txt')).data);
  assert.equal(m.cluster?.quorate, 0);
  assert.equal(m.nodelist.pve2?.online, 0);
});

test('.vmlist lists every guest of the cluster with node, type and version, sorted by vmid', () => {
  const r = parseVmlist(fixture('vmlist.txt'));
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.data, {
    version: 109,
    guests: [
      { vmid: 101, node: 'pve1', type: 'lxc', version: 102 },
      { vmid: 201, node: 'pve1', type: 'qemu', version: 116 },
      { vmid: 300, node: 'pve3', type: 'qemu', version: 7 },
    ],
  });
  assert.deepEqual(parseVmlist(fixture('vmlist.empty.txt')), {
    data: { version: 1, guests: [] },
    warnings: [],
  });
});

test('.rrd prefers PVE 9 keys, reads PVE 8 keys, maps U to absent and ignores extra columns', () => {
  const r = parseRrdDump(fixture('rrd.mixed-pve8-pve9.txt'));
  assert.deepEqual(r.warnings, []);
  const pve1 = must(r.data.nodes.pve1);
  assert.equal(pve1.key, 'pve-node-9.0/pve1', 'the 9.0 key wins although the 8 key came first');
  assert.equal(pve1.uptime, 864010);
  assert.equal(pve1.level, 'c');
  assert.equal(pve1.ctime, 1732000010);
  assert.equal(pve1.cpu, 0.031);
  assert.equal(pve1.memavailable, 44040192000);
  const pve2 = must(r.data.nodes.pve2);
  assert.equal(pve2.level, undefined, 'empty subscription level');
  assert.equal(pve2.memtotal, 33537990656);
  assert.equal(pve2.memavailable, undefined);
  const db = must(r.data.vms['201']);
  assert.equal(db.key, 'pve-vm-9.0/201', 'the 9.0 key also wins when it comes first');
  assert.equal(db.memhost, 9126805504);
  assert.equal(db.uptime, 7200);
  const stopped = must(r.data.vms['300']);
  assert.equal(stopped.status, 'stopped');
  assert.equal(stopped.cpu, undefined);
  assert.equal(stopped.mem, undefined);
  assert.equal(stopped.maxmem, 4294967296);
  assert.deepEqual(r.data.storages['pve1/local-lvm'], {
    node: 'pve1',
    storage: 'local-lvm',
    key: 'pve-storage-9.0/pve1/local-lvm',
    ctime: 1732000015,
    total: 499289948160,
    used: 21474836480,
  });
  assert.equal(r.data.vms['999'], undefined, 'obsolete pve2-vm keys are not read');
  assert.deepEqual(levelsFromRrd(r.data), { pve1: 'c', pve2: '' });
});

test('a garbage .rrd field is a warning, not a zero', () => {
  const r = parseRrdDump('pve2.3-vm/5:abc:x:running:0:1:1:0.1:1:1:1:1:1:1:1:1\nnonsense\n');
  assert.equal(r.data.vms['5']?.uptime, undefined);
  assert.equal(r.warnings.length, 2);
});

test('/cluster/resources from the files: guests, then nodes (offline without usage), then storage', () => {
  const vmlist = must(parseVmlist(fixture('vmlist.txt')).data);
  const rrd = parseRrdDump(fixture('rrd.mixed-pve8-pve9.txt')).data;
  const members = must(parseMembers(fixture('members.cluster.txt')).data);
  const res = clusterResourcesFromFiles({
    vmlist,
    rrd,
    members,
    configs: { '101': { hostname: 'proxy01', tags: 'prod;proxy', lock: 'backup' } },
  });
  assert.deepEqual(
    res.map((r) => r.id),
    [
      'lxc/101',
      'qemu/201',
      'qemu/300',
      'node/pve1',
      'node/pve2',
      'node/pve3',
      'storage/pve1/local',
      'storage/pve1/local-lvm',
    ],
  );
  const ct = res[0]!;
  assert.equal(ct.status, 'running');
  assert.equal(ct.name, 'proxy01');
  assert.equal(ct.tags, 'prod;proxy');
  assert.equal(ct.lock, 'backup');
  assert.equal(ct.mem, 536870912);
  const stopped = res[2]!;
  assert.equal(stopped.status, 'stopped');
  assert.equal(stopped.cpu, undefined);
  const pve3 = res[5]!;
  assert.deepEqual(pve3, { id: 'node/pve3', type: 'node', node: 'pve3', status: 'offline' });
  const pve1 = res[3]!;
  assert.equal(pve1.status, 'online');
  assert.equal(pve1.mem, 21474836480);
  assert.equal(pve1.maxmem, 67322896384);
});

test('a guest without .rrd entry yet has status "unknown" and its name from the config', () => {
  const res = clusterResourcesFromFiles({
    vmlist: { version: 1, guests: [{ vmid: 105, node: 'n', type: 'qemu', version: 1 }] },
    rrd: { nodes: {}, vms: {}, storages: {} },
    configs: { '105': { name: 'fresh', template: 1 } },
  });
  assert.deepEqual(res, [
    { id: 'qemu/105', type: 'qemu', vmid: 105, node: 'n', status: 'unknown', name: 'fresh', template: 1 },
  ]);
});
