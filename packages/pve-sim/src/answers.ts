// The answers of the simulated Proxmox API, built from the model as node `local` would give them.
// Which path gets which answer is api.ts's route table.
import type { GuestKind, GuestState, NodeState, SimState } from './model.ts';
import { clusterById, clusterGuests, clusterNodes, viewOf } from './model.ts';
import { guestFigures, nodeFigures } from './metrics.ts';
import { confDigest, renderGuestConf, storagesOf } from './pmxcfs.ts';
import { majorOf, releaseOf } from './versions.ts';
import { CPU_FLAGS } from './proc.ts';
import { configKeyType } from '@nanny/proxmox';

export type ApiResult =
  | { ok: true; data: unknown }
  | { ok: false; status: number; message: string }
  /** the answer needs a pmxcfs that is hung: callers wait and retry */
  | { ok: 'blocked'; node: string };

// Config keys whose API type is integer or boolean come back as JSON numbers; `number` keys
// (cpulimit, migrate_downtime) and the rest as JSON strings, as the Perl API sends them (FACTS.md).
// The key table is Proxmox knowledge and lives once, in @nanny/proxmox; the conformance test checks
// the answers against the official schema independently of it.
export function typedValue(kind: GuestKind, key: string, raw: string): string | number {
  if (configKeyType(kind, key) !== 'string' && /^-?\d+$/.test(raw)) return Number(raw);
  return raw;
}

export function typedMap(kind: GuestKind, m: Record<string, string>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(m)) out[k] = typedValue(kind, k, v);
  return out;
}

export const err = (status: number, message: string): ApiResult => ({ ok: false, status, message });

function guestName(g: GuestState): string {
  return g.kind === 'qemu' ? (g.config.name ?? `VM ${g.vmid}`) : (g.config.hostname ?? `CT${g.vmid}`);
}

export function clusterStatus(state: SimState, local: NodeState): unknown[] {
  const cluster = clusterById(state, local.clusterId);
  const view = viewOf(state, local);
  if (cluster.name === null) {
    // standalone: no cluster element, one node entry with nodeid 0 (Cluster.pm get_status)
    return [
      {
        type: 'node',
        id: `node/${local.name}`,
        name: local.name,
        ip: local.ip,
        local: 1,
        nodeid: 0,
        online: 1,
        level: local.level,
      },
    ];
  }
  const nodes = clusterNodes(state, cluster.id);
  return [
    {
      type: 'cluster',
      id: 'cluster',
      name: cluster.name,
      nodes: nodes.length,
      version: cluster.configVersion,
      quorate: view.quorate ? 1 : 0,
    },
    ...nodes.map((n) => ({
      type: 'node',
      id: `node/${n.name}`,
      name: n.name,
      nodeid: n.nodeid,
      ip: n.ip,
      local: n.name === local.name ? 1 : 0,
      online: view.members.has(n.name) ? 1 : 0,
      level: n.level,
    })),
  ];
}

function guestResource(
  g: GuestState,
  host: NodeState,
  reachable: boolean,
  now: number,
  localMajor: number,
): Record<string, unknown> {
  const base: Record<string, unknown> = {
    id: `${g.kind}/${g.vmid}`,
    vmid: g.vmid,
    node: g.node,
    type: g.kind,
    name: guestName(g),
    template: g.config.template === '1' ? 1 : 0,
  };
  if (g.config.tags !== undefined) base.tags = g.config.tags;
  if (g.config.lock !== undefined) base.lock = g.config.lock;
  if (!reachable) {
    // no fresh RRD data from an unreachable node: status unknown, no figures (extract_vm_stats)
    base.status = 'unknown';
    return base;
  }
  const f = guestFigures(g, host.cpus, now);
  Object.assign(base, {
    status: g.status,
    uptime: f.uptime,
    maxcpu: f.maxcpu,
    cpu: f.cpu,
    maxmem: f.maxmem,
    mem: f.mem,
    maxdisk: f.maxdisk,
    disk: f.disk,
    netin: f.netin,
    netout: f.netout,
    diskread: f.diskread,
    diskwrite: f.diskwrite,
  });
  if (g.kind === 'qemu' && localMajor >= 9) base.memhost = f.memhost;
  return base;
}

function nodeResource(n: NodeState, online: boolean, now: number): Record<string, unknown> {
  if (!online) return { id: `node/${n.name}`, node: n.name, type: 'node', status: 'offline', level: n.level };
  const f = nodeFigures(n, now);
  return {
    id: `node/${n.name}`,
    node: n.name,
    type: 'node',
    status: 'online',
    level: n.level,
    uptime: f.uptime,
    cpu: f.cpu,
    maxcpu: n.cpus,
    mem: f.memUsed,
    maxmem: n.memTotal,
    disk: n.rootUsed,
    maxdisk: n.rootTotal,
    'cgroup-mode': 2,
  };
}

export function clusterResources(
  state: SimState,
  local: NodeState,
  type: string | undefined,
  now: number,
): ApiResult {
  if (type !== undefined && !['vm', 'storage', 'node', 'sdn'].includes(type)) {
    return err(
      400,
      `Parameter verification failed.\ntype: value '${type}' does not have a value in the enumeration 'vm, storage, node, sdn'\n`,
    );
  }
  const view = viewOf(state, local);
  const nodes = clusterNodes(state, local.clusterId);
  const localMajor = majorOf(local.pveVersion);
  const out: unknown[] = [];
  if (!type || type === 'vm') {
    const guests = [...clusterGuests(state, local.clusterId)].sort((a, b) =>
      String(a.vmid).localeCompare(String(b.vmid)),
    );
    for (const g of guests) {
      const host = nodes.find((n) => n.name === g.node)!;
      out.push(guestResource(g, host, view.members.has(g.node), now, localMajor));
    }
  }
  if (!type || type === 'node')
    for (const n of nodes) out.push(nodeResource(n, view.members.has(n.name), now));
  if (!type || type === 'storage') {
    for (const n of nodes) {
      for (const s of storagesOf(n, now)) {
        const online = view.members.has(n.name) && s.active;
        const e: Record<string, unknown> = {
          id: `storage/${n.name}/${s.id}`,
          storage: s.id,
          node: n.name,
          type: 'storage',
          plugintype: s.type,
          status: online ? 'available' : 'unknown',
          shared: 0,
          content: s.content,
        };
        if (online) Object.assign(e, { maxdisk: s.total, disk: s.used });
        out.push(e);
      }
    }
  }
  return { ok: true, data: out };
}

export function nodeStatus(n: NodeState, now: number): unknown {
  const f = nodeFigures(n, now);
  const major = majorOf(n.pveVersion);
  // PVE 8/9 (ProcFSTools read_meminfo): used = MemTotal - MemAvailable, free = MemFree
  const memory: Record<string, number> = { total: n.memTotal, used: f.memUsed, free: f.memFree };
  if (major >= 9) memory.available = f.memAvailable;
  const rootAvail = n.rootTotal - n.rootUsed;
  const bootInfo: Record<string, unknown> = { mode: n.bootMode };
  if (n.bootMode === 'efi') bootInfo.secureboot = 0;
  return {
    uptime: f.uptime,
    idle: 0,
    loadavg: f.load.map((l) => l.toFixed(2)),
    kversion: `Linux ${n.kernel} ${n.kernelBuild}`,
    'current-kernel': { sysname: 'Linux', release: n.kernel, version: n.kernelBuild, machine: 'x86_64' },
    'boot-info': bootInfo,
    cpuinfo: {
      model: n.cpuModel,
      sockets: n.sockets,
      cores: n.cores * n.sockets,
      cpus: n.cpus,
      mhz: n.mhz,
      hvm: '1',
      user_hz: 100,
      flags: CPU_FLAGS,
    },
    cpu: f.cpu,
    wait: f.wait,
    memory,
    swap: { total: n.swapTotal, used: f.swapUsed, free: n.swapTotal - f.swapUsed },
    ksm: { shared: 0 },
    rootfs: { total: n.rootTotal, used: n.rootUsed, avail: rootAvail, free: rootAvail },
    pveversion: `pve-manager/${n.pveVersion}/${n.repoid}`,
  };
}

/** The figures both guest answers (the node's guest list and status/current) share. */
function guestFigureFields(g: GuestState, n: NodeState, now: number): Record<string, unknown> {
  const f = guestFigures(g, n.cpus, now);
  const e: Record<string, unknown> = {
    vmid: g.vmid,
    name: guestName(g),
    status: g.status,
    uptime: f.uptime,
    cpus: f.maxcpu,
    cpu: f.cpu,
    maxmem: f.maxmem,
    mem: f.mem,
    maxdisk: f.maxdisk,
    disk: f.disk,
    netin: f.netin,
    netout: f.netout,
    diskread: f.diskread,
    diskwrite: f.diskwrite,
  };
  if (g.kind === 'lxc') Object.assign(e, { type: 'lxc', maxswap: f.maxswap, swap: 0 });
  if (g.config.tags !== undefined) e.tags = g.config.tags;
  if (g.config.template === '1') e.template = 1;
  if (g.status === 'running') e.pid = 1000 + g.vmid;
  return e;
}

export function guestList(state: SimState, n: NodeState, kind: GuestKind, now: number): unknown[] {
  return state.guests
    .filter((g) => g.node === n.name && g.kind === kind)
    .sort((a, b) => a.vmid - b.vmid)
    .map((g) => {
      const e = guestFigureFields(g, n, now);
      if (g.config.lock !== undefined) e.lock = g.config.lock;
      return e;
    });
}

export function guestStatusCurrent(g: GuestState, n: NodeState, now: number): unknown {
  const e = guestFigureFields(g, n, now);
  e.ha = { managed: 0 };
  if (g.kind === 'qemu') {
    e.qmpstatus = g.status;
    if (g.config.agent?.startsWith('1')) e.agent = 1;
  }
  return e;
}

/**
 * The description as the API returns it: pve-container appends "\n" to every decoded `#` line and
 * keeps it; qemu-server strips trailing whitespace (FORMAT.md).
 */
function descriptionValue(g: GuestState): string {
  return g.kind === 'lxc' ? `${g.description}\n` : (g.description ?? '').replace(/\s+$/, '');
}

/** GET …/config: pending values merged over the main section unless current=1; digest always. */
export function guestConfigData(g: GuestState, current: boolean): Record<string, string | number> {
  const digest = confDigest(renderGuestConf(g));
  const merged: Record<string, string> = { ...g.config };
  if (g.description !== undefined) merged.description = descriptionValue(g);
  if (!current) {
    Object.assign(merged, g.pending);
    for (const d of g.pendingDelete) delete merged[d.replace(/^!/, '')];
  }
  return { ...typedMap(g.kind, merged), digest };
}

/** GET …/pending: one entry per key with current value, pending value and delete flag (1, or 2 = forced). */
export function guestPendingData(g: GuestState): unknown[] {
  const cur: Record<string, string> = { ...g.config };
  if (g.description !== undefined) cur.description = descriptionValue(g);
  const keys = new Set([
    ...Object.keys(cur),
    ...Object.keys(g.pending),
    ...g.pendingDelete.map((d) => d.replace(/^!/, '')),
  ]);
  return [...keys].sort().map((key) => {
    const e: Record<string, unknown> = { key };
    if (cur[key] !== undefined) e.value = typedValue(g.kind, key, cur[key]);
    if (g.pending[key] !== undefined) e.pending = typedValue(g.kind, key, g.pending[key]);
    const del = g.pendingDelete.find((d) => d.replace(/^!/, '') === key);
    if (del !== undefined) e.delete = del.startsWith('!') ? 2 : 1;
    return e;
  });
}

export function snapshotList(g: GuestState): unknown[] {
  const list: unknown[] = g.snapshots.map((s) => {
    const e: Record<string, unknown> = {
      name: s.name,
      snaptime: s.snaptime,
      description: s.description ?? '',
    };
    if (s.config.parent) e.parent = s.config.parent;
    if (g.kind === 'qemu') e.vmstate = s.config.vmstate ? 1 : 0;
    return e;
  });
  const cur: Record<string, unknown> = {
    name: 'current',
    description: 'You are here!',
    digest: confDigest(renderGuestConf(g)),
  };
  if (g.config.parent) cur.parent = g.config.parent;
  if (g.kind === 'qemu') cur.running = g.status === 'running' ? 1 : 0;
  list.push(cur);
  return list;
}

/** GET /nodes: every node of the cluster as the local node sees it (offline ones without figures). */
export function nodesData(state: SimState, local: NodeState, now: number): unknown[] {
  const view = viewOf(state, local);
  return clusterNodes(state, local.clusterId).map((n) => {
    if (!view.members.has(n.name))
      return { node: n.name, status: 'offline', id: `node/${n.name}`, type: 'node', level: n.level };
    const f = nodeFigures(n, now);
    return {
      node: n.name,
      status: 'online',
      id: `node/${n.name}`,
      type: 'node',
      level: n.level,
      uptime: f.uptime,
      cpu: f.cpu,
      maxcpu: n.cpus,
      mem: f.memUsed,
      maxmem: n.memTotal,
      disk: n.rootUsed,
      maxdisk: n.rootTotal,
      ssl_fingerprint: sslFingerprint(n),
    };
  });
}

export const versionOf = (n: NodeState) => ({
  version: n.pveVersion,
  release: releaseOf(n.pveVersion),
  repoid: n.repoid,
});

export function storageList(n: NodeState, now: number): unknown[] {
  return storagesOf(n, now).map((s) => {
    // pve-storage storage_info: an inactive storage keeps 0 numbers and has no used_fraction
    const e: Record<string, unknown> = {
      storage: s.id,
      type: s.type,
      content: s.content,
      active: s.active ? 1 : 0,
      enabled: 1,
      shared: 0,
      total: s.active ? s.total : 0,
      used: s.active ? s.used : 0,
      avail: s.active ? s.total - s.used : 0,
    };
    if (s.active) e.used_fraction = s.used / s.total;
    return e;
  });
}

/** A stable per-node SHA-256 fingerprint in the colon form /nodes shows (ssl_fingerprint). */
export function sslFingerprint(n: NodeState): string {
  let h = '';
  let x = 0;
  for (const ch of `${n.clusterId}/${n.name}/${n.ip}`) x = (Math.imul(x, 31) + ch.charCodeAt(0)) >>> 0;
  for (let i = 0; i < 32; i++) {
    x = (Math.imul(x ^ (x >>> 13), 0x5bd1e995) + i) >>> 0;
    h += (x & 0xff).toString(16).toUpperCase().padStart(2, '0');
  }
  return h.match(/../g)!.join(':');
}
