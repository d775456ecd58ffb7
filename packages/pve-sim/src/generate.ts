// Builds a SimState from a scenario (hand-written file or the layout flags). Everything random comes
// from the seed, so `--seed 7` gives the same fleet everywhere; the CA is derived from the seed too.
import { defaultOps } from './ops.ts';
import { pveMajor, tagsToConfig } from '@nanny/proxmox';
import { createRng, hashSeed, type Rng } from './rng.ts';
import type {
  ClockMode,
  ClusterState,
  GuestKind,
  GuestState,
  NodeState,
  SimState,
  SnapshotState,
  SubscriptionLevel,
  TokenState,
} from './model.ts';
import { DEFAULT_PVE_VERSION, releaseProfile } from './versions.ts';
import { clusterCaPem } from './ca.ts';

export interface ScenarioNode {
  name?: string;
  ip?: string;
  pveVersion?: string;
  level?: SubscriptionLevel;
  cpus?: number;
  sockets?: number;
  memTotalGiB?: number;
  uptime?: number;
  isolated?: boolean;
}

export interface ScenarioGuest {
  vmid?: number;
  kind?: GuestKind;
  node?: string;
  name?: string;
  status?: 'running' | 'stopped';
  template?: boolean;
  /** raw config-file values; merged over the generated config */
  config?: Record<string, string | number>;
  description?: string;
  pending?: Record<string, string | number>;
  pendingDelete?: string[];
  snapshots?: {
    name: string;
    snaptime?: number;
    description?: string;
    config?: Record<string, string | number>;
  }[];
}

export interface ScenarioCluster {
  /** cluster name (ignored for standalone) */
  name?: string;
  standalone?: boolean;
  configVersion?: number;
  nodes: number | ScenarioNode[];
  /** name prefix for generated nodes (default "pve") */
  nodePrefix?: string;
  /** node numbering start for generated names (default 1) */
  firstNode?: number;
  guests?: number | ScenarioGuest[];
  /** generated guests added after the listed ones */
  randomGuests?: number;
  firstVmid?: number;
  pveVersion?: string;
  level?: SubscriptionLevel;
  /** third octet of the node IPs, 192.168.<subnet>.x (default 10 + cluster index) */
  subnet?: number;
}

export interface Scenario {
  seed?: number;
  clock?: { mode?: ClockMode; epoch?: number };
  pveshDelayMs?: number;
  tokens?: TokenState[];
  clusters: ScenarioCluster[];
}

/** The default frozen instant: 2025-11-24T16:00:00Z — fixed so that frozen layouts are reproducible. */
export const DEFAULT_EPOCH = 1764000000;
export const DEFAULT_TOKEN: TokenState = {
  tokenId: 'nanny@pve!monitor',
  secret: '5f0c3a2e-8b1d-4c6e-9a7f-2d4b6e8f0a1c',
};

const CPU_MODELS: { model: string; mhz: string; sockets: number; cores: number; threads: number }[] = [
  { model: 'Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz', mhz: '2400.000', sockets: 2, cores: 16, threads: 2 },
  { model: 'AMD EPYC 7302P 16-Core Processor', mhz: '3000.000', sockets: 1, cores: 16, threads: 2 },
  { model: 'Intel(R) Core(TM) i7-6700 CPU @ 3.40GHz', mhz: '800.000', sockets: 1, cores: 4, threads: 2 },
  { model: 'Intel(R) N100', mhz: '2895.985', sockets: 1, cores: 4, threads: 1 },
  { model: 'AMD Ryzen 9 5950X 16-Core Processor', mhz: '3400.000', sockets: 1, cores: 16, threads: 2 },
];

const WORDS = [
  'web',
  'db',
  'cache',
  'proxy',
  'mail',
  'dns',
  'git',
  'ci',
  'mon',
  'backup',
  'vpn',
  'files',
  'app',
  'api',
  'log',
];
const TAGS = ['prod', 'dev', 'staging', 'web', 'db', 'infra', 'k8s', 'backup', 'critical'];
const GiB = 1024 ** 3;

function mac(rng: Rng): string {
  const b = [0xbc, 0x24, 0x11, rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
  return b.map((x) => x.toString(16).toUpperCase().padStart(2, '0')).join(':');
}

function uuid(rng: Rng): string {
  const h = rng.hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function makeNode(
  rng: Rng,
  spec: ScenarioNode,
  name: string,
  cluster: ClusterState,
  nodeid: number,
  subnet: number,
  defaults: { pveVersion: string; level: SubscriptionLevel },
  now: number,
): NodeState {
  const hw = rng.pick(CPU_MODELS);
  const pveVersion = spec.pveVersion ?? defaults.pveVersion;
  const prof = releaseProfile(pveVersion);
  const cpus = spec.cpus ?? hw.sockets * hw.cores * hw.threads;
  const sockets = spec.sockets ?? hw.sockets;
  const memTotal = (spec.memTotalGiB ?? rng.pick([32, 64, 128, 256])) * GiB - rng.int(0, 512) * 1024 * 1024;
  const rootTotal = rng.pick([100861726720, 67317620736, 240054005760, 13471539200 * 4]);
  const uptime = spec.uptime ?? rng.int(3600, 90 * 86400);
  return {
    name,
    clusterId: cluster.id,
    nodeid,
    ip: spec.ip ?? `192.168.${subnet}.${10 + nodeid}`,
    level: spec.level ?? defaults.level,
    isolated: spec.isolated ?? false,
    hung: false,
    pveshDelayMs: 0,
    pveVersion,
    repoid: prof.repoid,
    kernel: prof.kernel,
    kernelBuild: prof.kernelBuild,
    installedKernel: prof.kernel,
    installedKernelBuild: prof.kernelBuild,
    cpuModel: hw.model,
    sockets,
    cores: Math.max(1, Math.round(cpus / sockets / hw.threads)),
    cpus,
    mhz: hw.mhz,
    memTotal,
    swapTotal: rng.pick([0, 8589930496, 8589930496, 4294963200]),
    rootTotal,
    rootUsed: Math.round(rootTotal * (0.1 + rng.next() * 0.4)),
    bootTime: now - uptime,
    cpuUsage: 0.02 + rng.next() * 0.4,
    ioWait: rng.next() * 0.02,
    memUsed: Math.round(memTotal * (0.2 + rng.next() * 0.5)),
    swapUsed: 0,
    load: Math.round(rng.next() * cpus * 30) / 100,
    bootMode: rng.chance(0.7) ? 'efi' : 'legacy-bios',
  };
}

function lxcConfig(rng: Rng, vmid: number, name: string): Record<string, string> {
  const c: Record<string, string> = {
    arch: 'amd64',
    cores: String(rng.pick([1, 1, 2, 2, 4])),
    hostname: name,
    memory: String(rng.pick([512, 1024, 2048, 4096])),
    net0: `name=eth0,bridge=vmbr0,firewall=1,hwaddr=${mac(rng)},ip=${rng.chance(0.5) ? 'dhcp' : `10.20.${rng.int(0, 9)}.${rng.int(2, 250)}/24,gw=10.20.0.1`},type=veth`,
    ostype: rng.pick(['debian', 'debian', 'ubuntu', 'alpine']),
    rootfs: `local-lvm:vm-${vmid}-disk-0,size=${rng.pick([4, 8, 8, 16, 32])}G`,
    swap: String(rng.pick([0, 512, 512, 1024])),
  };
  const unprivileged = rng.chance(0.85);
  if (unprivileged) c.unprivileged = '1';
  if (rng.chance(0.7))
    c.features = unprivileged ? rng.pick(['nesting=1', 'keyctl=1,nesting=1']) : 'mount=nfs;cifs';
  if (rng.chance(0.6)) c.onboot = '1';
  if (rng.chance(0.5)) c.tags = tags(rng);
  if (rng.chance(0.2))
    c.mp0 = `local-lvm:vm-${vmid}-disk-1,mp=/srv/data,backup=1,size=${rng.pick([16, 32, 64])}G`;
  if (rng.chance(0.15))
    c.net1 = `name=eth1,bridge=vmbr1,hwaddr=${mac(rng)},ip=dhcp,tag=${rng.int(10, 99)},type=veth`;
  if (rng.chance(0.15)) c.cpulimit = String(rng.pick([1, 2, 1.5]));
  if (rng.chance(0.1)) c.protection = '1';
  return c;
}

function tags(rng: Rng): string {
  const n = rng.int(1, 3);
  const set = new Set<string>();
  while (set.size < n) set.add(rng.pick(TAGS));
  return tagsToConfig([...set].sort());
}

function qemuConfig(
  rng: Rng,
  vmid: number,
  name: string,
  now: number,
  version: string,
): Record<string, string> {
  const windows = rng.chance(0.2);
  const major = pveMajor(version);
  const qemuVer = major >= 9 ? '10.1.2' : major === 8 ? '9.2.0' : '7.2.0';
  const c: Record<string, string> = {
    boot: 'order=scsi0;ide2;net0',
    cores: String(rng.pick([1, 2, 2, 4, 8])),
    cpu: rng.pick(['x86-64-v2-AES', 'host', 'x86-64-v2-AES']),
    ide2: 'none,media=cdrom',
    memory: String(rng.pick([1024, 2048, 4096, 8192, 16384])),
    meta: `creation-qemu=${qemuVer},ctime=${now - rng.int(86400, 400 * 86400)}`,
    name,
    net0: `virtio=${mac(rng)},bridge=vmbr0,firewall=1`,
    numa: '0',
    ostype: windows ? 'win11' : 'l26',
    scsi0: `local-lvm:vm-${vmid}-disk-${windows ? 1 : 0},iothread=1,size=${rng.pick([32, 32, 64, 128])}G`,
    scsihw: 'virtio-scsi-single',
    smbios1: `uuid=${uuid(rng)}`,
    sockets: '1',
    vmgenid: uuid(rng),
  };
  if (rng.chance(0.8)) c.agent = rng.pick(['1', '1,fstrim_cloned_disks=1']);
  if (windows) {
    c.bios = 'ovmf';
    c.machine = `pc-q35-${qemuVer.split('.').slice(0, 2).join('.')}+pve1`;
    c.efidisk0 = `local-lvm:vm-${vmid}-disk-0,efitype=4m,pre-enrolled-keys=1,size=4M`;
    c.tpmstate0 = `local-lvm:vm-${vmid}-disk-2,size=4M,version=v2.0`;
  }
  if (rng.chance(0.6)) c.onboot = '1';
  if (rng.chance(0.4)) c.tags = tags(rng);
  if (rng.chance(0.2)) c.net1 = `virtio=${mac(rng)},bridge=vmbr1,tag=${rng.int(10, 99)}`;
  if (rng.chance(0.15))
    c.scsi1 = `local-lvm:vm-${vmid}-disk-3,backup=0,iothread=1,size=${rng.pick([100, 200, 500])}G`;
  if (rng.chance(0.15)) c.balloon = String(Math.round(Number(c.memory) / 2));
  return c;
}

const DESCRIPTIONS = [
  'Managed by ops team.\nOwner: platform',
  'Web server: production',
  'do not stop – 100% uptime required',
  'Imported from VMware (2024)',
];

function toStrMap(m: Record<string, string | number> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k] = String(v);
  return out;
}

function makeGuest(rng: Rng, spec: ScenarioGuest, vmid: number, nodes: NodeState[], now: number): GuestState {
  const kind: GuestKind = spec.kind ?? (rng.chance(0.5) ? 'lxc' : 'qemu');
  const node = spec.node ?? rng.pick(nodes).name;
  const nodeState = nodes.find((n) => n.name === node);
  if (!nodeState) throw new Error(`guest ${vmid}: node '${node}' is not in its cluster`);
  const name = spec.name ?? `${rng.pick(WORDS)}-${String(vmid).padStart(3, '0')}`;
  const base =
    kind === 'lxc' ? lxcConfig(rng, vmid, name) : qemuConfig(rng, vmid, name, now, nodeState.pveVersion);
  const template = spec.template ?? (kind === 'qemu' && rng.chance(0.03));
  if (template) base.template = '1';
  const config = { ...base, ...toStrMap(spec.config) };
  if (spec.name) config[kind === 'lxc' ? 'hostname' : 'name'] = spec.name;
  const status = template ? 'stopped' : (spec.status ?? (rng.chance(0.8) ? 'running' : 'stopped'));
  const guest: GuestState = {
    vmid,
    kind,
    node,
    status,
    startedAt: status === 'running' ? Math.max(nodeState.bootTime + 30, now - rng.int(60, 40 * 86400)) : 0,
    config,
    pending: toStrMap(spec.pending),
    pendingDelete: spec.pendingDelete ?? [],
    snapshots: [],
    confVersion: 1,
    cpuUsage: rng.next() * 0.3,
    memFraction: 0.2 + rng.next() * 0.6,
    diskFraction: 0.1 + rng.next() * 0.6,
  };
  const description = spec.description ?? (rng.chance(0.2) ? rng.pick(DESCRIPTIONS) : undefined);
  if (description !== undefined) guest.description = description;
  if (spec.snapshots) {
    guest.snapshots = spec.snapshots.map((s, i) => {
      const snap: SnapshotState = {
        name: s.name,
        snaptime: s.snaptime ?? now - (spec.snapshots!.length - i) * 86400,
        config: { ...config, ...toStrMap(s.config) },
      };
      if (s.description !== undefined) snap.description = s.description;
      return snap;
    });
  } else if (!spec.vmid && rng.chance(0.15)) {
    const count = rng.int(1, 2);
    for (let i = 0; i < count; i++) {
      const snapConfig = { ...config };
      if (i === 0 && snapConfig.memory)
        snapConfig.memory = String(Math.max(512, Number(snapConfig.memory) / 2));
      guest.snapshots.push({
        name: i === 0 ? 'before-upgrade' : 'weekly-2025-11',
        snaptime: now - (count - i) * 7 * 86400,
        config: snapConfig,
      });
    }
  }
  // snapshot chain: each snapshot's parent is the previous one; the main section points at the newest
  guest.snapshots.forEach((s, i) => {
    const prev = guest.snapshots[i - 1];
    if (prev) s.config.parent = prev.name;
    else delete s.config.parent;
  });
  const newest = guest.snapshots[guest.snapshots.length - 1];
  if (newest) guest.config.parent = newest.name;
  if (!spec.vmid && !spec.pending && rng.chance(0.1)) {
    guest.pending.cores = String(Number(config.cores ?? 1) * 2);
    if (rng.chance(0.5) && config.tags) guest.pendingDelete.push('tags');
  }
  return guest;
}

/** Layout flags → scenario (one cluster, or N standalone nodes). */
export function scenarioFromFlags(opts: {
  nodes: number;
  standalone?: boolean;
  guests: number;
  seed: number;
  clusterName?: string;
  pveVersion?: string;
  clock?: ClockMode;
  epoch?: number;
}): Scenario {
  const clock: Scenario['clock'] = { mode: opts.clock ?? 'live' };
  if (opts.epoch !== undefined) clock.epoch = opts.epoch;
  const common = opts.pveVersion ? { pveVersion: opts.pveVersion } : {};
  if (opts.standalone) {
    // N standalone nodes, the guests spread over them
    const clusters: ScenarioCluster[] = [];
    for (let i = 0; i < opts.nodes; i++) {
      const share = Math.floor(opts.guests / opts.nodes) + (i < opts.guests % opts.nodes ? 1 : 0);
      clusters.push({
        standalone: true,
        nodes: [{ name: opts.nodes === 1 ? 'pve' : `pve${i + 1}` }],
        guests: share,
        firstVmid: 100 + i * 1000,
        ...common,
      });
    }
    return { seed: opts.seed, clock, clusters };
  }
  return {
    seed: opts.seed,
    clock,
    clusters: [{ name: opts.clusterName ?? 'prod', nodes: opts.nodes, guests: opts.guests, ...common }],
  };
}

export function buildState(scenario: Scenario, realNowMs: number): SimState {
  const seed = scenario.seed ?? 1;
  const mode = scenario.clock?.mode ?? 'live';
  const epoch = scenario.clock?.epoch ?? DEFAULT_EPOCH;
  // In frozen mode the model lives at `epoch`; in live mode it is built around the real time.
  const now = mode === 'frozen' ? epoch : Math.floor(realNowMs / 1000);
  const state: SimState = {
    format: 'pve-sim-state/1',
    seed,
    clock: { mode, epoch },
    pveshDelayMs: scenario.pveshDelayMs ?? 0,
    clusters: [],
    nodes: [],
    guests: [],
    tokens: scenario.tokens ?? [DEFAULT_TOKEN],
    generation: 1,
  };
  if (!Array.isArray(scenario.clusters) || scenario.clusters.length === 0) {
    throw new Error('scenario: "clusters" must be a non-empty list');
  }
  scenario.clusters.forEach((spec, ci) => {
    const rng = createRng(hashSeed(seed, 'cluster', ci));
    const id = `c${ci + 1}`;
    const standalone = spec.standalone === true;
    const cluster: ClusterState = {
      id,
      name: standalone ? null : (spec.name ?? 'prod'),
      configVersion: spec.configVersion ?? (standalone ? 0 : rng.int(2, 20)),
      partitioned: false,
      ringSeq: rng.int(16, 4000),
      caPem: clusterCaPem(hashSeed(seed, 'ca', ci), now - rng.int(100, 1000) * 86400),
      caSeed: hashSeed(seed, 'ca', ci),
      membersVersion: rng.int(5, 200),
      vmlistVersion: 1,
      pmxcfsStart: now - rng.int(3600, 30 * 86400),
      fileVersions: {
        'corosync.conf': standalone ? 0 : rng.int(1, 9),
        'storage.cfg': 1,
        'user.cfg': rng.int(1, 30),
        'datacenter.cfg': 1,
      },
    };
    state.clusters.push(cluster);
    const nodeSpecs: ScenarioNode[] =
      typeof spec.nodes === 'number' ? Array.from({ length: spec.nodes }, () => ({})) : spec.nodes;
    if (nodeSpecs.length === 0) throw new Error(`scenario cluster ${ci + 1}: no nodes`);
    if (standalone && nodeSpecs.length !== 1) {
      throw new Error(`scenario cluster ${ci + 1}: a standalone entry has exactly one node`);
    }
    const prefix = spec.nodePrefix ?? 'pve';
    const first = spec.firstNode ?? 1;
    const nodes = nodeSpecs.map((ns, i) => {
      const name =
        ns.name ??
        (standalone && nodeSpecs.length === 1 && !spec.nodePrefix
          ? `${prefix}${first === 1 ? '' : first}` || 'pve'
          : `${prefix}${first + i}`);
      if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(name))
        throw new Error(`invalid node name '${name}'`);
      if (state.nodes.some((n) => n.name === name)) {
        throw new Error(
          `node name '${name}' used twice: node names must be unique in one layout (one folder per node)`,
        );
      }
      const n = makeNode(
        createRng(hashSeed(seed, 'node', name)),
        ns,
        name,
        cluster,
        standalone ? 1 : i + 1,
        spec.subnet ?? 10 + ci,
        { pveVersion: spec.pveVersion ?? DEFAULT_PVE_VERSION, level: spec.level ?? '' },
        now,
      );
      state.nodes.push(n);
      return n;
    });
    const guestSpecs: ScenarioGuest[] = [
      ...(typeof spec.guests === 'number'
        ? Array.from({ length: spec.guests }, () => ({}))
        : (spec.guests ?? [])),
      ...Array.from({ length: spec.randomGuests ?? 0 }, (): ScenarioGuest => ({})),
    ];
    const used = new Set<number>();
    let nextVmid = spec.firstVmid ?? 100;
    for (const gs of guestSpecs) {
      let vmid = gs.vmid;
      if (vmid === undefined) {
        while (used.has(nextVmid) || guestSpecs.some((x) => x.vmid === nextVmid)) nextVmid++;
        vmid = nextVmid++;
      }
      if (used.has(vmid)) throw new Error(`scenario cluster ${ci + 1}: vmid ${vmid} used twice`);
      used.add(vmid);
      state.guests.push(makeGuest(createRng(hashSeed(seed, 'guest', ci, vmid)), gs, vmid, nodes, now));
    }
    cluster.vmlistVersion = guestSpecs.length + rng.int(1, 50);
  });
  state.ops = defaultOps(state, now);
  return state;
}
