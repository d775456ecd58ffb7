/**
 * Builders from Proxmox data to the four spec payloads of @nanny/schema. Mapping as the spec shows
 * it (PROXMOX_INTEGRATION.md): `lxc_id` "lxc/100", `qemu_id` "qemu/200", `cpu_cores` = config
 * `cores`, `memory_mb` = config `memory`, `swap_mb`, `unprivileged`/`protection` as booleans,
 * `tags` comma-separated, `config` the full running config map. Every value that cannot be read
 * becomes a warning and is left out — never a silent 0 or ''. Defaults are Proxmox's own schema
 * defaults for keys a config omits (documented per field in docs/data-model.md).
 */
import type {
  ClusterMember,
  GuestDisk,
  GuestNetwork,
  ProxmoxCluster,
  ProxmoxLXC,
  ProxmoxNode,
  ProxmoxQEMU,
} from '@nanny/schema';
import type {
  ClusterResource,
  ClusterStatusCluster,
  ClusterStatusEntry,
  ClusterStatusNode,
  ConfigMap,
  GuestKind,
  NodeStatus,
  Parsed,
} from './types.ts';
import { show, toBool01, toFlag01, toInt, toNumber } from './scalars.ts';
import { tagsToWire } from './property-string.ts';
import { guestDisks, guestNetworks, parseQemuMemory } from './guest-parsers.ts';
import { CONFIG_VOLATILE_KEYS } from './config-types.ts';

export interface ReportMeta {
  /** ISO-8601, e.g. new Date().toISOString() */
  collectedAt: string;
  agentVersion: string;
  clusterFingerprint?: string;
  clusterName?: string;
  /** why the report was sent (the agent's three rhythms, DESIGN.md §9); absent = not said */
  trigger?: 'cycle' | 'change' | 'heartbeat';
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Obj = Record<string, unknown>;

function putMeta(out: Obj, meta: ReportMeta): void {
  if (meta.clusterFingerprint !== undefined) out.cluster_fingerprint = meta.clusterFingerprint;
  out.collected_at = meta.collectedAt;
  out.agent_version = meta.agentVersion;
  if (meta.trigger !== undefined) out.trigger = meta.trigger;
}

class Reader {
  readonly warnings: string[] = [];
  constructor(private readonly where: string) {}
  int(label: string, v: unknown, opts: { min?: number } = {}): number | undefined {
    if (v === undefined || v === null) return undefined;
    const n = toInt(v);
    if (n === undefined || n < (opts.min ?? 0)) {
      this.warnings.push(`${this.where}: ${label} ${show(v)} is not an integer ≥ ${opts.min ?? 0}`);
      return undefined;
    }
    return n;
  }
  /** rounds byte counts that arrive as floats (RRD averages) */
  bytes(label: string, v: unknown): number | undefined {
    if (v === undefined || v === null) return undefined;
    const n = toNumber(v);
    if (n === undefined || n < 0) {
      this.warnings.push(`${this.where}: ${label} ${show(v)} is not a byte count`);
      return undefined;
    }
    return Math.round(n);
  }
  num(label: string, v: unknown): number | undefined {
    if (v === undefined || v === null) return undefined;
    const n = toNumber(v);
    if (n === undefined || n < 0) {
      this.warnings.push(`${this.where}: ${label} ${show(v)} is not a non-negative number`);
      return undefined;
    }
    return n;
  }
  flag(label: string, v: unknown): 0 | 1 | undefined {
    if (v === undefined || v === null) return undefined;
    const f = toFlag01(v);
    if (f === undefined) this.warnings.push(`${this.where}: ${label} ${show(v)} is not 0/1`);
    return f;
  }
  bool(label: string, v: unknown): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    const b = toBool01(v);
    if (b === undefined) this.warnings.push(`${this.where}: ${label} ${show(v)} is not a boolean`);
    return b;
  }
  str(label: string, v: unknown): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    this.warnings.push(`${this.where}: ${label} ${show(v)} is not a string`);
    return undefined;
  }
}

function set(out: Obj, key: string, v: unknown): void {
  if (v !== undefined) out[key] = v;
}

export function findClusterEntry(status: readonly ClusterStatusEntry[]): ClusterStatusCluster | undefined {
  return status.find((e): e is ClusterStatusCluster => e.type === 'cluster');
}

export function findNodeEntry(
  status: readonly ClusterStatusEntry[],
  name: string,
): ClusterStatusNode | undefined {
  return status.find((e): e is ClusterStatusNode => e.type === 'node' && e.name === name);
}

/**
 * POST /api/proxmox/cluster from `/cluster/status`. `null` on a standalone node: it has no cluster
 * entry (FACTS.md), and the spec's cluster payload describes a corosync cluster.
 */
export function buildClusterPayload(
  status: ClusterStatusEntry[],
  meta: ReportMeta & { reportingNode: string },
): Parsed<ProxmoxCluster> | null {
  const c = findClusterEntry(status);
  if (!c) return null;
  const r = new Reader('cluster');
  const nodeEntries = status.filter((e): e is ClusterStatusNode => e.type === 'node');
  let nodes = r.int('nodes', c.nodes);
  if (nodes === undefined) {
    nodes = nodeEntries.length;
    r.warnings.push(`cluster: nodes taken from the ${nodes} node entries`);
  }
  let quorate = r.flag('quorate', c.quorate);
  if (quorate === undefined) {
    // The field is mandatory on the wire; "not quorate" is the side that raises an alert.
    quorate = 0;
    r.warnings.push('cluster: quorate unreadable, reported as 0 (not quorate)');
  }
  const out: Obj = {};
  const name = r.str('name', c.name);
  if (name === undefined || name === '') r.warnings.push('cluster: no name');
  out.cluster_name = name ?? '';
  set(out, 'cluster_id', r.str('id', c.id));
  out.nodes = nodes;
  out.quorate = quorate;
  set(out, 'version', r.int('version', c.version));
  putMeta(out, meta);
  out.reporting_node = meta.reportingNode;
  const members: ClusterMember[] = [];
  for (const n of nodeEntries) {
    const m = memberOf(n, r);
    if (m) members.push(m);
  }
  out.members = members;
  return { data: out as ProxmoxCluster, warnings: r.warnings };
}

function memberOf(n: ClusterStatusNode, r: Reader): ClusterMember | undefined {
  const nodeId = r.int(`node ${n.name} nodeid`, n.nodeid);
  const online = r.flag(`node ${n.name} online`, n.online);
  if (nodeId === undefined || online === undefined) {
    r.warnings.push(`cluster: member ${show(n.name)} left out`);
    return undefined;
  }
  const m: Mutable<ClusterMember> = { name: n.name, node_id: nodeId, online };
  if (typeof n.ip === 'string') m.ip = n.ip;
  const local = r.flag(`node ${n.name} local`, n.local);
  if (local !== undefined) m.local = local;
  if (typeof n.level === 'string') m.level = n.level;
  return m;
}

export interface NodePayloadInput {
  nodeName: string;
  /** /cluster/status (or clusterStatusFromMembers): gives node_id, ip, online, local, level, cluster name */
  clusterStatus?: ClusterStatusEntry[];
  /** /nodes/{node}/status (or nodeStatusFromProc) */
  nodeStatus?: NodeStatus;
  /** "pve-manager/8.4.1/2a5fa54a8503f96d"; wins over nodeStatus.pveversion */
  version?: string;
  /** from /proc/stat deltas (cpuUsageBetween); wins over nodeStatus.cpu/wait */
  cpu?: { busyRatio: number; ioWaitRatio: number };
  intervalSeconds?: number;
  /** the agent's heartbeat period; absent when it sends no heartbeats */
  heartbeatIntervalSeconds?: number;
  /** bytes in and out since boot from /proc/net/dev (nodeNetCounters); local sources only */
  net?: { inBytes: number; outBytes: number };
}

/** POST /api/proxmox/node. */
export function buildNodePayload(input: NodePayloadInput, meta: ReportMeta): Parsed<ProxmoxNode> {
  const r = new Reader(`node ${input.nodeName}`);
  const out: Obj = { name: input.nodeName };
  const status = input.clusterStatus;
  if (status) {
    const e = findNodeEntry(status, input.nodeName);
    if (!e) r.warnings.push(`node ${input.nodeName}: not in /cluster/status`);
    else {
      set(out, 'node_id', r.int('nodeid', e.nodeid));
      if (typeof e.ip === 'string') out.ip = e.ip;
      set(out, 'online', r.flag('online', e.online));
      set(out, 'local', r.flag('local', e.local));
      if (typeof e.level === 'string') out.level = e.level;
    }
  }
  const ns = input.nodeStatus;
  set(out, 'pve_version', input.version ?? r.str('pveversion', ns?.pveversion));
  putMeta(out, meta);
  const clusterName = meta.clusterName ?? (status ? findClusterEntry(status)?.name : undefined);
  set(out, 'cluster_name', clusterName);
  set(out, 'interval_seconds', input.intervalSeconds);
  set(out, 'heartbeat_interval_seconds', input.heartbeatIntervalSeconds);
  if (input.cpu) {
    out.cpu_usage_ratio = input.cpu.busyRatio;
    out.io_wait_ratio = input.cpu.ioWaitRatio;
  } else if (ns) {
    set(out, 'cpu_usage_ratio', r.num('cpu', ns.cpu));
    set(out, 'io_wait_ratio', r.num('wait', ns.wait));
  }
  if (ns) {
    const ci = ns.cpuinfo;
    if (ci) {
      set(out, 'cpu_model', r.str('cpuinfo.model', ci.model));
      set(out, 'cpu_cores', r.int('cpuinfo.cores', ci.cores));
      set(out, 'cpu_sockets', r.int('cpuinfo.sockets', ci.sockets));
      set(out, 'cpu_threads', r.int('cpuinfo.cpus', ci.cpus));
    }
    if (ns.loadavg !== undefined) {
      if (!Array.isArray(ns.loadavg) || ns.loadavg.length < 3) {
        r.warnings.push(`node ${input.nodeName}: loadavg ${show(ns.loadavg)} is not three numbers`);
      } else {
        set(out, 'load_avg_1m', r.num('loadavg[0]', ns.loadavg[0]));
        set(out, 'load_avg_5m', r.num('loadavg[1]', ns.loadavg[1]));
        set(out, 'load_avg_15m', r.num('loadavg[2]', ns.loadavg[2]));
      }
    }
    if (ns.memory) {
      set(out, 'mem_total_bytes', r.bytes('memory.total', ns.memory.total));
      set(out, 'mem_used_bytes', r.bytes('memory.used', ns.memory.used));
      set(out, 'mem_free_bytes', r.bytes('memory.free', ns.memory.free));
    }
    if (ns.swap) {
      set(out, 'swap_total_bytes', r.bytes('swap.total', ns.swap.total));
      set(out, 'swap_used_bytes', r.bytes('swap.used', ns.swap.used));
      set(out, 'swap_free_bytes', r.bytes('swap.free', ns.swap.free));
    }
    if (ns.rootfs) {
      set(out, 'rootfs_total_bytes', r.bytes('rootfs.total', ns.rootfs.total));
      set(out, 'rootfs_used_bytes', r.bytes('rootfs.used', ns.rootfs.used));
      set(out, 'rootfs_avail_bytes', r.bytes('rootfs.avail', ns.rootfs.avail));
    }
    set(out, 'uptime_seconds', r.int('uptime', ns.uptime));
    set(out, 'kernel_version', r.str('kversion', ns.kversion));
  }
  if (input.net) {
    set(out, 'net_in_bytes', r.int('net in', input.net.inBytes));
    set(out, 'net_out_bytes', r.int('net out', input.net.outBytes));
  }
  return { data: out as ProxmoxNode, warnings: r.warnings };
}

export interface GuestMeta extends ReportMeta {
  /** keys with a pending change (pendingKeysOf / configFromPending) */
  pendingKeys?: string[];
}

/** The resource's vmid, or the number in its id ("lxc/100"). */
function vmidOf(res: ClusterResource, r: Reader): number | undefined {
  const fromField = res.vmid !== undefined ? r.int('vmid', res.vmid, { min: 1 }) : undefined;
  if (fromField !== undefined) return fromField;
  const m = /^(?:lxc|qemu)\/(\d+)$/.exec(res.id ?? '');
  if (m) return Number(m[1]);
  r.warnings.push(`guest ${show(res.id)}: no vmid`);
  return undefined;
}

/** Fields common to both guest payloads that come from /cluster/resources. */
function guestHead(kind: GuestKind, res: ClusterResource, config: ConfigMap, r: Reader): Obj {
  const out: Obj = {};
  const vmid = vmidOf(res, r);
  const nameFromConfig = kind === 'lxc' ? config.hostname : config.name;
  set(out, 'name', r.str('name', res.name ?? nameFromConfig));
  if (vmid !== undefined) out[kind === 'lxc' ? 'lxc_id' : 'qemu_id'] = `${kind}/${vmid}`;
  let status = r.str('status', res.status);
  if (status === undefined || status === '') {
    r.warnings.push(`${kind}/${vmid ?? '?'}: no status, reported as "unknown"`);
    status = 'unknown';
  }
  out.status = status;
  set(out, 'uptime', r.int('uptime', res.uptime));
  // vmid is mandatory on the wire; 0 fails validation, so the agent drops the report (and logs why).
  out.vmid = vmid ?? 0;
  const node = r.str('node', res.node);
  if (node === undefined) r.warnings.push(`${kind}/${vmid ?? '?'}: no node`);
  out.node = node ?? '';
  return out;
}

function guestTail(
  kind: GuestKind,
  res: ClusterResource,
  config: ConfigMap,
  meta: GuestMeta,
  r: Reader,
  out: Obj,
): void {
  putMeta(out, meta);
  set(out, 'cluster_name', meta.clusterName);
  // `template` is "" on PVE 6.2 for non-templates; the config's `template: 1` is authoritative.
  const template =
    toBool01(config.template) ?? (res.template !== undefined ? r.bool('template', res.template) : undefined);
  set(out, 'template', template ?? false);
  if (meta.pendingKeys !== undefined) out.pending_keys = [...meta.pendingKeys];
  set(out, 'cpu_usage_ratio', r.num('cpu', res.cpu));
  set(out, 'mem_used_bytes', r.bytes('mem', res.mem));
  set(out, 'disk_used_bytes', r.bytes('disk', res.disk));
  // counters since the guest started; usage history keeps them (min/max per bucket)
  set(out, 'net_in_bytes', r.bytes('netin', res.netin));
  set(out, 'net_out_bytes', r.bytes('netout', res.netout));
  const nets = guestNetworks(kind, config);
  r.warnings.push(...nets.warnings);
  out.networks = nets.data satisfies GuestNetwork[];
  const disks = guestDisks(kind, config);
  r.warnings.push(...disks.warnings);
  out.disks = disks.data satisfies GuestDisk[];
}

/**
 * The `config` sent: the running map without `digest`. The config endpoint adds `digest` (SHA-1 of
 * the whole file, pending and snapshot sections included), the pending endpoint does not, and it
 * changes with every pending edit: keeping it would make sources differ and fake config changes.
 */
function payloadConfig(config: ConfigMap): ConfigMap {
  const out: ConfigMap = {};
  for (const [k, v] of Object.entries(config)) if (!CONFIG_VOLATILE_KEYS.includes(k)) out[k] = v;
  return out;
}

/** LXC schema defaults for keys a config may omit (pve-container 5.x/6.x). */
export const LXC_DEFAULTS = { memory: 512, swap: 512 } as const;
/** QEMU schema defaults (qemu-server): memory 512 MiB, 1 core per socket, 1 socket. */
export const QEMU_DEFAULTS = { memory: 512, cores: 1, sockets: 1 } as const;

/**
 * POST /api/proxmox/lxc from a /cluster/resources entry and the running config map. `cpu_cores`
 * is `cores`; a container without `cores` may use every host core, which /cluster/resources
 * reports as `maxcpu`.
 */
export function buildLxcPayload(
  res: ClusterResource,
  config: ConfigMap,
  meta: GuestMeta,
): Parsed<ProxmoxLXC> {
  const r = new Reader(`lxc/${String(res.vmid ?? res.id)}`);
  const out = guestHead('lxc', res, config, r);
  set(
    out,
    'cpu_cores',
    config.cores !== undefined ? r.int('cores', config.cores) : r.int('maxcpu', res.maxcpu),
  );
  set(out, 'memory_mb', config.memory !== undefined ? r.int('memory', config.memory) : LXC_DEFAULTS.memory);
  set(out, 'rootfs', r.str('rootfs', config.rootfs));
  set(out, 'swap_mb', config.swap !== undefined ? r.int('swap', config.swap) : LXC_DEFAULTS.swap);
  set(out, 'net0', r.str('net0', config.net0));
  for (const k of ['ostype', 'arch', 'hostname', 'searchdomain', 'nameserver', 'features'] as const) {
    set(out, k, r.str(k, config[k]));
  }
  set(
    out,
    'unprivileged',
    config.unprivileged !== undefined ? r.bool('unprivileged', config.unprivileged) : false,
  );
  set(out, 'protection', config.protection !== undefined ? r.bool('protection', config.protection) : false);
  const tags = tagsToWire(typeof config.tags === 'string' ? config.tags : res.tags);
  if (tags !== '') out.tags = tags;
  set(out, 'timezone', r.str('timezone', config.timezone));
  out.config = payloadConfig(config);
  guestTail('lxc', res, config, meta, r, out);
  return { data: out as ProxmoxLXC, warnings: r.warnings };
}

/**
 * POST /api/proxmox/qemu. `cpu_cores` is `cores` per socket as the spec maps it (1 when absent),
 * `cpu_sockets` beside it; `memory_mb` reads both the number form and the PVE ≥ 8.1 string form.
 */
export function buildQemuPayload(
  res: ClusterResource,
  config: ConfigMap,
  meta: GuestMeta,
): Parsed<ProxmoxQEMU> {
  const r = new Reader(`qemu/${String(res.vmid ?? res.id)}`);
  const out = guestHead('qemu', res, config, r);
  set(
    out,
    'cpu_cores',
    config.cores !== undefined ? r.int('cores', config.cores, { min: 1 }) : QEMU_DEFAULTS.cores,
  );
  if (config.memory !== undefined) {
    const m = parseQemuMemory(config.memory);
    if (m.warnings.length > 0) r.warnings.push(...m.warnings.map((w) => `qemu: ${w}`));
    else out.memory_mb = m.data.currentMb;
  } else out.memory_mb = QEMU_DEFAULTS.memory;
  out.config = payloadConfig(config);
  guestTail('qemu', res, config, meta, r, out);
  const tags = tagsToWire(typeof config.tags === 'string' ? config.tags : res.tags);
  if (tags !== '') out.tags = tags;
  set(
    out,
    'cpu_sockets',
    config.sockets !== undefined ? r.int('sockets', config.sockets, { min: 1 }) : QEMU_DEFAULTS.sockets,
  );
  return { data: out as ProxmoxQEMU, warnings: r.warnings };
}
