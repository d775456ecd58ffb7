/**
 * Operations reports, our additions beside the spec's four payloads (issue 15): backups, HA and
 * replication, each POSTed to its own endpoint under /api/proxmox/. One list (`OPS_SCHEMAS`) so
 * more kinds (storage, …) are added the same way: one schema and one entry here.
 *
 * Times from Proxmox are epoch seconds, as Proxmox gives them (task start/end, last sync).
 */
import { Type, type Static } from '@sinclair/typebox';
import { NonNegInt, NonNegNumber, ReportMeta, ShortString, LongString } from './common.ts';

const Epoch = (description: string) => NonNegInt(`epoch seconds: ${description}`);
const ErrorText = (description: string) => Type.String({ maxLength: 2000, description });
const Vmid = Type.Integer({ minimum: 1, maximum: 999_999_999, description: 'guest id' });

const OpsMeta = {
  node: ShortString('the node that sent the report (and whose data it is)'),
  cluster_name: Type.Optional(ShortString('absent on a standalone node')),
  ...ReportMeta,
  source: Type.Optional(ShortString('agent source: files, pvesh or api')),
};

export const BackupGuest = Type.Object({
  vmid: Vmid,
  type: Type.Optional(Type.Union([Type.Literal('lxc'), Type.Literal('qemu')])),
  name: Type.Optional(ShortString()),
  covered: Type.Boolean({
    description: 'a backup job (enabled or not) selects it: not in /cluster/backup-info/not-backed-up',
  }),
  last_success: Type.Optional(
    Type.Object({
      at: Epoch('end of the vzdump task that backed the guest up'),
      upid: LongString('the task'),
      size_bytes: Type.Optional(NonNegInt('archive size (`archive file size`, or `transferred` for PBS)')),
      storage: Type.Optional(ShortString('target storage (`--storage` of the job)')),
    }),
  ),
  last_failure: Type.Optional(
    Type.Object({
      at: Epoch('end of the failed task'),
      upid: LongString('the task'),
      error: ErrorText('`ERROR: Backup of VM <vmid> failed - <error>`, else the task status'),
    }),
  ),
});

export const FailedBackupTask = Type.Object({
  upid: LongString(),
  starttime: Epoch('task start'),
  endtime: Type.Optional(Epoch('task end')),
  status: ErrorText('the task status: the error text (`job errors`, `could not activate storage …`)'),
  vmid: Type.Optional(Vmid),
});

export const ProxmoxBackups = Type.Object(
  {
    ...OpsMeta,
    history_since: Type.Optional(Epoch('start of the oldest vzdump task the node still lists')),
    guests: Type.Array(BackupGuest, { maxItems: 10_000, description: "this node's guests" }),
    failed_tasks: Type.Array(FailedBackupTask, {
      maxItems: 50,
      description: 'newest failed vzdump tasks first',
    }),
  },
  { $id: 'ProxmoxBackups', additionalProperties: true },
);
export type ProxmoxBackups = Static<typeof ProxmoxBackups>;

export const HaResourceWire = Type.Object({
  sid: ShortString('`vm:100`, `ct:102`'),
  vmid: Type.Optional(Vmid),
  node: Type.Optional(ShortString()),
  state: ShortString('CRM state: started, stopped, error, fence, recovery, migrate, …, or queued'),
  request_state: Type.Optional(ShortString('configured: started, stopped, disabled, ignored')),
});

export const ProxmoxHa = Type.Object(
  {
    ...OpsMeta,
    master_node: Type.Optional(ShortString('node running the active CRM')),
    manager_timestamp: Type.Optional(Epoch("the master's last write of manager_status")),
    nodes: Type.Array(
      Type.Object({ node: ShortString(), state: ShortString('online, maintenance, unknown, fence, gone') }),
      { maxItems: 512 },
    ),
    resources: Type.Array(HaResourceWire, { maxItems: 10_000 }),
  },
  { $id: 'ProxmoxHa', additionalProperties: true },
);
export type ProxmoxHa = Static<typeof ProxmoxHa>;

export const ReplicationJobWire = Type.Object({
  id: ShortString('`<guest>-<jobnum>`'),
  guest: Vmid,
  target: ShortString('target node'),
  enabled: Type.Boolean(),
  schedule: Type.Optional(ShortString()),
  last_sync: Epoch('start of the last successful sync; 0 = never'),
  last_try: Type.Optional(Epoch('start of the last attempt')),
  fail_count: NonNegInt('consecutive failures'),
  error: Type.Optional(ErrorText('the last error')),
  duration_seconds: Type.Optional(NonNegNumber('of the last run')),
});

export const ProxmoxReplication = Type.Object(
  {
    ...OpsMeta,
    jobs: Type.Array(ReplicationJobWire, {
      maxItems: 10_000,
      description: 'jobs of the guests on this node',
    }),
  },
  { $id: 'ProxmoxReplication', additionalProperties: true },
);
export type ProxmoxReplication = Static<typeof ProxmoxReplication>;

export const OPS_SCHEMAS = {
  backups: ProxmoxBackups,
  ha: ProxmoxHa,
  replication: ProxmoxReplication,
} as const;
export type OpsKind = keyof typeof OPS_SCHEMAS;
export const OPS_KINDS = Object.keys(OPS_SCHEMAS) as OpsKind[];
export type OpsPayload<K extends OpsKind> = Static<(typeof OPS_SCHEMAS)[K]>;
export const isOpsKind = (k: string): k is OpsKind => k in OPS_SCHEMAS;
