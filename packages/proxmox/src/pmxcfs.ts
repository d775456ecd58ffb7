/**
 * The pmxcfs virtual files `/etc/pve/.members`, `.vmlist` and `.rrd` (formats: pve-reference/PMXCFS.md,
 * read from pve-cluster 9.1.6 status.c), and how to turn them into the API's /cluster/status and
 * /cluster/resources shapes so the `files` source yields the same payloads as `pvesh`.
 */
import type { ClusterResource, ClusterStatusEntry, ClusterStatusNode, ConfigMap, Parsed } from './types.ts';
import { show, toBool01, toInt, toNumber } from './scalars.ts';

export interface MembersNode {
  id: number;
  online: number;
  ip?: string;
}

/** `.members`. Standalone (no corosync.conf): only `nodename` and `version: 0`, no cluster, no nodelist. */
export interface MembersFile {
  nodename: string;
  /** change counter; resets when pmxcfs restarts */
  version?: number;
  cluster?: { name: string; version: number; nodes: number; quorate: number };
  nodelist: Record<string, MembersNode>;
}

export interface VmlistEntry {
  vmid: number;
  node: string;
  /** qemu | lxc (| openvz on very old clusters) */
  type: string;
  /** per-guest change counter: re-read the config only when it changes */
  version: number;
}

export interface VmlistFile {
  version: number;
  guests: VmlistEntry[];
}

/** Fields of `pve2-node/<node>` / `pve-node-9.0/<node>` (by index; `U` → absent). */
export interface RrdNode {
  node: string;
  /** the key the entry came from (tells PVE 8 from PVE 9 format) */
  key: string;
  uptime?: number;
  level?: string;
  ctime?: number;
  loadavg1?: number;
  maxcpu?: number;
  cpu?: number;
  iowait?: number;
  memtotal?: number;
  memused?: number;
  swaptotal?: number;
  swapused?: number;
  roottotal?: number;
  rootused?: number;
  netin?: number;
  netout?: number;
  /** PVE 9 only */
  memavailable?: number;
  arcsize?: number;
}

/** Fields of `pve2.3-vm/<vmid>` / `pve-vm-9.0/<vmid>`. */
export interface RrdVm {
  vmid: number;
  key: string;
  uptime?: number;
  name?: string;
  status?: string;
  template?: number;
  ctime?: number;
  maxcpu?: number;
  cpu?: number;
  maxmem?: number;
  mem?: number;
  maxdisk?: number;
  disk?: number;
  netin?: number;
  netout?: number;
  diskread?: number;
  diskwrite?: number;
  /** PVE 9, qemu only */
  memhost?: number;
}

export interface RrdStorage {
  node: string;
  storage: string;
  key: string;
  ctime?: number;
  total?: number;
  used?: number;
}

export interface RrdDump {
  /** by node name */
  nodes: Record<string, RrdNode>;
  /** by vmid (as string) */
  vms: Record<string, RrdVm>;
  /** by "<node>/<storage>" */
  storages: Record<string, RrdStorage>;
}

function parseJsonObject(text: string, file: string): Parsed<Record<string, unknown> | undefined> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return {
      data: undefined,
      warnings: [`${file}: not JSON (${e instanceof Error ? e.message : String(e)}); torn read?`],
    };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return { data: undefined, warnings: [`${file}: not a JSON object`] };
  }
  return { data: v as Record<string, unknown>, warnings: [] };
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** `/etc/pve/.members`. Returns `data: undefined` only when the text is not a JSON object with `nodename`. */
export function parseMembers(text: string): Parsed<MembersFile | undefined> {
  const j = parseJsonObject(text, '.members');
  if (!j.data) return { data: undefined, warnings: j.warnings };
  const warnings: string[] = [];
  const o = j.data;
  if (typeof o.nodename !== 'string' || o.nodename === '') {
    return { data: undefined, warnings: ['.members: no nodename'] };
  }
  const data: MembersFile = { nodename: o.nodename, nodelist: {} };
  const version = toInt(o.version);
  if (version !== undefined) data.version = version;
  else if (o.version !== undefined) warnings.push(`.members: version ${show(o.version)} is not an integer`);
  if (o.cluster !== undefined) {
    const c = o.cluster;
    if (!isObj(c) || typeof c.name !== 'string') warnings.push(`.members: bad cluster entry ${show(c)}`);
    else {
      const cv = toInt(c.version);
      const nodes = toInt(c.nodes);
      const quorate = toBool01(c.quorate);
      if (cv === undefined) warnings.push(`.members: cluster.version ${show(c.version)} is not an integer`);
      if (nodes === undefined) warnings.push(`.members: cluster.nodes ${show(c.nodes)} is not an integer`);
      if (quorate === undefined) warnings.push(`.members: cluster.quorate ${show(c.quorate)} is not 0/1`);
      if (cv !== undefined && nodes !== undefined && quorate !== undefined) {
        data.cluster = { name: c.name, version: cv, nodes, quorate: quorate ? 1 : 0 };
      }
    }
  }
  if (o.nodelist !== undefined) {
    if (!isObj(o.nodelist)) warnings.push('.members: nodelist is not an object');
    else {
      for (const [name, n] of Object.entries(o.nodelist)) {
        const id = isObj(n) ? toInt(n.id) : undefined;
        const online = isObj(n) ? toBool01(n.online) : undefined;
        if (!isObj(n) || id === undefined || online === undefined) {
          warnings.push(`.members: bad nodelist entry ${name}: ${show(n)}`);
          continue;
        }
        const entry: MembersNode = { id, online: online ? 1 : 0 };
        if (typeof n.ip === 'string') entry.ip = n.ip;
        data.nodelist[name] = entry;
      }
    }
  }
  return { data, warnings };
}

/** Whether `.members` describes a standalone node (no corosync cluster). */
export function isStandalone(m: MembersFile): boolean {
  return m.cluster === undefined;
}

/** `/etc/pve/.vmlist` (the whole cluster's guests, identical on every node). Guests sorted by vmid. */
export function parseVmlist(text: string): Parsed<VmlistFile | undefined> {
  const j = parseJsonObject(text, '.vmlist');
  if (!j.data) return { data: undefined, warnings: j.warnings };
  const warnings: string[] = [];
  const version = toInt(j.data.version);
  if (version === undefined)
    return { data: undefined, warnings: [`.vmlist: version ${show(j.data.version)} missing`] };
  const guests: VmlistEntry[] = [];
  const ids = j.data.ids;
  if (ids !== undefined && !isObj(ids)) warnings.push('.vmlist: ids is not an object');
  if (isObj(ids)) {
    for (const [id, e] of Object.entries(ids)) {
      const vmid = toInt(id);
      const v = isObj(e) ? toInt(e.version) : undefined;
      if (
        vmid === undefined ||
        !isObj(e) ||
        typeof e.node !== 'string' ||
        typeof e.type !== 'string' ||
        v === undefined
      ) {
        warnings.push(`.vmlist: bad entry ${id}: ${show(e)}`);
        continue;
      }
      guests.push({ vmid, node: e.node, type: e.type, version: v });
    }
  }
  guests.sort((a, b) => a.vmid - b.vmid);
  return { data: { version, guests }, warnings };
}

/** A `U` (undefined since pve-cluster 50786956, 2017) or empty field (older) → absent. */
function field(
  parts: string[],
  i: number,
  line: string,
  warnings: string[],
  kind: 'num' | 'int' | 'str',
): number | string | undefined {
  const v = parts[i];
  if (v === undefined || v === 'U' || v === '') return undefined;
  if (kind === 'str') return v;
  const n =
    kind === 'int'
      ? (toInt(v) ?? (toNumber(v) !== undefined ? Math.round(toNumber(v)!) : undefined))
      : toNumber(v);
  if (n === undefined)
    warnings.push(`.rrd: field ${i} ${show(v)} of ${show(line.slice(0, 60))} is not a number`);
  return n;
}

/**
 * `/etc/pve/.rrd`: one `<key>:<f0>:<f1>:…` line per entry. PVE 9 keys (`pve-node-9.0/…`,
 * `pve-vm-9.0/…`, `pve-storage-9.0/…`) are preferred over PVE 8 keys (`pve2-node/…`, `pve2.3-vm/…`,
 * `pve2-storage/…`) for the same object, as get_rrd_key does: mixed clusters send both. Fields are
 * read by index and extra trailing fields ignored (newer versions only append). Unknown keys
 * (e.g. the obsolete `pve2-vm/`) are skipped silently: they are not ours to read.
 */
export function parseRrdDump(text: string): Parsed<RrdDump> {
  const warnings: string[] = [];
  const dump: RrdDump = { nodes: {}, vms: {}, storages: {} };
  const isNew = (key: string) => key.startsWith('pve-');
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon === -1) {
      warnings.push(`.rrd: no key in ${show(line.slice(0, 60))}`);
      continue;
    }
    const key = line.slice(0, colon);
    const parts = line.slice(colon + 1).split(':');
    const slash = key.indexOf('/');
    const prefix = slash === -1 ? key : key.slice(0, slash);
    const id = slash === -1 ? '' : key.slice(slash + 1);
    const num = (i: number) => field(parts, i, line, warnings, 'num') as number | undefined;
    const int = (i: number) => field(parts, i, line, warnings, 'int') as number | undefined;
    const str = (i: number) => field(parts, i, line, warnings, 'str') as string | undefined;

    if (prefix === 'pve2-node' || prefix === 'pve-node-9.0') {
      const prev = dump.nodes[id];
      if (prev && isNew(prev.key) && !isNew(key)) continue;
      if (parts.length < 15) warnings.push(`.rrd: ${key} has ${parts.length} fields, expected ≥ 15`);
      const n: RrdNode = { node: id, key };
      assign(n, {
        uptime: int(0),
        level: str(1),
        ctime: int(2),
        loadavg1: num(3),
        maxcpu: int(4),
        cpu: num(5),
        iowait: num(6),
        memtotal: int(7),
        memused: int(8),
        swaptotal: int(9),
        swapused: int(10),
        roottotal: int(11),
        rootused: int(12),
        netin: int(13),
        netout: int(14),
      });
      if (isNew(key)) assign(n, { memavailable: int(15), arcsize: int(16) });
      dump.nodes[id] = n;
    } else if (prefix === 'pve2.3-vm' || prefix === 'pve-vm-9.0') {
      const vmid = toInt(id);
      if (vmid === undefined) {
        warnings.push(`.rrd: bad vmid in key ${show(key)}`);
        continue;
      }
      const prev = dump.vms[id];
      if (prev && isNew(prev.key) && !isNew(key)) continue;
      if (parts.length < 15) warnings.push(`.rrd: ${key} has ${parts.length} fields, expected ≥ 15`);
      const v: RrdVm = { vmid, key };
      assign(v, {
        uptime: int(0),
        name: str(1),
        status: str(2),
        template: int(3),
        ctime: int(4),
        maxcpu: int(5),
        cpu: num(6),
        maxmem: int(7),
        mem: int(8),
        maxdisk: int(9),
        disk: int(10),
        netin: int(11),
        netout: int(12),
        diskread: int(13),
        diskwrite: int(14),
      });
      if (isNew(key)) assign(v, { memhost: int(15) });
      dump.vms[id] = v;
    } else if (prefix === 'pve2-storage' || prefix === 'pve-storage-9.0') {
      const s2 = id.indexOf('/');
      if (s2 === -1) {
        warnings.push(`.rrd: bad storage key ${show(key)}`);
        continue;
      }
      const prev = dump.storages[id];
      if (prev && isNew(prev.key) && !isNew(key)) continue;
      const s: RrdStorage = { node: id.slice(0, s2), storage: id.slice(s2 + 1), key };
      assign(s, { ctime: int(0), total: int(1), used: int(2) });
      dump.storages[id] = s;
    }
  }
  return { data: dump, warnings };
}

function assign<T extends object>(target: T, values: Partial<Record<keyof T, unknown>>): void {
  for (const [k, v] of Object.entries(values)) {
    if (v !== undefined) (target as Record<string, unknown>)[k] = v;
  }
}

/**
 * `.members` as `/cluster/status` would answer on `localNode`: the cluster entry first (id is the
 * literal "cluster", as on real Proxmox), then one node entry per member sorted by name. Standalone:
 * one node entry with `nodeid: 0`, `online: 1`, `local: 1`, no cluster entry (FACTS.md).
 * `levels` are subscription levels by node (from .rrd field 1), '' when unknown.
 */
export function clusterStatusFromMembers(
  m: MembersFile,
  localNode: string,
  opts: { levels?: Record<string, string>; localIp?: string } = {},
): ClusterStatusEntry[] {
  const level = (n: string) => opts.levels?.[n] ?? '';
  if (!m.cluster) {
    const e: ClusterStatusNode = {
      type: 'node',
      id: `node/${localNode}`,
      name: localNode,
      nodeid: 0,
      online: 1,
      local: 1,
      level: level(localNode),
    };
    if (opts.localIp !== undefined) e.ip = opts.localIp;
    return [e];
  }
  const out: ClusterStatusEntry[] = [
    {
      type: 'cluster',
      id: 'cluster',
      name: m.cluster.name,
      nodes: m.cluster.nodes,
      version: m.cluster.version,
      quorate: m.cluster.quorate,
    },
  ];
  for (const name of Object.keys(m.nodelist).sort()) {
    const n = m.nodelist[name]!;
    const e: ClusterStatusNode = {
      type: 'node',
      id: `node/${name}`,
      name,
      nodeid: n.id,
      online: n.online,
      local: name === localNode ? 1 : 0,
      level: level(name),
    };
    const ip = n.ip ?? (name === localNode ? opts.localIp : undefined);
    if (ip !== undefined) e.ip = ip;
    out.push(e);
  }
  return out;
}

/** Subscription levels by node from the .rrd node entries (field 1). */
export function levelsFromRrd(rrd: RrdDump): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, n] of Object.entries(rrd.nodes)) out[name] = n.level ?? '';
  return out;
}

export interface ResourcesFromFilesInput {
  vmlist: VmlistFile;
  rrd: RrdDump;
  /** to mark nodes online/offline as extract_node_stats does; without it nodes come from .rrd only */
  members?: MembersFile;
  /** parsed current configs by vmid: give name/tags/lock/template when .rrd has no entry yet */
  configs?: Record<string, ConfigMap>;
  /** local node name: on a standalone node it is online by definition */
  localNode?: string;
}

/**
 * `/cluster/resources` (guests, then nodes, then storage) from the pmxcfs files, mirroring
 * PVE::API2Tools extract_vm_stats / extract_node_stats: a guest without an .rrd entry has status
 * "unknown"; an offline node has no usage fields. Guest `tags`/`lock` come from its config.
 */
export function clusterResourcesFromFiles(input: ResourcesFromFilesInput): ClusterResource[] {
  const { vmlist, rrd, members, configs } = input;
  const out: ClusterResource[] = [];
  for (const g of [...vmlist.guests].sort((a, b) => String(a.vmid).localeCompare(String(b.vmid)))) {
    if (g.type !== 'qemu' && g.type !== 'lxc') continue;
    const r: ClusterResource = { id: `${g.type}/${g.vmid}`, type: g.type, vmid: g.vmid, node: g.node };
    const s = rrd.vms[String(g.vmid)];
    const cfg = configs?.[String(g.vmid)];
    const cfgName = cfg ? (g.type === 'qemu' ? cfg.name : cfg.hostname) : undefined;
    if (s) {
      assign(r, {
        name: s.name ?? (typeof cfgName === 'string' ? cfgName : undefined),
        status: s.status ?? 'unknown',
        uptime: s.uptime,
        template: s.template,
        maxcpu: s.maxcpu,
        cpu: s.cpu,
        maxmem: s.maxmem,
        mem: s.mem,
        maxdisk: s.maxdisk,
        disk: s.disk,
        netin: s.netin,
        netout: s.netout,
        diskread: s.diskread,
        diskwrite: s.diskwrite,
        memhost: s.memhost,
      });
    } else {
      r.status = 'unknown';
      if (typeof cfgName === 'string') r.name = cfgName;
      if (cfg) r.template = toBool01(cfg.template) ? 1 : 0;
    }
    if (cfg) {
      if (typeof cfg.tags === 'string') r.tags = cfg.tags;
      if (typeof cfg.lock === 'string') r.lock = cfg.lock;
    }
    out.push(r);
  }
  const nodeNames = new Set<string>([...Object.keys(rrd.nodes), ...Object.keys(members?.nodelist ?? {})]);
  if (members && !members.cluster) nodeNames.add(members.nodename);
  for (const name of [...nodeNames].sort()) {
    const online = members
      ? members.cluster
        ? members.nodelist[name]?.online === 1
        : name === members.nodename
      : rrd.nodes[name] !== undefined;
    const r: ClusterResource = {
      id: `node/${name}`,
      type: 'node',
      node: name,
      status: online ? 'online' : 'offline',
    };
    const s = rrd.nodes[name];
    if (s) r.level = s.level ?? '';
    if (s && online) {
      assign(r, {
        uptime: s.uptime,
        cpu: s.cpu,
        maxcpu: s.maxcpu,
        mem: s.memused,
        maxmem: s.memtotal,
        disk: s.rootused,
        maxdisk: s.roottotal,
      });
    }
    out.push(r);
  }
  for (const id of Object.keys(rrd.storages).sort()) {
    const s = rrd.storages[id]!;
    const r: ClusterResource = {
      id: `storage/${s.node}/${s.storage}`,
      type: 'storage',
      node: s.node,
      storage: s.storage,
      status: 'available',
    };
    assign(r, { disk: s.used, maxdisk: s.total });
    out.push(r);
  }
  return out;
}
