import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { ipFromHostsFile } from './hosts.ts';

// The layout the PVE installer writes (PVE 8/9: `<ip> <fqdn> <short name>`), plus the usual noise.
const HOSTS = `127.0.0.1 localhost.localdomain localhost
127.0.1.1 pve.lan pve
192.168.1.20 pve.lan pve   # written by the installer
::1     ip6-localhost ip6-loopback
fd00::20 pve6.lan pve6
`;

test('a node name resolves to its first non-loopback address in /etc/hosts', () => {
  assert.equal(ipFromHostsFile(HOSTS, 'pve'), '192.168.1.20');
  assert.equal(ipFromHostsFile(HOSTS, 'pve6'), 'fd00::20');
  assert.equal(ipFromHostsFile(HOSTS, 'pve6.lan'), 'fd00::20');
});

test('an unknown name or a loopback-only name gives no address', () => {
  assert.equal(ipFromHostsFile(HOSTS, 'other'), undefined);
  assert.equal(ipFromHostsFile('127.0.1.1 solo\n', 'solo'), undefined);
  assert.equal(ipFromHostsFile('', 'pve'), undefined);
});
