import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import {
  cephHealthOf,
  newestInstalledKernel,
  parseRrdDump,
  parseStorageCfg,
  rebootRequired,
  storagesFromApi,
  storagesFromFiles,
  summarizeUpdates,
} from './index.ts';

// storage.cfg in the SectionConfig writer's layout (pve-reference ops/09-storage.md): no `dir: local`
// (PVE injects it), a disabled zfspool, a PBS restricted to another node, an NFS (shared by type).
const CFG = `lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images

zfspool: tank
\tdisable
\tpool tank
\tcontent images

pbs: backup
\tserver 10.0.0.5
\tdatastore main
\tnodes pve2
\tcontent backup

nfs: nas
\texport /srv/nfs
\tpath /mnt/pve/nas
\tserver 10.0.0.6
\tcontent iso,backup
`;

// .rrd storage lines (PMXCFS.md §3): active storages only; `nas` has no line (unreachable)
const RRD = `pve-storage-9.0/pve1/local:1732000015:100861726720:7954288640
pve-storage-9.0/pve1/local-lvm:1732000015:499289948160:21474836480
`;

// /nodes/pve1/storage as pvesh prints it for the same node (hash order, content in hash order)
const API = [
  {
    storage: 'nas',
    type: 'nfs',
    content: 'backup,iso',
    shared: 1,
    enabled: 1,
    active: 0,
    total: 0,
    used: 0,
    avail: 0,
  },
  {
    storage: 'backup',
    type: 'pbs',
    content: 'backup',
    shared: 1,
    enabled: 0,
    active: 0,
    total: 0,
    used: 0,
    avail: 0,
  },
  {
    storage: 'local',
    type: 'dir',
    content: 'vztmpl,iso,backup,images,snippets,rootdir',
    shared: 0,
    enabled: 1,
    active: 1,
    total: 100861726720,
    used: 7954288640,
    avail: 87736700928,
    used_fraction: 0.0788,
  },
  {
    storage: 'tank',
    type: 'zfspool',
    content: 'images',
    shared: 0,
    enabled: 0,
    active: 0,
    total: 0,
    used: 0,
    avail: 0,
  },
  {
    storage: 'local-lvm',
    type: 'lvmthin',
    content: 'images,rootdir',
    shared: 0,
    enabled: 1,
    active: '1',
    total: '499289948160',
    used: 21474836480,
    avail: 477815111680,
    used_fraction: 0.043,
  },
];

test('storage.cfg + the .rrd lines give the same storages as /nodes/{node}/storage', () => {
  const cfg = parseStorageCfg(CFG);
  assert.deepEqual(cfg.warnings, []);
  const rrd = parseRrdDump(RRD).data!;
  const files = storagesFromFiles(cfg.data, rrd, 'pve1');
  const api = storagesFromApi(API);
  assert.deepEqual(api.warnings, []);
  assert.deepEqual(files, api.data);
  assert.deepEqual(
    files.map((s) => [s.storage, s.shared, s.enabled, s.active, s.used_bytes]),
    [
      ['backup', 1, 0, 0, undefined],
      ['local', 0, 1, 1, 7954288640],
      ['local-lvm', 0, 1, 1, 21474836480],
      ['nas', 1, 1, 0, undefined],
      ['tank', 0, 0, 0, undefined],
    ],
  );
});

test('the newest installed kernel image, and whether a reboot is pending', () => {
  // pveversion -v kernel lines of PVE 9.1.1 (pve-reference cli/), plus a newer image installed
  const pkgs = {
    'proxmox-kernel-helper': '9.0.4',
    'proxmox-kernel-6.17.4-1-pve-signed': '6.17.4-1',
    'proxmox-kernel-6.17': '6.17.4-1',
    'proxmox-kernel-6.17.2-2-pve-signed': '6.17.2-2',
    'pve-kernel-5.15.108-1-pve': '5.15.108-1',
  };
  assert.equal(newestInstalledKernel(pkgs), '6.17.4-1-pve');
  assert.equal(rebootRequired('6.17.2-2-pve', '6.17.4-1-pve'), true);
  assert.equal(rebootRequired('6.17.4-1-pve', '6.17.4-1-pve'), false);
  assert.equal(rebootRequired(undefined, '6.17.4-1-pve'), undefined);
  assert.equal(newestInstalledKernel({ 'proxmox-kernel-6.8': '6.8.12-9' }), undefined);
});

test('updates cache and Ceph health', () => {
  const u = summarizeUpdates([
    { Package: 'pve-manager', Origin: 'Proxmox', Version: '9.1.2', OldVersion: '9.1.1' },
    { Package: 'libssl3t64', Origin: 'Debian', Version: '3.5.1-1+deb13u1', OldVersion: '3.5.1-1' },
  ]);
  // PVE copies no security label: nothing in the cache says libssl3t64 is a security update
  assert.deepEqual(u.data, { count: 2 });
  assert.equal(summarizeUpdates({}).data, undefined);
  const c = cephHealthOf({
    health: {
      status: 'HEALTH_WARN',
      checks: {
        POOL_NO_REDUNDANCY: {
          severity: 'HEALTH_WARN',
          summary: { message: '2 pool(s) have no replicas configured', count: 2 },
          muted: false,
        },
      },
      mutes: [],
    },
  });
  assert.deepEqual(c.data, {
    status: 'HEALTH_WARN',
    checks: [
      {
        code: 'POOL_NO_REDUNDANCY',
        severity: 'HEALTH_WARN',
        message: '2 pool(s) have no replicas configured',
      },
    ],
  });
  assert.equal(cephHealthOf({ health: { overall_status: 'HEALTH_OK' } }).data, undefined);
});
