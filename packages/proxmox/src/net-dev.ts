/**
 * `/proc/net/dev` (pure: the caller reads the file): per-interface byte counters since boot, and the
 * node's network traffic as the sum over the interfaces that carry it once.
 */
import type { Parsed } from './types.ts';
import { show } from './scalars.ts';

export interface NetDevCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

/**
 * Two header lines, then `%6s:%8llu %7llu …` per interface: 8 receive columns (bytes, packets, errs,
 * drop, fifo, frame, compressed, multicast), then 8 transmit columns (bytes, packets, …). A long
 * counter touches the colon (`  eno1:81234567890 …`), so the name ends at the first colon.
 */
export function parseNetDev(text: string): Parsed<NetDevCounters[] | undefined> {
  const warnings: string[] = [];
  const out: NetDevCounters[] = [];
  let headers = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.includes('|')) {
      headers++;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (name === '' || fields.length < 16 || fields.some((f) => !/^\d+$/.test(f))) {
      warnings.push(`/proc/net/dev: cannot read ${show(line)}`);
      continue;
    }
    const n = fields.map(Number);
    out.push({ name, rxBytes: n[0]!, rxPackets: n[1]!, txBytes: n[8]!, txPackets: n[9]! });
  }
  if (headers === 0 && out.length === 0) {
    warnings.push('/proc/net/dev: no header and no interface');
    return { data: undefined, warnings };
  }
  return { data: out, warnings };
}

/**
 * Interfaces whose traffic is already counted on a physical NIC, or never leaves the node:
 * - `lo`: the node talking to itself;
 * - `vmbr*` (Linux or OVS bridges), `tap*` (QEMU NICs), `veth*` (container NICs) and the firewall
 *   pairs `fwbr*`/`fwpr*`/`fwln*`: a guest's frame crosses its tap/veth, the firewall bridge and
 *   `vmbrN` before it reaches the NIC — each would count it again, and guest-to-guest traffic on one
 *   bridge never leaves the node at all (the guests' own net_in/net_out count it);
 * - `bond*` and VLAN interfaces (`eno1.50`, `vmbr0.50`, `vlan50`): a bond's traffic is the sum of
 *   its member NICs, a VLAN's rides its parent's frames, so they would double what the NICs show;
 * - tunnels and other software devices (`wg*`, `tun*`, `vxlan*`, `ovs-system`, `dummy*`, …): their
 *   payload leaves encapsulated through a NIC.
 * What stays is the physical side (`eno1`, `enp3s0f0`, `eth0`, PVE 9's pinned `nic0`, …): what
 * enters and leaves the machine, each byte once. Names only: /proc/net/dev says nothing more, and
 * these are the names Proxmox VE (and ifupdown2's conventions) give.
 */
const NOT_COUNTED =
  /^(lo|vmbr.*|tap.*|veth.*|fwbr.*|fwpr.*|fwln.*|bond.*|vlan.*|.*\..*|wg.*|tun.*|tailscale.*|vxlan.*|ovs-system|dummy.*|docker.*|virbr.*|br-.*|sit\d*|ip6tnl\d*|gre.*|ipip.*)$/;

/** Whether the node's traffic total counts this interface (see {@link NOT_COUNTED}). */
export const countsAsNodeTraffic = (name: string): boolean => !NOT_COUNTED.test(name);

/** Bytes in and out of the node since boot, summed over the interfaces {@link countsAsNodeTraffic}. */
export function nodeNetCounters(ifaces: readonly NetDevCounters[]): { inBytes: number; outBytes: number } {
  let inBytes = 0;
  let outBytes = 0;
  for (const i of ifaces) {
    if (!countsAsNodeTraffic(i.name)) continue;
    inBytes += i.rxBytes;
    outBytes += i.txBytes;
  }
  return { inBytes, outBytes };
}
