import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { countsAsNodeTraffic, nodeNetCounters, parseNetDev } from './net-dev.ts';

const fixture = readFileSync(new URL('../fixtures/proc/net-dev.txt', import.meta.url), 'utf8');

test('/proc/net/dev gives each interface its byte and packet counters, also when a counter touches the colon', () => {
  const r = parseNetDev(fixture);
  assert.deepEqual(r.warnings, []);
  const byName = new Map(r.data?.map((i) => [i.name, i]));
  assert.equal(byName.size, 11);
  assert.deepEqual(byName.get('eno1'), {
    name: 'eno1',
    rxBytes: 81234567890,
    rxPackets: 91234567,
    txBytes: 7123456789,
    txPackets: 61234567,
  });
  assert.equal(byName.get('tap100i0')?.txBytes, 4567890123);
  assert.equal(byName.get('vmbr0.50')?.rxBytes, 123456);
});

test('the node total counts the physical NICs once: not lo, bridges, tap/veth, firewall pairs, bonds or VLANs', () => {
  // bond0 = eno1 + eno2 in the fixture: counting it too would double the traffic
  assert.deepEqual(nodeNetCounters(parseNetDev(fixture).data ?? []), {
    inBytes: 81234567890 + 1000000,
    outBytes: 7123456789 + 2000000,
  });
  for (const n of ['eno1', 'enp3s0f0', 'eth0', 'nic0', 'ens18'])
    assert.equal(countsAsNodeTraffic(n), true, n);
  for (const n of ['lo', 'vmbr0', 'vmbr1v50', 'tap100i0', 'veth101i0', 'fwbr101i0', 'fwpr101p0', 'fwln101i0'])
    assert.equal(countsAsNodeTraffic(n), false, n);
  for (const n of ['bond0', 'eno1.50', 'vlan50', 'wg0', 'vxlan_z1', 'ovs-system'])
    assert.equal(countsAsNodeTraffic(n), false, n);
});

test('unreadable lines are warnings, the rest still counts; a file without header or interface is no data', () => {
  const r = parseNetDev(`${fixture}  eno3: 12 x\n`);
  assert.equal(r.data?.length, 11);
  assert.match(r.warnings.join(), /cannot read/);
  assert.equal(parseNetDev('').data, undefined);
});
