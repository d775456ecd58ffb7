/**
 * Operations data beyond the spec's four bodies (issue 15): storage pools, and the per-node health
 * fields the node report carries (pending reboot, certificates, package updates, Ceph health).
 * Storage goes to its own endpoint, `POST /api/proxmox/storage`; the health fields ride on the node
 * report as extra fields (the spec's node body stays as it is).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Flag01, IsoTimestamp, NonNegInt, ReportMeta, ShortString } from './common.ts';

/** One storage as one node sees it (`/nodes/{node}/storage`, or storage.cfg + the `.rrd` line). */
export const StoragePool = Type.Object({
  storage: ShortString('storage id, e.g. "local-lvm"'),
  type: ShortString('plugin type: dir, lvmthin, zfspool, nfs, cephfs, rbd, pbs, ...'),
  shared: Flag01,
  enabled: Flag01,
  active: Flag01,
  content: Type.Optional(ShortString('content types, comma-separated (a set: order means nothing)')),
  total_bytes: Type.Optional(NonNegInt('bytes; absent when the storage is not active')),
  used_bytes: Type.Optional(NonNegInt('bytes; absent when the storage is not active')),
  avail_bytes: Type.Optional(NonNegInt('bytes; absent when the storage is not active')),
});
export type StoragePool = Static<typeof StoragePool>;

export const ProxmoxStorage = Type.Object(
  {
    node: ShortString('the node whose view this is'),
    ...ReportMeta,
    cluster_name: Type.Optional(ShortString('absent on a standalone node')),
    storages: Type.Array(StoragePool, {
      maxItems: 1024,
      description: 'every storage configured for the node',
    }),
  },
  { $id: 'ProxmoxStorage', additionalProperties: true },
);
export type ProxmoxStorage = Static<typeof ProxmoxStorage>;

export const NodeCertificate = Type.Object({
  file: ShortString('"pve-ssl.pem" or "pveproxy-ssl.pem"'),
  not_after: IsoTimestamp,
  subject: Type.Optional(ShortString()),
  fingerprint_sha256: Type.Optional(ShortString('colon-separated upper-case hex')),
});
export type NodeCertificate = Static<typeof NodeCertificate>;

export const CephCheck = Type.Object({
  code: ShortString('Ceph health check code, e.g. OSD_DOWN'),
  severity: ShortString('HEALTH_WARN or HEALTH_ERR'),
  message: Type.Optional(ShortString()),
});

/** Extra fields of the node report (all optional; a heartbeat leaves them out = "not measured"). */
export const NodeHealthFields = {
  kernel_running: Type.Optional(ShortString('`uname -r` of the running kernel, e.g. "6.8.12-15-pve"')),
  kernel_installed: Type.Optional(
    ShortString(
      'the newest installed kernel image (proxmox-kernel-*/pve-kernel-* package), as `uname -r` would print it',
    ),
  ),
  reboot_required: Type.Optional(
    Type.Boolean({ description: 'a newer kernel is installed than the one running' }),
  ),
  certificates: Type.Optional(
    Type.Array(NodeCertificate, { maxItems: 8, description: "the node's pve-ssl.pem and pveproxy-ssl.pem" }),
  ),
  updates_count: Type.Optional(NonNegInt("packages with an available update (pve-manager's cached list)")),
  updates_security_count: Type.Optional(NonNegInt('of those, updates from a *-security suite')),
  ceph_health: Type.Optional(
    Type.Union(
      [
        Type.Literal('HEALTH_OK'),
        Type.Literal('HEALTH_WARN'),
        Type.Literal('HEALTH_ERR'),
        Type.Literal('HEALTH_UNKNOWN'),
      ],
      {
        description:
          '`health.status` of /cluster/ceph/status; HEALTH_UNKNOWN when Ceph is there but its status could not be read (see ceph_error); absent without Ceph',
      },
    ),
  ),
  ceph_error: Type.Optional(ShortString('why the status of an installed Ceph could not be read')),
  ceph_checks: Type.Optional(Type.Array(CephCheck, { maxItems: 64 })),
};
