import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePvecfg, parsePvecmStatus, parsePveversion } from './cli-output.ts';

const fixture = (p: string) => readFileSync(new URL(`../fixtures/cli/${p}`, import.meta.url), 'utf8');

test('short pveversion gives manager string, version, repoid and running kernel', () => {
  assert.deepEqual(parsePveversion(fixture('pveversion.short.txt')), {
    data: {
      manager: 'pve-manager/8.4.1/2a5fa54a8503f96d',
      version: '8.4.1',
      repoid: '2a5fa54a8503f96d',
      kernel: '6.8.12-9-pve',
      packages: {},
    },
    warnings: [],
  });
  assert.equal(
    parsePveversion('pve-manager/7.4-3/9002ab8a (running kernel: 6.2.11-1-pve)').data?.version,
    '7.4-3',
  );
});

test('pveversion -v gives the same manager string plus every package, the helper listed twice', () => {
  const r = parsePveversion(fixture('pveversion-v.pve8.txt'));
  assert.deepEqual(r.warnings, []);
  assert.equal(r.data?.manager, 'pve-manager/8.4.1/2a5fa54a8503f96d');
  assert.equal(r.data?.version, '8.4.1');
  assert.equal(r.data?.kernel, '6.8.12-9-pve');
  assert.equal(r.data?.packages['proxmox-ve'], '8.4.0');
  assert.equal(r.data?.packages['pve-manager'], '8.4.1');
  assert.equal(r.data?.packages['proxmox-kernel-helper'], '8.1.1');
  assert.equal(r.data?.packages['qemu-server'], '8.3.12');
  const seven = parsePveversion(fixture('pveversion-v.pve7.txt'));
  assert.equal(seven.data?.manager, 'pve-manager/7.4-16/0f39f621');
  assert.equal(seven.data?.kernel, '5.15.108-1-pve');
});

test('pveversion output without pve-manager is a warning and no data', () => {
  assert.equal(parsePveversion('').data, undefined);
  const r = parsePveversion('bash: pveversion: command not found');
  assert.equal(r.data, undefined);
  assert.ok(r.warnings.length >= 1);
});

test('pvecm status of a quorate cluster', () => {
  const r = parsePvecmStatus(fixture('pvecm-status.quorate.txt'));
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.data, {
    standalone: false,
    clusterName: 'lab',
    configVersion: 5,
    transport: 'knet',
    quorate: true,
    nodes: 2,
    nodeId: 1,
    expectedVotes: 3,
    totalVotes: 2,
    quorum: 2,
    flags: ['Quorate'],
    members: [
      { nodeid: 1, votes: 1, name: '192.168.50.11', local: true },
      { nodeid: 2, votes: 1, name: '192.168.50.12', local: false },
    ],
  });
});

test('pvecm status of a cluster without quorum', () => {
  const r = parsePvecmStatus(fixture('pvecm-status.not-quorate.txt'));
  assert.deepEqual(r.warnings, []);
  assert.equal(r.data.quorate, false);
  assert.equal(r.data.quorum, 2, '"2 Activity blocked"');
  assert.deepEqual(r.data.flags, []);
  assert.equal(r.data.totalVotes, 1);
});

test('pvecm status on a standalone node is recognised from the error on stderr', () => {
  const r = parsePvecmStatus('', fixture('pvecm-status.standalone.stderr.txt'));
  assert.deepEqual(r, { data: { standalone: true }, warnings: [] });
});

test('pvecm status with a qdevice column reads the member lines', () => {
  const text = [
    'Quorate:          Yes',
    'Membership information',
    '----------------------',
    '    Nodeid      Votes    Qdevice Name',
    '0x00000001          1    A,V,NMW 10.0.0.1',
    '0x00000002          1    A,V,NMW 10.0.0.2 (local)',
    '0x00000000          1            Qdevice',
  ].join('\n');
  const r = parsePvecmStatus(text);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.data.members, [
    { nodeid: 1, votes: 1, name: '10.0.0.1', local: false, qdevice: 'A,V,NMW' },
    { nodeid: 2, votes: 1, name: '10.0.0.2', local: true, qdevice: 'A,V,NMW' },
    { nodeid: 0, votes: 1, name: 'Qdevice', local: false },
  ]);
});

test('pvecm status output without a Quorate line is a warning', () => {
  const r = parsePvecmStatus('something else entirely');
  assert.equal(r.data.quorate, undefined);
  assert.equal(r.warnings.length, 1);
});

test('pvecfg.pm gives the same manager string as pveversion without starting Perl', () => {
  const r = parsePvecfg(fixture('pvecfg.pm.txt'));
  assert.deepEqual(r, {
    data: {
      manager: 'pve-manager/8.4.1/2a5fa54a8503f96d',
      version: '8.4.1',
      release: '8.4',
      repoid: '2a5fa54a8503f96d',
    },
    warnings: [],
  });
  assert.equal(r.data?.manager, parsePveversion(fixture('pveversion.short.txt')).data?.manager);
  assert.equal(parsePvecfg('package PVE::pvecfg;\n').data, undefined);
});
