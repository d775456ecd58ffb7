/**
 * /etc/hosts, for one Proxmox fact: a standalone node's `/cluster/status` entry carries an `ip`
 * that PVE resolves from the node name (the installer writes `<ip> <fqdn> <node>` into /etc/hosts),
 * while its `.members` file has no nodelist and so no ip. The files source reads it here instead.
 */

/** The first non-loopback address that /etc/hosts gives `name` (IPv4 before IPv6, as PVE prefers). */
export function ipFromHostsFile(text: string, name: string): string | undefined {
  let v6: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [addr, ...names] = line.split(/\s+/);
    if (addr === undefined || !names.some((n) => n === name || n.split('.')[0] === name)) continue;
    if (/^127\./.test(addr) || addr === '::1') continue;
    if (addr.includes(':')) v6 ??= addr;
    else return addr;
  }
  return v6;
}
