/**
 * The four ingest payloads of ../shared/spec/PROXMOX_INTEGRATION.md.
 *
 * Every field the spec shows keeps its name and JSON type. What we add is optional, snake_case and
 * carries its unit in its name. Unknown fields are allowed (a newer agent may talk to an older
 * server); the API ignores them. Upstream aliases are mapped by `normalize.ts` *before* validation.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Flag01, LongString, NonNegInt, NonNegNumber, ReportMeta, ShortString } from './common.ts';
import { NodeHealthFields, ProxmoxStorage } from './storage.ts';

const Ratio = (description: string) => Type.Number({ minimum: 0, description });

/** One member of the cluster as `/cluster/status` lists it (type "node" entries). */
export const ClusterMember = Type.Object({
  name: ShortString('node name'),
  node_id: NonNegInt('corosync node id (`nodeid`)'),
  ip: Type.Optional(ShortString()),
  online: Flag01,
  local: Type.Optional(Flag01),
  level: Type.Optional(ShortString('subscription level: "", c, b, s, p')),
});
export type ClusterMember = Static<typeof ClusterMember>;

export const ProxmoxCluster = Type.Object(
  {
    // --- spec fields ---
    cluster_name: ShortString('corosync cluster name'),
    cluster_id: Type.Optional(
      ShortString('the `id` of the cluster entry: always "cluster" on real Proxmox, so NOT an identity'),
    ),
    nodes: NonNegInt('configured node count'),
    quorate: Flag01,
    version: Type.Optional(NonNegInt('corosync config version')),
    // --- our additions ---
    ...ReportMeta,
    reporting_node: Type.Optional(ShortString('the node whose agent sent this report')),
    members: Type.Optional(
      Type.Array(ClusterMember, { maxItems: 512, description: 'every node entry of /cluster/status' }),
    ),
  },
  { $id: 'ProxmoxCluster', additionalProperties: true },
);
export type ProxmoxCluster = Static<typeof ProxmoxCluster>;

export const ProxmoxNode = Type.Object(
  {
    // --- spec fields ---
    name: ShortString('node name'),
    node_id: Type.Optional(NonNegInt('corosync node id; 0 on a standalone node')),
    ip: Type.Optional(ShortString()),
    online: Type.Optional(Flag01),
    local: Type.Optional(Flag01),
    level: Type.Optional(ShortString('subscription level')),
    pve_version: Type.Optional(ShortString('e.g. "pve-manager/8.4.1/2a5fa54a8503f96d"')),
    // --- our additions ---
    ...ReportMeta,
    cluster_name: Type.Optional(ShortString('absent on a standalone node')),
    interval_seconds: Type.Optional(
      Type.Integer({ minimum: 1, description: "the agent's PROXMOX_INTERVAL" }),
    ),
    heartbeat_interval_seconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: "the agent's heartbeat period (NANNYAGENT_HEARTBEAT_INTERVAL); absent: no heartbeat",
      }),
    ),
    cpu_usage_ratio: Type.Optional(Ratio('CPU busy share 0..1 over the last cycle (from /proc/stat deltas)')),
    io_wait_ratio: Type.Optional(Ratio('I/O wait share 0..1')),
    cpu_model: Type.Optional(ShortString()),
    cpu_cores: Type.Optional(NonNegInt('cpuinfo.cores as Proxmox reports it')),
    cpu_sockets: Type.Optional(NonNegInt('sockets')),
    cpu_threads: Type.Optional(NonNegInt('logical CPUs (cpuinfo.cpus)')),
    load_avg_1m: Type.Optional(NonNegNumber('load average, 1 minute')),
    load_avg_5m: Type.Optional(NonNegNumber('load average, 5 minutes')),
    load_avg_15m: Type.Optional(NonNegNumber('load average, 15 minutes')),
    mem_total_bytes: Type.Optional(NonNegInt('bytes')),
    mem_used_bytes: Type.Optional(NonNegInt('bytes')),
    mem_free_bytes: Type.Optional(NonNegInt('bytes')),
    swap_total_bytes: Type.Optional(NonNegInt('bytes')),
    swap_used_bytes: Type.Optional(NonNegInt('bytes')),
    swap_free_bytes: Type.Optional(NonNegInt('bytes')),
    rootfs_total_bytes: Type.Optional(NonNegInt('bytes')),
    rootfs_used_bytes: Type.Optional(NonNegInt('bytes')),
    rootfs_avail_bytes: Type.Optional(NonNegInt('bytes')),
    uptime_seconds: Type.Optional(NonNegInt('seconds since boot')),
    kernel_version: Type.Optional(ShortString('`kversion`, e.g. "Linux 6.8.12-4-pve #1 SMP ..."')),
    net_in_bytes: Type.Optional(
      NonNegInt('bytes received since boot by the physical NICs (/proc/net/dev; not bridges, taps, bonds)'),
    ),
    net_out_bytes: Type.Optional(NonNegInt('bytes sent since boot by the physical NICs (/proc/net/dev)')),
    ...NodeHealthFields,
  },
  { $id: 'ProxmoxNode', additionalProperties: true },
);
export type ProxmoxNode = Static<typeof ProxmoxNode>;

/** A parsed guest network interface (LXC `net[n]` or QEMU `net[n]`). */
export const GuestNetwork = Type.Object({
  key: ShortString('config key, e.g. "net0"'),
  name: Type.Optional(ShortString('interface name inside the guest (LXC)')),
  model: Type.Optional(ShortString('NIC model (QEMU), e.g. "virtio"')),
  hwaddr: Type.Optional(ShortString('MAC address')),
  bridge: Type.Optional(ShortString()),
  ip: Type.Optional(ShortString('CIDR, or "dhcp" / "manual"')),
  gw: Type.Optional(ShortString()),
  ip6: Type.Optional(ShortString('CIDR, or "auto" / "dhcp" / "manual"')),
  gw6: Type.Optional(ShortString()),
  firewall: Type.Optional(Type.Boolean()),
  vlan_tag: Type.Optional(NonNegInt('VLAN tag')),
  mtu: Type.Optional(NonNegInt('bytes')),
  rate_mbytes_per_s: Type.Optional(NonNegNumber('rate limit in MB/s')),
  queues: Type.Optional(NonNegInt('QEMU multiqueue count')),
  link_down: Type.Optional(Type.Boolean()),
  type: Type.Optional(ShortString('LXC interface type, "veth"')),
});
export type GuestNetwork = Static<typeof GuestNetwork>;

/** A parsed guest disk / volume (LXC `rootfs`/`mp[n]`, QEMU ide/sata/scsi/virtio/efidisk/tpmstate/unused). */
export const GuestDisk = Type.Object({
  key: ShortString('config key, e.g. "scsi0", "rootfs", "mp0"'),
  storage: Type.Optional(ShortString('storage id; absent for bind mounts and absolute paths')),
  volume: ShortString('volume id or path as written in the config'),
  size_bytes: Type.Optional(NonNegInt('bytes')),
  mount_path: Type.Optional(ShortString('LXC mount point inside the container')),
  media: Type.Optional(ShortString('"disk" or "cdrom"')),
  iothread: Type.Optional(Type.Boolean()),
  cache: Type.Optional(ShortString()),
  discard: Type.Optional(ShortString()),
  ssd: Type.Optional(Type.Boolean()),
  backup: Type.Optional(Type.Boolean()),
  read_only: Type.Optional(Type.Boolean()),
  acl: Type.Optional(Type.Boolean({ description: 'LXC mount point acl=' })),
  quota: Type.Optional(Type.Boolean({ description: 'LXC mount point quota=' })),
  replicate: Type.Optional(Type.Boolean()),
  shared: Type.Optional(Type.Boolean()),
});
export type GuestDisk = Static<typeof GuestDisk>;

/** a Proxmox config property name: letters, digits, `.`, `_`, `-`; at most 128 characters */
export const CONFIG_KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';

/**
 * The config map as Proxmox returns it: scalar values only. Bounded so a hostile body stays cheap.
 * (PVE allows 256 `unused[n]` and ~30 of each bus: far below 1024 keys.)
 */
export const GuestConfigMap = Type.Record(
  // A key is a Proxmox property name (`net0`, `lxc.apparmor.profile`): a Record's key schema is a
  // pattern, and without `additionalProperties: false` any other key would pass (issue 13, Low).
  Type.String({ pattern: CONFIG_KEY_PATTERN }),
  Type.Union([LongString(), Type.Number(), Type.Boolean(), Type.Null()]),
  { maxProperties: 1024, additionalProperties: false, description: 'the full config map (running values)' },
);

const GuestStatus = ShortString('"running", "stopped", "paused", ... as Proxmox reports it');

/** Fields both guest payloads add. */
const GuestExtras = {
  ...ReportMeta,
  cluster_name: Type.Optional(ShortString('absent on a standalone node')),
  template: Type.Optional(Type.Boolean({ description: 'the guest is a template' })),
  pending_keys: Type.Optional(
    Type.Array(ShortString(), {
      maxItems: 1024,
      description: 'config keys with a pending (not yet applied) change',
    }),
  ),
  cpu_usage_ratio: Type.Optional(Ratio('share of its CPU allocation in use (cluster/resources `cpu`)')),
  mem_used_bytes: Type.Optional(NonNegInt('bytes')),
  disk_used_bytes: Type.Optional(NonNegInt('bytes (LXC; 0 for VMs without guest agent)')),
  net_in_bytes: Type.Optional(
    NonNegInt('bytes received since the guest started (cluster/resources `netin`)'),
  ),
  net_out_bytes: Type.Optional(NonNegInt('bytes sent since the guest started (cluster/resources `netout`)')),
  networks: Type.Optional(Type.Array(GuestNetwork, { maxItems: 64 })),
  disks: Type.Optional(Type.Array(GuestDisk, { maxItems: 512 })),
};

const VmidInt = Type.Integer({ minimum: 1, maximum: 999999999, description: 'VMID, unique in a cluster' });

export const ProxmoxLXC = Type.Object(
  {
    // --- spec fields ---
    name: Type.Optional(ShortString()),
    lxc_id: Type.Optional(ShortString('"lxc/<vmid>"')),
    status: GuestStatus,
    uptime: Type.Optional(NonNegInt('seconds')),
    vmid: VmidInt,
    node: ShortString('the node the container is on'),
    cpu_cores: Type.Optional(NonNegInt('`cores`; absent in config = all host cores')),
    memory_mb: Type.Optional(NonNegInt('MiB')),
    rootfs: Type.Optional(LongString('raw rootfs property string')),
    swap_mb: Type.Optional(NonNegInt('MiB')),
    net0: Type.Optional(LongString('raw net0 property string')),
    ostype: Type.Optional(ShortString()),
    arch: Type.Optional(ShortString()),
    hostname: Type.Optional(ShortString()),
    searchdomain: Type.Optional(ShortString()),
    nameserver: Type.Optional(ShortString()),
    features: Type.Optional(ShortString()),
    unprivileged: Type.Optional(Type.Boolean()),
    protection: Type.Optional(Type.Boolean()),
    tags: Type.Optional(LongString('comma-separated')),
    timezone: Type.Optional(ShortString()),
    config: Type.Optional(GuestConfigMap),
    // --- our additions ---
    ...GuestExtras,
  },
  { $id: 'ProxmoxLXC', additionalProperties: true },
);
export type ProxmoxLXC = Static<typeof ProxmoxLXC>;

export const ProxmoxQEMU = Type.Object(
  {
    // --- spec fields ---
    name: Type.Optional(ShortString()),
    qemu_id: Type.Optional(ShortString('"qemu/<vmid>"')),
    status: GuestStatus,
    uptime: Type.Optional(NonNegInt('seconds')),
    vmid: VmidInt,
    node: ShortString('the node the VM is on'),
    cpu_cores: Type.Optional(
      NonNegInt('`cores` per socket, as the spec maps it; 1 when the config has no `cores`'),
    ),
    memory_mb: Type.Optional(NonNegInt('MiB')),
    config: Type.Optional(GuestConfigMap),
    // --- our additions ---
    ...GuestExtras,
    tags: Type.Optional(LongString('comma-separated (from config `tags`)')),
    cpu_sockets: Type.Optional(NonNegInt('sockets')),
  },
  { $id: 'ProxmoxQEMU', additionalProperties: true },
);
export type ProxmoxQEMU = Static<typeof ProxmoxQEMU>;

export const PAYLOAD_SCHEMAS = {
  cluster: ProxmoxCluster,
  node: ProxmoxNode,
  lxc: ProxmoxLXC,
  qemu: ProxmoxQEMU,
  // Added endpoints (issue 15): not spec bodies, same envelopes and auth.
  storage: ProxmoxStorage,
} as const;
export type PayloadKind = keyof typeof PAYLOAD_SCHEMAS;
export const PAYLOAD_KINDS = Object.keys(PAYLOAD_SCHEMAS) as PayloadKind[];
export type Payload<K extends PayloadKind> = Static<(typeof PAYLOAD_SCHEMAS)[K]>;
