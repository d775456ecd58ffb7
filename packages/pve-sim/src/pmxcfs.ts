// The /etc/pve tree as one node's pmxcfs shows it: the replicated files (guest configs,
// corosync.conf, pve-root-ca.pem, storage.cfg) and the virtual dot-files whose content depends on
// the node that serves them (.members, .rrd) — formats per pve-cluster status.c (PMXCFS.md).
import { createHash } from 'node:crypto';
import type { ClusterState, GuestState, NodeState, SimState } from './model.ts';
import { clusterById, clusterGuests, clusterNodes, viewOf } from './model.ts';
import { guestFigures, nodeFigures } from './metrics.ts';
import { majorOf } from './versions.ts';

/** PVE::Tools encode_text: bytes outside [\x20-\x24\x26-\x39\x3b-\x7e] become %XX (so % → %25, : → %3A). */
export function encodeDescription(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const keep =
      (byte >= 0x20 && byte <= 0x24) || (byte >= 0x26 && byte <= 0x39) || (byte >= 0x3b && byte <= 0x7e);
    out += keep ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function section(values: Record<string, string>, description: string | undefined): string {
  let s = '';
  if (description !== undefined)
    for (const line of description.split('\n')) s += `#${encodeDescription(line)}\n`;
  for (const k of Object.keys(values).sort()) s += `${k}: ${values[k]}\n`;
  return s;
}

/**
 * The guest config file as the PVE writers produce it: description as `#` lines first, keys sorted,
 * then the pending section (`[PENDING]` for QEMU, `[pve:pending]` for LXC, with a sorted-in
 * `delete:` key), then snapshot sections sorted by name.
 */
export function renderGuestConf(g: GuestState): string {
  let s = section(g.config, g.description);
  const pending: Record<string, string> = { ...g.pending };
  if (g.pendingDelete.length > 0) pending.delete = g.pendingDelete.join(',');
  if (Object.keys(pending).length > 0) {
    s += `\n${g.kind === 'qemu' ? '[PENDING]' : '[pve:pending]'}\n` + section(pending, undefined);
  }
  for (const snap of [...g.snapshots].sort((a, b) => a.name.localeCompare(b.name))) {
    s +=
      `\n[${snap.name}]\n` + section({ ...snap.config, snaptime: String(snap.snaptime) }, snap.description);
  }
  return s;
}

/** `digest` of GET …/config: SHA-1 of the raw file bytes. */
export function confDigest(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

export function guestConfPath(g: GuestState): string {
  return `nodes/${g.node}/${g.kind === 'qemu' ? 'qemu-server' : 'lxc'}/${g.vmid}.conf`;
}

export function renderMembers(state: SimState, viewer: NodeState): string {
  const cluster = clusterById(state, viewer.clusterId);
  if (cluster.name === null) return `{\n"nodename": "${viewer.name}",\n"version": 0\n}\n`;
  const view = viewOf(state, viewer);
  const nodes = clusterNodes(state, cluster.id);
  const lines = nodes.map(
    (n) =>
      `  "${n.name}": { "id": ${n.nodeid}, "online": ${view.members.has(n.name) ? 1 : 0}, "ip": "${n.ip}"}`,
  );
  return (
    `{\n"nodename": "${viewer.name}",\n"version": ${cluster.membersVersion},\n` +
    `"cluster": { "name": "${cluster.name}", "version": ${cluster.configVersion}, "nodes": ${nodes.length}, "quorate": ${view.quorate ? 1 : 0} },\n` +
    `"nodelist": {\n${lines.join(',\n')}\n  }\n}\n`
  );
}

export function renderVmlist(state: SimState, cluster: ClusterState): string {
  const guests = clusterGuests(state, cluster.id);
  if (guests.length === 0) return `{\n"version": ${cluster.vmlistVersion}\n\n}\n`;
  const ids = guests.map(
    (g) => `"${g.vmid}": { "node": "${g.node}", "type": "${g.kind}", "version": ${g.confVersion} }`,
  );
  return `{\n"version": ${cluster.vmlistVersion},\n"ids": {\n${ids.join(',\n')}}\n\n}\n`;
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(15))));

/** .rrd as `viewer` sees it: its own entries plus those of the nodes in its corosync partition. */
export function renderRrd(state: SimState, viewer: NodeState, now: number): string {
  const view = viewOf(state, viewer);
  const ctime = Math.floor(now) - (Math.floor(now) % 10);
  const lines: string[] = [];
  const nodes = clusterNodes(state, viewer.clusterId).filter((n) => view.members.has(n.name));
  for (const n of nodes) {
    const f = nodeFigures(n, now);
    const v9 = majorOf(n.pveVersion) >= 9;
    const base = [
      f.uptime,
      n.level,
      ctime,
      fmt(f.load[0]),
      n.cpus,
      fmt(f.cpu),
      fmt(f.wait),
      n.memTotal,
      f.memUsed,
      n.swapTotal,
      f.swapUsed,
      n.rootTotal,
      n.rootUsed,
      f.netin,
      f.netout,
    ];
    lines.push(
      v9
        ? `pve-node-9.0/${n.name}:${[...base, f.memAvailable, 0, '0.01', '0.02', '0.01', 0, 0].join(':')}`
        : `pve2-node/${n.name}:${base.join(':')}`,
    );
    for (const s of storagesOf(n, now)) {
      if (!s.active) continue; // pvestatd writes lines for active storages only
      lines.push(
        `${v9 ? 'pve-storage-9.0' : 'pve2-storage'}/${n.name}/${s.id}:${ctime}:${s.total}:${s.used}`,
      );
    }
  }
  const names = new Set(nodes.map((n) => n.name));
  for (const g of clusterGuests(state, viewer.clusterId)) {
    if (!names.has(g.node)) continue;
    const host = nodes.find((n) => n.name === g.node)!;
    const f = guestFigures(g, host.cpus, now);
    const running = g.status === 'running';
    const U = (v: number): string | number => (running ? fmt(v) : 'U');
    const name = g.kind === 'qemu' ? (g.config.name ?? `VM ${g.vmid}`) : (g.config.hostname ?? `CT${g.vmid}`);
    const base = [
      f.uptime,
      name,
      g.status,
      g.config.template === '1' ? 1 : 0,
      ctime,
      f.maxcpu,
      U(f.cpu),
      f.maxmem,
      U(f.mem),
      f.maxdisk,
      U(f.disk),
      U(f.netin),
      U(f.netout),
      U(f.diskread),
      U(f.diskwrite),
    ];
    lines.push(
      majorOf(host.pveVersion) >= 9
        ? `pve-vm-9.0/${g.vmid}:${[...base, g.kind === 'qemu' ? U(f.memhost) : 'U', 0, 0, 0, 0, 0, 0].join(':')}`
        : `pve2.3-vm/${g.vmid}:${base.join(':')}`,
    );
  }
  return lines.map((l) => l + '\n').join('');
}

export interface StorageInfo {
  id: string;
  type: 'dir' | 'lvmthin';
  content: string;
  total: number;
  used: number;
  /** enabled but not active (storage-down): no .rrd line, zeros in the API */
  active: boolean;
}

/**
 * Every node has the two storages a default installation creates. `storage-fill` sets a used
 * fraction that grows by `perDay` of the total each day (capped at full), following `now`.
 */
export function storagesOf(n: NodeState, now = 0): StorageInfo[] {
  const base = [
    { id: 'local', type: 'dir' as const, content: 'iso,vztmpl,backup', total: n.rootTotal, used: n.rootUsed },
    {
      id: 'local-lvm',
      type: 'lvmthin' as const,
      content: 'rootdir,images',
      total: n.rootTotal * 4,
      used: Math.round(n.rootTotal * 1.1),
    },
  ];
  return base.map((s) => {
    const f = n.storageFill?.[s.id];
    let used = s.used;
    if (f) {
      const frac = Math.min(1, f.used + (f.perDay * Math.max(0, now - f.since)) / 86400);
      used = Math.round(s.total * frac);
    }
    return { ...s, used, active: !(n.storageDown ?? []).includes(s.id) };
  });
}

export function renderStorageCfg(): string {
  return 'dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\nlvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n\n';
}

export function renderVersion(state: SimState, viewer: NodeState): string {
  const cluster = clusterById(state, viewer.clusterId);
  const fv = Object.entries(cluster.fileVersions).map(([k, v]) => `"${k}": ${v},\n`);
  const kv = clusterNodes(state, cluster.id).map(
    (n) => `"${n.name}": {\n"kv/static-info": 1,\n"tasklist": ${(n.nodeid * 7) % 23}}\n`,
  );
  return (
    `{\n"starttime": ${cluster.pmxcfsStart},\n"clinfo": ${cluster.configVersion + cluster.membersVersion},\n"vmlist": ${cluster.vmlistVersion},\n` +
    fv.join('') +
    `"kvstore": {\n${kv.join(',\n')}}\n}\n`
  );
}

/** corosync.conf as PVE::Corosync writes it (sorted keys, two-space indent); clustered nodes only. */
export function renderCorosyncConf(state: SimState, cluster: ClusterState): string {
  const nodes = [...clusterNodes(state, cluster.id)].sort((a, b) => a.name.localeCompare(b.name));
  const nl = nodes
    .map(
      (n) =>
        `  node {\n    name: ${n.name}\n    nodeid: ${n.nodeid}\n    quorum_votes: 1\n    ring0_addr: ${n.ip}\n  }\n`,
    )
    .join('');
  return (
    `logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n${nl}}\n\nquorum {\n  provider: corosync_votequorum\n}\n\n` +
    `totem {\n  cluster_name: ${cluster.name}\n  config_version: ${cluster.configVersion}\n  interface {\n    linknumber: 0\n  }\n` +
    `  ip_version: ipv4-6\n  link_mode: passive\n  secauth: on\n  version: 2\n}\n\n`
  );
}
