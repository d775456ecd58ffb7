/**
 * What the read API answers: clusters, nodes, guests, events, accounts, agents, alerts and
 * channels. The API uses these as its response schemas, so Fastify's serializer writes exactly
 * these fields (a column added to a table does not reach the wire until it is added here) and
 * `/openapi.json` describes every answer.
 *
 * Nullable fields are `type: [<type>, "null"]` rather than `anyOf`: the serializer handles a type
 * list natively (an `anyOf` costs a validation per value) and @fastify/swagger turns it into
 * OpenAPI 3.0's `nullable: true`.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

type JsonType = 'string' | 'integer' | 'number' | 'boolean';
interface JsonTypeOf {
  string: string;
  integer: number;
  number: number;
  boolean: boolean;
}
const nullable = <K extends JsonType>(type: K, description?: string) =>
  Type.Unsafe<JsonTypeOf[K] | null>({ type: [type, 'null'], ...(description ? { description } : {}) });

const Str = (description?: string) => Type.String(description ? { description } : {});
const Time = (description = 'ISO-8601 UTC') => Type.String({ description });
const NullTime = (description = 'ISO-8601 UTC, or null') => nullable('string', description);
/** any JSON object: its keys are not ours (a Proxmox config map, a report, a rule's defaults) */
const AnyObject = (description: string) => Type.Object({}, { additionalProperties: true, description });

/** The `{success: true, data}` envelope of every read answer. */
export const DataEnvelope = <T extends TSchema>(data: T) =>
  Type.Object({ success: Type.Literal(true), data });
/** A paged list: `total` rows match the filter, `limit` and `offset` are the page asked for. */
export const PageEnvelope = <T extends TSchema>(item: T) =>
  Type.Object({
    success: Type.Literal(true),
    data: Type.Array(item),
    total: Type.Integer({ minimum: 0, description: 'rows matching the filter' }),
    limit: Type.Integer({ minimum: 1 }),
    offset: Type.Integer({ minimum: 0 }),
  });
/** `{success: true}` of an action without data (logout, revoke). */
export const OkEnvelope = Type.Object({ success: Type.Literal(true) });
export type OkEnvelope = Static<typeof OkEnvelope>;

// ------------------------------------------------------------------ fleet

const NodeStateSchema = Type.Union(
  [Type.Literal('online'), Type.Literal('offline'), Type.Literal('partitioned'), Type.Literal('silent')],
  {
    description:
      'derived from every reporter’s view: online; offline (the quorate partition sees it offline, or nobody sees it and it is silent); partitioned (alive outside the quorate partition, or no partition is quorate); silent (its agent is quiet while peers see it online)',
  },
);

export const ClusterView = Type.Object({
  id: Str('cluster id (stable, see DESIGN.md §3)'),
  cluster_name: Str(),
  fingerprint: nullable('string'),
  standalone: Type.Boolean({ description: 'a standalone node shown as a single-node site' }),
  quorate: nullable('integer', '1 quorate, 0 not, null unknown'),
  nodes: nullable('integer', 'node count the cluster reports'),
  nodes_reporting: Type.Integer({ description: 'nodes known' }),
  nodes_online: Type.Integer(),
  guests: Type.Integer(),
  version: nullable('integer', 'corosync config version'),
  first_seen: Time(),
  last_seen: Time(),
  collected_at: NullTime(),
  split: Type.Optional(
    Type.Boolean({
      description:
        'the reporters’ views disagree: more than one partition, or none quorate (GET /api/clusters/{id}/membership)',
    }),
  ),
  partitions: Type.Optional(
    Type.Array(Type.Object({ nodes: Type.Array(Str()), quorate: Type.Boolean() }), {
      description: 'who sees whom: groups of nodes that see each other, the quorate one marked',
    }),
  ),
});
export type ClusterView = Static<typeof ClusterView>;

export const NodeView = Type.Object({
  id: Str(),
  name: Str(),
  cluster_id: Str(),
  cluster_name: Str(),
  node_id: nullable('integer', 'corosync node id'),
  ip: nullable('string'),
  online: nullable('integer', '1 online, 0 offline'),
  level: nullable('string', 'subscription level'),
  pve_version: nullable('string'),
  kernel_version: nullable('string'),
  uptime_seconds: nullable('number'),
  cpu_usage_ratio: nullable('number', '0..1'),
  mem_total_bytes: nullable('number'),
  mem_used_bytes: nullable('number'),
  rootfs_total_bytes: nullable('number'),
  rootfs_used_bytes: nullable('number'),
  load_avg_1m: nullable('number'),
  first_seen: Time(),
  last_seen: Time(),
  last_report: NullTime('when the node’s own agent last reported; null when only its cluster names it'),
  collected_at: NullTime(),
  state: Type.Optional(NodeStateSchema),
  state_since: Type.Optional(NullTime('since when `state` holds; null when it changed by silence alone')),
  health: Type.Optional(
    Type.Object(
      {
        reboot_required: Type.Optional(
          Type.Boolean({ description: 'a newer kernel is installed than the one running' }),
        ),
        kernel_running: Type.Optional(Str('`uname -r`')),
        kernel_installed: Type.Optional(Str('newest installed kernel image')),
        updates_count: Type.Optional(Type.Integer({ minimum: 0 })),
        updates_security_count: Type.Optional(Type.Integer({ minimum: 0 })),
        certificates: Type.Optional(Type.Array(Type.Object({ file: Str(), not_after: Time() }))),
        ceph_health: Type.Optional(Str('HEALTH_OK | HEALTH_WARN | HEALTH_ERR | HEALTH_UNKNOWN')),
        ceph_error: Type.Optional(Str('why an installed Ceph’s status could not be read (HEALTH_UNKNOWN)')),
      },
      { description: 'from the node’s last full report (issue 15); absent when it never sent these' },
    ),
  ),
});
export type NodeView = Static<typeof NodeView>;

export const StoragePoolView = Type.Object({
  cluster_id: Str(),
  cluster: Str('cluster name (a standalone node’s own name)'),
  node: nullable('string', 'null for a shared storage: counted once per cluster'),
  storage: Str('storage id'),
  type: Str('plugin type: dir, lvmthin, zfspool, nfs, rbd, pbs, …'),
  shared: Type.Boolean(),
  enabled: Type.Boolean(),
  active: Type.Boolean(),
  content: nullable('string'),
  used_bytes: nullable('number'),
  total_bytes: nullable('number'),
  avail_bytes: nullable('number'),
  fill_ratio: nullable('number', 'used / total, 0..1; null when not active'),
  days_until_full: nullable('number', 'at the last 24 h growth; null when not growing or too little history'),
  reported_by: Str('the node whose agent reported it last'),
  updated_at: Time(),
});

export const NodeSample = Type.Object({
  ts: Time('when the agent collected it'),
  received_at: Time(),
  online: nullable('integer'),
  cpu_usage_ratio: nullable('number'),
  mem_used_bytes: nullable('number'),
  mem_total_bytes: nullable('number'),
  rootfs_used_bytes: nullable('number'),
  rootfs_total_bytes: nullable('number'),
  load_avg_1m: nullable('number'),
  uptime_seconds: nullable('number'),
  swap_used_bytes: nullable('number', 'null in samples stored before these were kept'),
  swap_total_bytes: nullable('number'),
  io_wait_ratio: nullable('number', 'I/O wait share 0..1'),
  load_avg_5m: nullable('number'),
  load_avg_15m: nullable('number'),
  net_in_bytes: nullable('number', 'physical NICs: bytes received since boot (null before migration 0402)'),
  net_out_bytes: nullable('number', 'physical NICs: bytes sent since boot'),
});
export type NodeSample = Static<typeof NodeSample>;

/** GET /api/clusters/:id/membership: every reporter's view and the one truth derived from them. */
export const ClusterMembership = Type.Object({
  cluster_id: Str(),
  split: Type.Boolean({ description: 'more than one partition, or none quorate while views exist' }),
  partitions: Type.Array(
    Type.Object({
      nodes: Type.Array(Str(), { description: 'every node of the partition' }),
      reporters: Type.Array(Str(), { description: 'its nodes whose agents sent a fresh view' }),
      quorate: Type.Boolean(),
    }),
  ),
  quorate_partition: nullable('integer', 'index into `partitions`; null when no partition holds quorum'),
  views: Type.Array(
    Type.Object({
      reporter: Str('the node whose agent sent the view'),
      received_at: Time(),
      quorate: Type.Boolean(),
      fresh: Type.Boolean({ description: 'still counts: its reporter is alive and the view young enough' }),
      members: Type.Array(Type.Object({ name: Str(), online: Type.Boolean() })),
    }),
  ),
  nodes: Type.Array(
    Type.Object({
      name: Str(),
      state: NodeStateSchema,
      since: NullTime('since when the state holds; null when it changed by silence alone'),
      reporting: Type.Boolean({ description: 'its own agent reported within its silence window' }),
      last_report: NullTime(),
      seen_online_by: Type.Array(Str()),
      seen_offline_by: Type.Array(Str()),
    }),
  ),
});
export type ClusterMembership = Static<typeof ClusterMembership>;

export const ClusterDetail = Type.Composite([ClusterView, Type.Object({ node_list: Type.Array(NodeView) })]);
export const NodeDetail = Type.Composite([
  NodeView,
  Type.Object({
    history: Type.Object({ from: Time(), to: Time(), samples: Type.Array(NodeSample) }),
    report: Type.Optional(
      AnyObject(
        'the node’s last report as received (canonical names): CPU model, swap, load 5/15, I/O wait…',
      ),
    ),
  }),
]);

/** Usage history answers (GET /api/nodes/{id}/history, GET /api/guests/{id}/history). */
export const HistoryResolution = Type.Union([Type.Literal('raw'), Type.Literal('5m'), Type.Literal('1h')], {
  description: '`raw`: every stored sample; `5m` / `1h`: rollups with that bucket width',
});
const HistoryMeta = {
  from: Time(),
  to: Time(),
  resolution: HistoryResolution,
  step_seconds: Type.Integer({ description: 'bucket width; 60 for raw (nominal: one sample per report)' }),
};
const num = (description?: string) => nullable('number', description);
export const NodeHistoryPoint = Type.Object({
  ts: Time('the sample’s time, or its bucket’s start'),
  n: Type.Integer({ minimum: 1, description: 'samples in the point' }),
  online_min: nullable('integer', '0 when the node was offline in any of them'),
  cpu_avg: num('0..1'),
  cpu_max: num('0..1'),
  mem_avg: num('bytes used'),
  mem_max: num('bytes used'),
  mem_total: num('bytes'),
  rootfs_avg: num('bytes used'),
  rootfs_max: num('bytes used'),
  rootfs_total: num('bytes'),
  load_avg: num('1-minute load average'),
  load_max: num(),
  swap_avg: num('swap bytes used'),
  swap_max: num('swap bytes used'),
  swap_total: num('swap bytes'),
  iowait_avg: num('I/O wait share 0..1'),
  iowait_max: num('I/O wait share 0..1'),
  load5_avg: num('5-minute load average'),
  load15_avg: num('15-minute load average'),
  net_in_min: num(
    'bytes received by the physical NICs since boot (cumulative counter): traffic in the bucket is max - min',
  ),
  net_in_max: num(),
  net_out_min: num('bytes sent by the physical NICs since boot (cumulative counter)'),
  net_out_max: num(),
});
export const NodeHistory = Type.Object({ ...HistoryMeta, points: Type.Array(NodeHistoryPoint) });
export const GuestHistoryPoint = Type.Object({
  ts: Time('the sample’s time, or its bucket’s start'),
  n: Type.Integer({ minimum: 1, description: 'samples in the point' }),
  cpu_avg: num('share of its CPU allocation, 0..1'),
  cpu_max: num(),
  mem_avg: num('bytes used'),
  mem_max: num(),
  disk_avg: num('bytes used (LXC; 0 for VMs without guest agent)'),
  disk_max: num(),
  net_in_min: num(
    'bytes received since the guest started (cumulative counter): traffic in the bucket is max - min',
  ),
  net_in_max: num(),
  net_out_min: num('bytes sent since the guest started (cumulative counter)'),
  net_out_max: num(),
});
export const GuestHistory = Type.Object({ ...HistoryMeta, points: Type.Array(GuestHistoryPoint) });

export const GuestView = Type.Object({
  id: Str(),
  vmid: Type.Integer(),
  type: Type.Union([Type.Literal('lxc'), Type.Literal('qemu')]),
  name: nullable('string'),
  node: Str('node name'),
  node_id: nullable('string'),
  cluster_id: Str(),
  cluster_name: Str(),
  status: Str(),
  tags: Type.Array(Type.String()),
  uptime_seconds: nullable('number'),
  cpu_cores: nullable('number'),
  memory_mb: nullable('number'),
  template: Type.Boolean(),
  gone: Type.Boolean({ description: 'no longer reported (deleted or the node is gone)' }),
  gone_at: NullTime(),
  first_seen: Time(),
  last_seen: Time(),
  collected_at: NullTime(),
  cpu_usage_ratio: Type.Optional(
    nullable('number', 'with `usage=true`: CPU share of its allocation, last report'),
  ),
  mem_used_bytes: Type.Optional(nullable('number', 'with `usage=true`: memory used, last report')),
  disk_used_bytes: Type.Optional(nullable('number', 'with `usage=true`: disk used, last report')),
});
export type GuestView = Static<typeof GuestView>;

export const GuestDetail = Type.Composite([
  GuestView,
  Type.Object({
    config_versions: Type.Array(
      Type.Object({
        ts: Time(),
        config_hash: Str(),
        diff: Type.Unsafe<Record<string, unknown> | null>({
          type: ['object', 'null'],
          additionalProperties: true,
          description: '{added, removed, changed} against the previous version; null for the first',
        }),
      }),
    ),
    status_changes: Type.Array(
      Type.Object({ ts: Time(), from_status: nullable('string'), to_status: Str() }),
    ),
    config: AnyObject('the guest’s Proxmox config map as reported'),
    networks: Type.Array(AnyObject('a parsed netN entry')),
    disks: Type.Array(AnyObject('a parsed disk entry')),
    report: AnyObject('the last report as received (canonical field names)'),
  }),
]);

export const FleetEventView = Type.Object({
  id: Type.Integer(),
  tenant_id: Str(),
  cluster_id: nullable('string'),
  node_id: nullable('string'),
  guest_id: nullable('string'),
  subject: Type.Union([Type.Literal('cluster'), Type.Literal('node'), Type.Literal('guest')]),
  type: Str('e.g. first_seen, status_changed, config_changed'),
  message: Str(),
  data: Type.Unsafe<Record<string, unknown> | null>({ type: ['object', 'null'], additionalProperties: true }),
  occurred_at: Time(),
  received_at: Time(),
});

// ------------------------------------------------------------------ accounts, tokens, agents

export const UserInfo = Type.Object({ id: Str(), username: Str(), role: Str('admin | user') });
export const LoginResponse = Type.Object({ success: Type.Literal(true), user: UserInfo });
export const MeResponse = Type.Object({
  success: Type.Literal(true),
  user: Type.Composite([UserInfo, Type.Object({ org: nullable('string', 'organisation name') })]),
});

export const ApiTokenView = Type.Object({
  id: Str(),
  tenant_id: Str(),
  user_id: nullable('string'),
  name: Str(),
  scope: Type.Union([Type.Literal('read'), Type.Literal('write')]),
  created_at: Time(),
  last_used_at: NullTime(),
  revoked_at: NullTime(),
  expires_at: NullTime(),
});
export const EnrollmentTokenView = Type.Object({
  id: Str(),
  tenant_id: Str(),
  max_uses: Type.Integer(),
  uses_left: Type.Integer(),
  expires_at: Time(),
  created_at: Time(),
  revoked_at: NullTime(),
});
/** A created secret: the record plus the secret itself, shown this once. */
/** A user as an administrator sees it (GET /api/users): never the password hash. */
export const UserView = Type.Object({
  id: Str(),
  tenant_id: Str(),
  username: Str(),
  role: Type.Union([Type.Literal('admin'), Type.Literal('user')]),
  created_at: Time(),
});
export const UserCreated = Type.Object({
  success: Type.Literal(true),
  data: UserView,
  password: Str('the generated password, shown once; the user changes it after logging in'),
});

export const CreatedSecret = <T extends TSchema>(data: T) =>
  Type.Object({ success: Type.Literal(true), data, token: Str('the secret; it is not stored') });

export const AgentView = Type.Object({
  id: Str(),
  tenant_id: Str(),
  hostname: Str(),
  cluster_name: nullable('string'),
  cluster_fingerprint: nullable('string'),
  agent_version: nullable('string'),
  pve_version: nullable('string'),
  token_version: Type.Integer({ description: 'raised by each revocation' }),
  revoked_at: NullTime(),
  created_at: Time(),
  last_seen_at: NullTime(),
  cluster_id: nullable('string'),
  bound_node: Type.Optional(nullable('string')),
});

// ------------------------------------------------------------------ alerts and notifications

const SeverityT = Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]);

export const AlertView = Type.Object({
  id: Str(),
  rule: Str(),
  severity: SeverityT,
  state: Type.Union([Type.Literal('firing'), Type.Literal('resolved')]),
  summary: Str(),
  cluster_id: Str(),
  cluster_name: nullable('string'),
  node: nullable('string'),
  vmid: nullable('integer'),
  started_at: Time(),
  resolved_at: NullTime(),
  resolve_summary: nullable('string'),
  acknowledged_by: nullable('string'),
  acknowledged_at: NullTime(),
  silenced: Type.Boolean({ description: 'it started under a silence: nothing was notified' }),
});
export const DeliveryView = Type.Object({
  id: Str(),
  channel_id: Str(),
  alert_id: nullable('string'),
  event: Str(),
  status: Str('pending | done | failed'),
  attempts: Type.Integer(),
  last_error: nullable('string'),
  created_at: Time(),
  done_at: NullTime(),
});
export const AlertDetail = Type.Composite([AlertView, Type.Object({ deliveries: Type.Array(DeliveryView) })]);
export const AlertRuleView = Type.Object({
  id: Str(),
  severity: SeverityT,
  title: Str(),
  defaults: AnyObject('the rule’s default settings'),
});
export const SilenceView = Type.Object({
  id: Str(),
  cluster_id: nullable('string'),
  node: nullable('string'),
  rule: nullable('string'),
  starts_at: Time(),
  ends_at: Time(),
  comment: nullable('string'),
  created_by: nullable('string'),
  created_at: Time(),
});
/** A channel with its type's fields (secrets masked); see docs/alerts.md for each type's fields. */
export const ChannelView = Type.Object(
  {
    id: Str(),
    type: Str(),
    name: Str(),
    min_severity: SeverityT,
    created_at: Type.Optional(Time()),
  },
  { additionalProperties: true },
);
export const IdData = DataEnvelope(Type.Object({ id: Str() }));

// ------------------------------------------------------------------ operations

export const StatusResponse = Type.Object({ success: Type.Literal(true), status: Str('ok | ready') });
