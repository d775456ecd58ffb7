// The one model of a simulated fleet. Everything the simulator renders (pvesh, files, /proc, HTTPS)
// is a pure function of this state and the clock, so the three renderings can never disagree.

import type { SimOps } from './ops.ts';

export type GuestKind = 'lxc' | 'qemu';
export type ClockMode = 'frozen' | 'live';
/** Subscription level as /cluster/status shows it: '' none, c community, b basic, s standard, p premium. */
export type SubscriptionLevel = '' | 'c' | 'b' | 's' | 'p';

export interface ClusterState {
  id: string;
  /** null = standalone node (no corosync.conf). */
  name: string | null;
  /** totem.config_version of corosync.conf. */
  configVersion: number;
  /** quorum-lost event: every node is cut off from every other (each sees only itself). */
  partitioned: boolean;
  /**
   * partition event: the corosync partitions (node names; every node in exactly one group). Each
   * node sees its own group (minus isolated nodes); a group holds quorum with more than half the
   * votes. Absent: no partition beyond `partitioned` / isolated nodes.
   */
  groups?: string[][];
  /** corosync ring sequence, bumped on every membership change (pvecm "Ring ID"). */
  ringSeq: number;
  /** pve-root-ca.pem: identical on every node of this cluster. */
  caPem: string;
  /** the seed the CA key derives from (the HTTPS server issues node certificates with it) */
  caSeed: number;
  /** pmxcfs counters (.members version, .vmlist version) and start time (.version starttime). */
  membersVersion: number;
  vmlistVersion: number;
  pmxcfsStart: number;
  /** .version per-path counters. */
  fileVersions: Record<string, number>;
  /** PVE-managed Ceph (issue 15): /etc/pve/ceph.conf exists, /cluster/ceph/status answers */
  ceph?: {
    status: 'HEALTH_OK' | 'HEALTH_WARN' | 'HEALTH_ERR';
    checks: Record<string, { severity: string; message: string }>;
    /** the monitors have no quorum: every status call fails (ceph-health `unreachable`) */
    unreachable?: boolean;
  };
}

export interface NodeState {
  name: string;
  clusterId: string;
  /** corosync nodeid (standalone: reported as 0 by the API). */
  nodeid: number;
  ip: string;
  level: SubscriptionLevel;
  /** node-offline event: cut off from its peers (partition), but still running. */
  isolated: boolean;
  /** pmxcfs-hang event: reads of etc-pve and pvesh calls block until released. */
  hung: boolean;
  /** Extra start-up delay per pvesh call (ms), on top of the fleet-wide one. */
  pveshDelayMs: number;
  /** pve-manager version ("9.1.1", or "7.4-16" style) and repoid. */
  pveVersion: string;
  repoid: string;
  /** Running kernel (uname -r) and the newest installed one (becomes running after a reboot). */
  kernel: string;
  kernelBuild: string;
  installedKernel: string;
  installedKernelBuild: string;
  cpuModel: string;
  sockets: number;
  cores: number;
  cpus: number;
  mhz: string;
  memTotal: number;
  swapTotal: number;
  rootTotal: number;
  rootUsed: number;
  /** epoch seconds of the last boot */
  bootTime: number;
  /** baseline activity: cpu fraction 0..1, io wait fraction, memory used bytes, load average */
  cpuUsage: number;
  ioWait: number;
  memUsed: number;
  swapUsed: number;
  load: number;
  bootMode: 'efi' | 'legacy-bios';
  /** issue 15 (all optional: older state files lack them) */
  /** storage id → fill set by `storage-fill`: used fraction at `since` (epoch s), growing `perDay` */
  storageFill?: Record<string, { used: number; since: number; perDay: number }>;
  /** storages enabled but not active (`storage-down`: an unreachable NFS server, a missing VG) */
  storageDown?: string[];
  /** pve-ssl.pem issued at `notBefore` (epoch s) for `days`; absent: 2 years from the node's boot */
  cert?: { notBefore: number; days: number };
  /** pve-manager's cached update list (/var/lib/pve-manager/pkgupdates) */
  updates?: { Package: string; OldVersion: string; Version: string; Origin: string; Label?: string }[];
}

export interface SnapshotState {
  name: string;
  snaptime: number;
  description?: string;
  config: Record<string, string>;
}

export interface GuestState {
  vmid: number;
  kind: GuestKind;
  node: string;
  status: 'running' | 'stopped';
  /** epoch seconds of the last start (running guests) */
  startedAt: number;
  /** main section of the config file: raw file values (strings), without description */
  config: Record<string, string>;
  description?: string;
  /** [PENDING] / [pve:pending] values and the pending `delete:` list (`!key` = force) */
  pending: Record<string, string>;
  pendingDelete: string[];
  snapshots: SnapshotState[];
  /** .vmlist per-guest version, bumped on every config write */
  confVersion: number;
  /** baseline activity: cpu fraction of its cores, memory used fraction, disk used fraction (lxc) */
  cpuUsage: number;
  memFraction: number;
  diskFraction: number;
}

export interface TokenState {
  /** user@realm!tokenid */
  tokenId: string;
  secret: string;
}

export interface SimState {
  format: 'pve-sim-state/1';
  seed: number;
  clock: { mode: ClockMode; /** the frozen instant (epoch seconds) */ epoch: number };
  /** fleet-wide pvesh start-up delay (ms); each node may add its own */
  pveshDelayMs: number;
  clusters: ClusterState[];
  nodes: NodeState[];
  guests: GuestState[];
  tokens: TokenState[];
  /** bumped on every event; lets pollers notice changes */
  generation: number;
  /** backups, HA, replication (issue 15); absent in layouts made before them */
  ops?: SimOps;
}

export function clusterById(state: SimState, id: string): ClusterState {
  const c = state.clusters.find((x) => x.id === id);
  if (!c) throw new Error(`unknown cluster id '${id}'`);
  return c;
}

export function nodeByName(state: SimState, name: string): NodeState {
  const n = state.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`unknown node '${name}' (known: ${state.nodes.map((x) => x.name).join(', ')})`);
  return n;
}

export function clusterNodes(state: SimState, clusterId: string): NodeState[] {
  return state.nodes.filter((n) => n.clusterId === clusterId);
}

export function clusterGuests(state: SimState, clusterId: string): GuestState[] {
  const names = new Set(clusterNodes(state, clusterId).map((n) => n.name));
  return state.guests.filter((g) => names.has(g.node));
}

/**
 * What node `viewer` sees of its cluster: which nodes are in its corosync partition and whether
 * that partition holds a majority of the votes (one vote per node, as `pvecm` creates them).
 * Nodes not isolated form one partition (or, after a partition event, one per group); an isolated
 * node (node-offline) is alone in its own.
 * A standalone node is always quorate (pmxcfs calls cfs_set_quorate(1) without corosync.conf).
 */
export interface NodeView {
  standalone: boolean;
  members: Set<string>;
  quorate: boolean;
  totalVotes: number;
}

export function viewOf(state: SimState, viewer: NodeState): NodeView {
  const cluster = clusterById(state, viewer.clusterId);
  const all = clusterNodes(state, cluster.id);
  if (cluster.name === null) {
    return { standalone: true, members: new Set([viewer.name]), quorate: true, totalVotes: 1 };
  }
  let members: Set<string>;
  if (cluster.partitioned || viewer.isolated) members = new Set([viewer.name]);
  else {
    const group = cluster.groups?.find((g) => g.includes(viewer.name));
    members = new Set(
      all.filter((n) => !n.isolated && (group === undefined || group.includes(n.name))).map((n) => n.name),
    );
  }
  const quorate = members.size * 2 > all.length;
  return { standalone: false, members, quorate, totalVotes: all.length };
}
