import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import {
  guestDisks,
  guestNetworks,
  parseBoot,
  parseLxcFeatures,
  parseLxcMount,
  parseLxcNet,
  parseQemuAgent,
  parseQemuDisk,
  parseQemuMemory,
  parseQemuNet,
  storageOfVolume,
} from './guest-parsers.ts';

const GiB = 1024 ** 3;

test('LXC net0 of the spec parses into interface, bridge, IP, gateway, MAC and firewall', () => {
  const r = parseLxcNet(
    'net0',
    'name=eth0,bridge=vmbr0,firewall=1,gw=10.0.1.1,hwaddr=BC:24:11:12:34:56,ip=10.0.1.100/24,type=veth',
  );
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.data, {
    key: 'net0',
    name: 'eth0',
    type: 'veth',
    hwaddr: 'BC:24:11:12:34:56',
    bridge: 'vmbr0',
    ip: '10.0.1.100/24',
    gw: '10.0.1.1',
    firewall: true,
  });
});

test('LXC net accepts dhcp/manual/auto addresses, tag, mtu, rate and link_down', () => {
  const r = parseLxcNet(
    'net1',
    'name=eth1,bridge=vmbr1,ip=dhcp,ip6=auto,gw6=fe80::1,tag=20,mtu=9000,rate=12.5,link_down=1,type=veth',
  );
  assert.deepEqual(r.warnings, []);
  assert.equal(r.data.ip, 'dhcp');
  assert.equal(r.data.ip6, 'auto');
  assert.equal(r.data.gw6, 'fe80::1');
  assert.equal(r.data.vlan_tag, 20);
  assert.equal(r.data.mtu, 9000);
  assert.equal(r.data.rate_mbytes_per_s, 12.5);
  assert.equal(r.data.link_down, true);
  assert.equal(parseLxcNet('net2', 'name=eth2,ip=manual,ip6=manual').warnings.length, 0);
});

test('an unreadable LXC net value is a warning and is left out, never 0', () => {
  const r = parseLxcNet('net0', 'name=eth0,tag=abc,firewall=maybe,ip=10.0.0.5');
  assert.equal(r.data.vlan_tag, undefined);
  assert.equal(r.data.firewall, undefined);
  assert.equal(r.warnings.length, 3);
  assert.match(r.warnings.join('\n'), /tag="abc"/);
  assert.match(r.warnings.join('\n'), /ip="10.0.0.5"/);
});

test('QEMU net reads the model=MAC default-key form', () => {
  const r = parseQemuNet('net0', 'virtio=BC:24:11:AB:CD:EF,bridge=vmbr0,firewall=1,tag=30,queues=4');
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.data, {
    key: 'net0',
    model: 'virtio',
    hwaddr: 'BC:24:11:AB:CD:EF',
    bridge: 'vmbr0',
    firewall: true,
    vlan_tag: 30,
    queues: 4,
  });
});

test('QEMU net also reads model=/macaddr= and a bare model, and link_down/rate/mtu', () => {
  const a = parseQemuNet('net1', 'model=e1000,macaddr=BC:24:11:00:00:01,link_down=1,rate=100,mtu=1');
  assert.deepEqual(a.warnings, []);
  assert.equal(a.data.model, 'e1000');
  assert.equal(a.data.hwaddr, 'BC:24:11:00:00:01');
  assert.equal(a.data.link_down, true);
  assert.equal(a.data.rate_mbytes_per_s, 100);
  const b = parseQemuNet('net2', 'vmxnet3,bridge=vmbr2');
  assert.equal(b.data.model, 'vmxnet3');
  assert.equal(b.data.hwaddr, undefined);
  assert.equal(parseQemuNet('net3', 'bridge=vmbr0').warnings.length, 1);
});

test('LXC rootfs and mount points give volume, storage, mount path, size in bytes and flags', () => {
  const root = parseLxcMount('rootfs', 'local-lvm:vm-100-disk-0,size=32G');
  assert.deepEqual(root.warnings, []);
  assert.deepEqual(root.data, {
    key: 'rootfs',
    volume: 'local-lvm:vm-100-disk-0',
    storage: 'local-lvm',
    size_bytes: 32 * GiB,
    mount_path: '/',
  });
  const mp = parseLxcMount(
    'mp0',
    'local-zfs:subvol-101-disk-1,mp=/srv,backup=1,ro=1,acl=0,quota=1,replicate=0,size=64G',
  );
  assert.deepEqual(mp.warnings, []);
  assert.equal(mp.data.mount_path, '/srv');
  assert.equal(mp.data.backup, true);
  assert.equal(mp.data.read_only, true);
  assert.equal((mp.data as { acl?: boolean }).acl, false);
  assert.equal((mp.data as { quota?: boolean }).quota, true);
  assert.equal(mp.data.replicate, false);
});

test('a bind mount has no storage and keeps its host path as volume', () => {
  const r = parseLxcMount('mp0', '/mnt/storage,mp=/data,backup=1,shared=1');
  assert.deepEqual(r.warnings, []);
  assert.equal(r.data.volume, '/mnt/storage');
  assert.equal(r.data.storage, undefined);
  assert.equal(r.data.shared, true);
  assert.equal(parseLxcMount('mp1', 'local:5').warnings.length, 1, 'mp without mp= path');
  assert.equal(parseLxcMount('rootfs', 'local-lvm:vm-1-disk-0,size=lots').data.size_bytes, undefined);
});

test('QEMU disks give storage, volume, size, iothread, cache, discard, ssd, backup and media', () => {
  const d = parseQemuDisk(
    'scsi0',
    'local-lvm:vm-200-disk-0,cache=writeback,discard=on,iothread=1,size=500G,ssd=1,backup=0',
  );
  assert.deepEqual(d.warnings, []);
  assert.deepEqual(d.data, {
    key: 'scsi0',
    volume: 'local-lvm:vm-200-disk-0',
    storage: 'local-lvm',
    size_bytes: 500 * GiB,
    media: 'disk',
    iothread: true,
    cache: 'writeback',
    discard: 'on',
    ssd: true,
    backup: false,
  });
  const cd = parseQemuDisk('ide2', 'none,media=cdrom');
  assert.deepEqual(cd.warnings, []);
  assert.equal(cd.data.media, 'cdrom');
  assert.equal(cd.data.storage, undefined);
  const efi = parseQemuDisk('efidisk0', 'local-lvm:vm-201-disk-2,efitype=4m,pre-enrolled-keys=1,size=4M');
  assert.equal(efi.data.size_bytes, 4 * 1024 ** 2);
  assert.equal(efi.data.media, undefined);
  const tpm = parseQemuDisk('tpmstate0', 'volume=local-lvm:vm-201-disk-3,size=4M,version=v2.0');
  assert.equal(tpm.data.volume, 'local-lvm:vm-201-disk-3');
  const passthrough = parseQemuDisk('sata0', '/dev/disk/by-id/ata-X,size=3907018584K');
  assert.equal(passthrough.data.storage, undefined);
  assert.equal(passthrough.data.size_bytes, 3907018584 * 1024);
  const unused = parseQemuDisk('unused0', 'local-lvm:vm-201-disk-4');
  assert.deepEqual(unused.data, { key: 'unused0', volume: 'local-lvm:vm-201-disk-4', storage: 'local-lvm' });
});

test('storage ids are read from volume ids only', () => {
  assert.equal(storageOfVolume('local:iso/debian.iso'), 'local');
  assert.equal(storageOfVolume('nfs:120/vm-120-disk-0.qcow2'), 'nfs');
  assert.equal(storageOfVolume('none'), undefined);
  assert.equal(storageOfVolume('cdrom'), undefined);
  assert.equal(storageOfVolume('/dev/sdb'), undefined);
});

test('LXC features become booleans, with mount kept as a string', () => {
  const r = parseLxcFeatures('nesting=1,keyctl=1,mount=nfs;cifs,fuse=0');
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.data, { nesting: true, keyctl: true, mount: 'nfs;cifs', fuse: false });
  assert.equal(parseLxcFeatures('nesting=perhaps').warnings.length, 1);
});

test('QEMU agent reads "1", "0", enabled=… and the bare form with options', () => {
  assert.deepEqual(parseQemuAgent('enabled=1,fstrim_cloned_disks=1').data, {
    enabled: true,
    fstrimClonedDisks: true,
  });
  assert.deepEqual(parseQemuAgent('1,fstrim_cloned_disks=1').data, {
    enabled: true,
    fstrimClonedDisks: true,
  });
  assert.deepEqual(parseQemuAgent(1).data, { enabled: true });
  assert.deepEqual(parseQemuAgent('0').data, { enabled: false });
  assert.deepEqual(parseQemuAgent('1,type=isa,freeze-fs-on-backup=0').data, {
    enabled: true,
    type: 'isa',
    freezeFs: false,
  });
  assert.equal(parseQemuAgent('enabled=maybe').warnings.length, 1);
});

test('boot reads order=… and the legacy letters', () => {
  assert.deepEqual(parseBoot('order=scsi0;ide2;net0').data, {
    order: ['scsi0', 'ide2', 'net0'],
    legacy: false,
  });
  assert.deepEqual(parseBoot('cdn').data, { order: ['c', 'd', 'n'], legacy: true });
  assert.deepEqual(parseBoot('legacy=dc').data, { order: ['d', 'c'], legacy: true });
  assert.deepEqual(parseBoot('d').data, { order: ['d'], legacy: true });
  assert.equal(parseBoot('xyz').warnings.length, 1);
});

test('QEMU memory reads a number, a numeric string and the PVE 8.1 property string', () => {
  assert.deepEqual(parseQemuMemory(32768).data, { currentMb: 32768 });
  assert.deepEqual(parseQemuMemory('4096').data, { currentMb: 4096 });
  assert.deepEqual(parseQemuMemory('current=8192').data, { currentMb: 8192 });
  assert.deepEqual(parseQemuMemory('4096', 2048).data, { currentMb: 4096, balloonMb: 2048 });
  assert.equal(parseQemuMemory('lots').warnings.length, 1);
});

test('guestNetworks and guestDisks collect every indexed key in numeric order', () => {
  const lxc = {
    net10: 'name=eth10,bridge=vmbr0',
    net2: 'name=eth2,bridge=vmbr0',
    rootfs: 'local:100/vm-100-disk-0.raw,size=8G',
    mp10: 'local:100/vm-100-disk-2.raw,mp=/b',
    mp2: 'local:100/vm-100-disk-1.raw,mp=/a',
    unused0: 'local:100/vm-100-disk-3.raw',
    memory: 512,
  };
  assert.deepEqual(
    guestNetworks('lxc', lxc).data.map((n) => n.key),
    ['net2', 'net10'],
  );
  assert.deepEqual(
    guestDisks('lxc', lxc).data.map((d) => d.key),
    ['rootfs', 'mp2', 'mp10', 'unused0'],
  );
  const qemu = {
    virtio0: 'local:vm-1-disk-0,size=1G',
    scsi1: 'local:vm-1-disk-2,size=1G',
    scsi0: 'local:vm-1-disk-1,size=1G',
    ide2: 'none,media=cdrom',
    efidisk0: 'local:vm-1-disk-3,size=4M',
    tpmstate0: 'local:vm-1-disk-4,size=4M',
    unused1: 'local:vm-1-disk-5',
    net0: 'virtio=BC:24:11:00:00:01',
    hostpci0: '0000:01:00.0',
  };
  assert.deepEqual(
    guestDisks('qemu', qemu).data.map((d) => d.key),
    ['ide2', 'scsi0', 'scsi1', 'virtio0', 'efidisk0', 'tpmstate0', 'unused1'],
  );
  const bad = guestNetworks('qemu', { net0: 5 });
  assert.equal(bad.data.length, 0);
  assert.equal(bad.warnings.length, 1);
});
