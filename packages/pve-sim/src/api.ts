// The GET endpoints the agent uses, answered from the model as node `local` would answer them.
// pvesh and the HTTPS server both call apiGet(); they differ only in framing (bare JSON vs the
// {"data": …} envelope) and error transport (stderr + exit 255 vs HTTP status line).
import type { GuestKind, GuestState, NodeState, SimState } from './model.ts';
import { clusterById, clusterGuests, clusterNodes, nodeByName, viewOf } from './model.ts';
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

function typedMap(kind: GuestKind, m: Record<string, string>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(m)) out[k] = typedValue(kind, k, v);
  return out;
}

const err = (status: number, message: string): ApiResult => ({ ok: false, status, message });

export function normalizeApiPath(path: string): string {
  const p = ('/' + path).replace(/\/+/g, '/');
  return p.length > 1 ? p.replace(/\/$/, '') : p;
}

function guestName(g: GuestState): string {
  return g.kind === 'qemu' ? (g.config.name ?? `VM ${g.vmid}`) : (g.config.hostname ?? `CT${g.vmid}`);
}

function clusterStatus(state: SimState, local: NodeState): unknown[] {
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

function clusterResources(
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
      for (const s of storagesOf(n)) {
        const online = view.members.has(n.name);
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

function nodeStatus(n: NodeState, now: number): unknown {
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

function guestList(state: SimState, n: NodeState, kind: GuestKind, now: number): unknown[] {
  return state.guests
    .filter((g) => g.node === n.name && g.kind === kind)
    .sort((a, b) => a.vmid - b.vmid)
    .map((g) => {
      const e = guestFigureFields(g, n, now);
      if (g.config.lock !== undefined) e.lock = g.config.lock;
      return e;
    });
}

function guestStatusCurrent(g: GuestState, n: NodeState, now: number): unknown {
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

function snapshotList(g: GuestState): unknown[] {
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

/** What a route's handler gets: the request, plus what the placeholders of its pattern bound. */
interface RouteContext {
  state: SimState;
  local: NodeState;
  path: string;
  query: Record<string, string>;
  now: number;
  /** bound by `{node}` */
  target?: NodeState;
  /** bound by `{kind}` */
  kind?: GuestKind;
  /** bound by `{vmid}` */
  guest?: GuestState;
}

interface Route {
  /** `/`-separated; `{name}` is a placeholder from PLACEHOLDERS */
  pattern: string;
  handler: (c: RouteContext) => ApiResult;
}

const ok = (data: unknown): ApiResult => ({ ok: true, data });
const notImplemented = (path: string) => err(501, `Method 'GET ${path}' not implemented`);

function nodesList(c: RouteContext): ApiResult {
  const view = viewOf(c.state, c.local);
  return ok(
    clusterNodes(c.state, c.local.clusterId).map((n) => {
      if (!view.members.has(n.name))
        return { node: n.name, status: 'offline', id: `node/${n.name}`, type: 'node', level: n.level };
      const f = nodeFigures(n, c.now);
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
    }),
  );
}

const versionOf = (n: NodeState) => ({
  version: n.pveVersion,
  release: releaseOf(n.pveVersion),
  repoid: n.repoid,
});

function storageList(n: NodeState): unknown[] {
  return storagesOf(n).map((s) => ({
    storage: s.id,
    type: s.type,
    content: s.content,
    active: 1,
    enabled: 1,
    shared: 0,
    total: s.total,
    used: s.used,
    avail: s.total - s.used,
    used_fraction: s.used / s.total,
  }));
}

function guestConfig(c: RouteContext, g: GuestState): ApiResult {
  const current = c.query.current === '1' || c.query.current === 'true';
  if (c.query.snapshot === undefined) return ok(guestConfigData(g, current));
  const s = g.snapshots.find((x) => x.name === c.query.snapshot);
  if (!s) return err(500, `snapshot '${c.query.snapshot}' does not exist\n`);
  return ok({
    ...typedMap(g.kind, { ...s.config, snaptime: String(s.snaptime) }),
    digest: confDigest(renderGuestConf(g)),
  });
}

// The handlers run only after every placeholder of their pattern bound, so what the placeholder
// binds is there; `bound` says so to the type checker.
function bound<T>(v: T | undefined): T {
  if (v === undefined) throw new Error('pve-sim: route handler without its bound placeholder');
  return v;
}

/** Every GET the simulator answers. The first whole match wins; order matters only for readability. */
const ROUTES: readonly Route[] = [
  { pattern: '/version', handler: (c) => ok(versionOf(c.local)) },
  { pattern: '/cluster/status', handler: (c) => ok(clusterStatus(c.state, c.local)) },
  {
    pattern: '/cluster/resources',
    handler: (c) => clusterResources(c.state, c.local, c.query.type, c.now),
  },
  { pattern: '/nodes', handler: nodesList },
  {
    pattern: '/nodes/{node}',
    handler: () => ok(['status', 'version', 'lxc', 'qemu', 'storage'].map((subdir) => ({ name: subdir }))),
  },
  { pattern: '/nodes/{node}/status', handler: (c) => ok(nodeStatus(bound(c.target), c.now)) },
  { pattern: '/nodes/{node}/version', handler: (c) => ok(versionOf(bound(c.target))) },
  { pattern: '/nodes/{node}/storage', handler: (c) => ok(storageList(bound(c.target))) },
  {
    pattern: '/nodes/{node}/{kind}',
    handler: (c) => ok(guestList(c.state, bound(c.target), bound(c.kind), c.now)),
  },
  {
    pattern: '/nodes/{node}/{kind}/{vmid}',
    handler: () => ok(['config', 'pending', 'status', 'snapshot'].map((subdir) => ({ subdir }))),
  },
  { pattern: '/nodes/{node}/{kind}/{vmid}/config', handler: (c) => guestConfig(c, bound(c.guest)) },
  { pattern: '/nodes/{node}/{kind}/{vmid}/pending', handler: (c) => ok(guestPendingData(bound(c.guest))) },
  { pattern: '/nodes/{node}/{kind}/{vmid}/status', handler: () => ok([{ subdir: 'current' }]) },
  {
    pattern: '/nodes/{node}/{kind}/{vmid}/status/current',
    handler: (c) => ok(guestStatusCurrent(bound(c.guest), bound(c.target), c.now)),
  },
  { pattern: '/nodes/{node}/{kind}/{vmid}/snapshot', handler: (c) => ok(snapshotList(bound(c.guest))) },
];

/**
 * A placeholder: which path segments it accepts, and what it binds (or the error Proxmox gives).
 * They bind in path order, so `{vmid}` finds `{node}` and `{kind}` already bound.
 */
const PLACEHOLDERS: Record<
  string,
  { accepts: (segment: string) => boolean; bind: (c: RouteContext, segment: string) => ApiResult | undefined }
> = {
  // /nodes/{other}/… is proxied the way pveproxy/pvesh do: allowed only when `other` is in the
  // local node's corosync partition.
  node: {
    accepts: () => true,
    bind(c, name) {
      const target = c.state.nodes.find((n) => n.name === name && n.clusterId === c.local.clusterId);
      if (!target) {
        return err(
          500,
          `hostname lookup '${name}' failed - failed to get address info for: ${name}: Name or service not known\n`,
        );
      }
      if (target.name !== c.local.name) {
        if (!viewOf(c.state, c.local).members.has(target.name))
          return err(595, `Errors during connection establishment, proxy handshake: No route to host`);
        if (target.hung) return { ok: 'blocked', node: target.name };
      }
      c.target = target;
      return undefined;
    },
  },
  kind: {
    accepts: (s) => s === 'lxc' || s === 'qemu',
    bind(c, s) {
      c.kind = s as GuestKind;
      return undefined;
    },
  },
  vmid: {
    accepts: (s) => /^\d+$/.test(s),
    bind(c, s) {
      const vmid = Number(s);
      const target = bound(c.target);
      const kind = bound(c.kind);
      const g = c.state.guests.find((x) => x.vmid === vmid && x.node === target.name && x.kind === kind);
      if (!g) {
        const dir = kind === 'qemu' ? 'qemu-server' : 'lxc';
        return err(500, `Configuration file 'nodes/${target.name}/${dir}/${vmid}.conf' does not exist\n`);
      }
      c.guest = g;
      return undefined;
    },
  },
};

type Segment = { literal: string } | { placeholder: string };

const segmentsOf = (path: string): string[] => path.split('/').filter((s) => s !== '');

const COMPILED = ROUTES.map((r) => ({
  route: r,
  segments: segmentsOf(r.pattern).map((s): Segment => {
    const m = /^\{(\w+)\}$/.exec(s);
    if (!m) return { literal: s };
    if (!PLACEHOLDERS[m[1]!]) throw new Error(`pve-sim: unknown placeholder in route ${r.pattern}`);
    return { placeholder: m[1]! };
  }),
}));

/** How many leading segments of `path` the pattern matches. */
function matchedLength(pattern: Segment[], path: string[]): number {
  let i = 0;
  for (; i < pattern.length && i < path.length; i++) {
    const p = pattern[i]!;
    const ok = 'literal' in p ? p.literal === path[i] : PLACEHOLDERS[p.placeholder]!.accepts(path[i]!);
    if (!ok) break;
  }
  return i;
}

/**
 * Answer GET `path` as node `localName`. A path no route matches wholly still binds the
 * placeholders of its longest matching prefix first, as Proxmox resolves the node (and the guest)
 * before it looks at the rest: /nodes/ghost/bogus is a hostname error, not "not implemented".
 */
export function apiGet(
  state: SimState,
  localName: string,
  rawPath: string,
  query: Record<string, string>,
  now: number,
): ApiResult {
  const local = nodeByName(state, localName);
  if (local.hung) return { ok: 'blocked', node: local.name };
  const path = normalizeApiPath(rawPath);
  const segs = segmentsOf(path);
  let best = { length: 0, segments: [] as Segment[], route: undefined as Route | undefined };
  for (const c of COMPILED) {
    const length = matchedLength(c.segments, segs);
    const whole = length === c.segments.length && length === segs.length;
    if (whole) {
      best = { length, segments: c.segments, route: c.route };
      break;
    }
    if (length > best.length) best = { length, segments: c.segments, route: undefined };
  }
  const ctx: RouteContext = { state, local, path, query, now };
  for (let i = 0; i < best.length; i++) {
    const s = best.segments[i]!;
    if (!('placeholder' in s)) continue;
    const failed = PLACEHOLDERS[s.placeholder]!.bind(ctx, segs[i]!);
    if (failed) return failed;
  }
  return best.route ? best.route.handler(ctx) : notImplemented(path);
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
