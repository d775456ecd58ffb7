/**
 * Shared types of @nanny/proxmox: the parser result shape and lenient Proxmox API response types.
 *
 * "Lenient" because Proxmox is: the Perl API sends integers as numbers in current releases but
 * numeric-looking strings in older ones (PVE 6.x/7.x lists: `"vmid": "106"`, `"disk": "744189952"`),
 * booleans as 0/1, and `template` as `""` on PVE 6.2. Every response type therefore admits
 * `number | string` for numbers and keeps an index signature for keys newer releases add.
 */

/** A parser result: the data plus one human-readable line per value that could not be understood. */
export interface Parsed<T> {
  data: T;
  warnings: string[];
}

/** What a config map holds: integers/0-1 booleans as numbers, everything else as strings. */
export type ConfigValue = string | number;
export type ConfigMap = Record<string, ConfigValue>;
export type GuestKind = 'lxc' | 'qemu';

/** A number as Proxmox may send it: a JSON number or a numeric-looking string. */
export type NumLike = number | string;
/** A 0/1 flag as Proxmox may send it (`template` was `""` for "no" on PVE 6.2). */
export type FlagLike = number | string | boolean;

/** `GET /cluster/status`, the `type: "cluster"` entry (absent on a standalone node). */
export interface ClusterStatusCluster {
  type: 'cluster';
  /** always the literal "cluster" on real Proxmox: not an identity */
  id: string;
  name: string;
  nodes?: NumLike;
  quorate?: FlagLike;
  version?: NumLike;
  [key: string]: unknown;
}

/** `GET /cluster/status`, one `type: "node"` entry. A standalone node reports itself with `nodeid: 0`. */
export interface ClusterStatusNode {
  type: 'node';
  /** "node/<name>" */
  id: string;
  name: string;
  nodeid?: NumLike;
  ip?: string;
  online?: FlagLike;
  local?: FlagLike;
  level?: string;
  [key: string]: unknown;
}

export type ClusterStatusEntry = ClusterStatusCluster | ClusterStatusNode;

/** `GET /cluster/resources`, any entry type (qemu, lxc, node, storage, pool, sdn, network). */
export interface ClusterResource {
  /** "qemu/100", "lxc/101", "node/pve1", "storage/pve1/local", "/pool/x" */
  id: string;
  type: string;
  vmid?: NumLike;
  node?: string;
  name?: string;
  /** guests: running/stopped/paused/unknown; nodes: online/offline/unknown; storage: available/unknown */
  status?: string;
  uptime?: NumLike;
  /** 0/1; `""` on PVE 6.2 for non-templates */
  template?: FlagLike;
  maxcpu?: NumLike;
  cpu?: NumLike;
  maxmem?: NumLike;
  mem?: NumLike;
  maxdisk?: NumLike;
  disk?: NumLike;
  netin?: NumLike;
  netout?: NumLike;
  diskread?: NumLike;
  diskwrite?: NumLike;
  /** qemu, PVE 9 */
  memhost?: NumLike;
  /** raw config string, `;`-separated */
  tags?: string;
  lock?: string;
  pool?: string;
  hastate?: string;
  level?: string;
  storage?: string;
  plugintype?: string;
  content?: string;
  shared?: FlagLike;
  'cgroup-mode'?: NumLike;
  [key: string]: unknown;
}

/** `GET /nodes/{node}/status` (keys of PVE 4.2 … 9.1). */
export interface NodeStatus {
  uptime?: NumLike;
  idle?: NumLike;
  /** three strings, e.g. ["0.16","0.10","0.09"] */
  loadavg?: NumLike[];
  /** "Linux 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)" */
  kversion?: string;
  'current-kernel'?: { sysname?: string; release?: string; version?: string; machine?: string };
  'boot-info'?: { mode?: string; secureboot?: FlagLike };
  cpuinfo?: {
    model?: string;
    sockets?: NumLike;
    cores?: NumLike;
    cpus?: NumLike;
    mhz?: NumLike;
    hvm?: NumLike;
    user_hz?: NumLike;
    flags?: string;
  };
  /** busy fraction 0..1 */
  cpu?: NumLike;
  /** iowait fraction 0..1 */
  wait?: NumLike;
  memory?: { free?: NumLike; total?: NumLike; used?: NumLike; available?: NumLike };
  swap?: { free?: NumLike; total?: NumLike; used?: NumLike };
  rootfs?: { total?: NumLike; avail?: NumLike; used?: NumLike; free?: NumLike };
  ksm?: { shared?: NumLike };
  /** "pve-manager/8.4.1/2a5fa54a8503f96d" */
  pveversion?: string;
  [key: string]: unknown;
}

/**
 * `GET /nodes/{node}/lxc/{vmid}/config` as JSON. `lxc` (raw `lxc.*` keys) is an array of
 * [key, value] pairs there; {@link normalizeApiConfig} turns it into the scalar form of a ConfigMap.
 */
export interface LxcConfig {
  arch?: string;
  cores?: NumLike;
  cpulimit?: NumLike;
  cpuunits?: NumLike;
  description?: string;
  digest?: string;
  features?: string;
  hostname?: string;
  lxc?: Array<[string, string]>;
  memory?: NumLike;
  nameserver?: string;
  onboot?: FlagLike;
  ostype?: string;
  protection?: FlagLike;
  rootfs?: string;
  searchdomain?: string;
  swap?: NumLike;
  tags?: string;
  template?: FlagLike;
  timezone?: string;
  unprivileged?: FlagLike;
  [key: string]: unknown;
}

/** `GET /nodes/{node}/qemu/{vmid}/config` as JSON. `memory` is a string since PVE 8.1. */
export interface QemuConfig {
  agent?: NumLike;
  boot?: string;
  cores?: NumLike;
  cpu?: string;
  description?: string;
  digest?: string;
  memory?: NumLike;
  name?: string;
  numa?: FlagLike;
  ostype?: string;
  sockets?: NumLike;
  tags?: string;
  template?: FlagLike;
  [key: string]: unknown;
}

/** `GET /version` (and `/nodes/{node}/version`). 7.x version looks like "7.4-16". */
export interface VersionInfo {
  version?: string;
  release?: string;
  repoid?: string;
  console?: string;
  [key: string]: unknown;
}
