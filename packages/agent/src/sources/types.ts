/**
 * The source interface (DESIGN.md §4): reads shaped like Proxmox API paths, so the cycle does not
 * care whether an answer came from `pvesh`, from the pmxcfs files or from the HTTPS API.
 *
 * A source opens one `CycleReader` per cycle. The reader caches: each Proxmox path is read at most
 * once per cycle. After a timeout the reader fails the rest fast (a hung pmxcfs would otherwise cost
 * one timeout per guest) so the cycle ends in bounded time.
 */
import type {
  BackupHistory,
  ClusterResource,
  ClusterStatusEntry,
  ConfigMap,
  GuestKind,
  GuestRef,
  HaStatus,
  NodeStatus,
  ReplicationJob,
  StorageReport,
} from '@nanny/proxmox';
import type { NodeHealth } from './ops.ts';

export type Params = Record<string, string | number>;

export interface Detection {
  installed: boolean;
  /** "pve-manager/8.4.1/2a5fa54a8503f96d", what /nodes/{node}/status calls `pveversion` */
  pveVersion?: string;
  /** why not installed (e.g. "pveversion not found") */
  reason?: string;
  /** `pveversion -v`: the running kernel it names, and the newest installed kernel image */
  runningKernel?: string;
  installedKernel?: string;
}

export interface GuestConfig {
  current: ConfigMap;
  pendingKeys: string[];
  warnings: string[];
}

export interface CycleReader {
  /** Proxmox-API-shaped read (the answer without the `{"data": …}` envelope) */
  get(path: string, params?: Params): Promise<unknown>;
  /** is Proxmox VE there? (`pveversion --verbose`, or GET /version for the API source) */
  detect(): Promise<Detection>;
  /** this node's name when the source knows it without /cluster/status (pmxcfs `.members`) */
  localNode(): Promise<string | undefined>;
  /** text of pve-root-ca.pem, or undefined when the source cannot see it */
  clusterCa(): Promise<string | undefined>;
  /** running config + pending keys of one guest */
  guestConfig(node: string, kind: GuestKind, vmid: number): Promise<GuestConfig>;
  /**
   * node status; local sources fall back to /proc when the Proxmox read fails, and say why in
   * `error` (the node report must go out even then)
   */
  nodeStatus(node: string): Promise<{ status: NodeStatus; error?: string }>;
  clusterStatus(): Promise<ClusterStatusEntry[]>;
  /** guests of the cluster (type qemu/lxc entries of /cluster/resources) */
  guests(): Promise<ClusterResource[]>;
  /**
   * backup history of `node` (kept by the source across cycles, read incrementally) and the
   * guests no backup job covers; `guests` are the node's guests
   */
  backups(node: string, guests: GuestRef[]): Promise<{ history: BackupHistory; notBackedUp: Set<number> }>;
  /** the HA manager's view (the same from every node); undefined when HA was never configured */
  ha(node: string): Promise<HaStatus | undefined>;
  /** replication jobs of the guests on `node` */
  replication(node: string, guests: GuestRef[]): Promise<ReplicationJob[]>;
  /** the storages configured for `node`, sorted by id (issue 15) */
  storages(node: string): Promise<StorageReport[]>;
  /** kernel, certificates, updates, Ceph of `node`: what could be read, and warnings */
  health(node: string): Promise<{ data: NodeHealth; warnings: string[] }>;
  close(): void;
}

export interface Source {
  readonly name: 'pvesh' | 'files' | 'api';
  /** local sources run on the node: /proc is there, CPU comes from /proc/stat deltas */
  readonly local: boolean;
  open(): CycleReader;
}
