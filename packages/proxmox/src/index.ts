/**
 * @nanny/proxmox — pure Proxmox VE knowledge: lenient response types, property-string and config
 * file parsers, pmxcfs / /proc / CLI output parsers, and the builders of the four spec payloads.
 * No I/O: callers read files, run commands and call the API, then hand the text/JSON here.
 */
export type {
  Parsed,
  ConfigValue,
  ConfigMap,
  GuestKind,
  NumLike,
  FlagLike,
  ClusterStatusCluster,
  ClusterStatusNode,
  ClusterStatusEntry,
  ClusterResource,
  NodeStatus,
  LxcConfig,
  QemuConfig,
  VersionInfo,
} from './types.ts';
export { toInt, toNumber, toBool01, toFlag01 } from './scalars.ts';
export {
  parsePropertyString,
  parseSizeToBytes,
  parseTags,
  tagKey,
  tagKeys,
  tagsToWire,
  tagsToConfig,
} from './property-string.ts';
export { comparePveVersions, pveMajor, pveRelease } from './version.ts';
export {
  QEMU_NIC_MODELS,
  storageOfVolume,
  parseLxcNet,
  parseQemuNet,
  parseLxcMount,
  parseQemuDisk,
  parseLxcFeatures,
  parseQemuAgent,
  parseBoot,
  parseQemuMemory,
  guestNetworks,
  guestDisks,
} from './guest-parsers.ts';
export { INTEGER_KEYS, BOOLEAN_KEYS, CONFIG_VOLATILE_KEYS, configKeyType } from './config-types.ts';
export type { GuestConfigFile, PendingEntry } from './config-file.ts';
export {
  parseGuestConfigFile,
  typedConfig,
  normalizeApiConfig,
  pendingKeysOf,
  configFromPending,
  lxcRawToString,
  decodeDescriptionLine,
  encodeDescription,
  isTemplateConfig,
} from './config-file.ts';
export type {
  MembersFile,
  MembersNode,
  VmlistFile,
  VmlistEntry,
  RrdDump,
  RrdNode,
  RrdVm,
  RrdStorage,
  ResourcesFromFilesInput,
} from './pmxcfs.ts';
export {
  parseMembers,
  parseVmlist,
  parseRrdDump,
  isStandalone,
  clusterStatusFromMembers,
  clusterResourcesFromFiles,
  levelsFromRrd,
} from './pmxcfs.ts';
export type { CpuTimes, ProcStat, Meminfo, Loadavg, Cpuinfo, ProcSnapshot } from './proc.ts';
export {
  parseProcStat,
  parseMeminfo,
  parseLoadavg,
  parseUptime,
  parseCpuinfo,
  parseProcVersion,
  cpuUsageBetween,
  nodeStatusFromProc,
} from './proc.ts';
export type { NetDevCounters } from './net-dev.ts';
export { parseNetDev, nodeNetCounters, countsAsNodeTraffic } from './net-dev.ts';
export type { PveVersionInfo, PvecmStatus, PvecmMember } from './cli-output.ts';
export { parsePveversion, parsePvecmStatus, parsePvecfg } from './cli-output.ts';
export { clusterFingerprint, looksLikePemCertificate } from './identity.ts';
export type { ReportMeta, GuestMeta, NodePayloadInput } from './payloads.ts';
export {
  buildClusterPayload,
  buildNodePayload,
  buildLxcPayload,
  buildQemuPayload,
  findClusterEntry,
  findNodeEntry,
  LXC_DEFAULTS,
  QEMU_DEFAULTS,
} from './payloads.ts';
export { unwrapEnvelope } from './envelope.ts';
export { ipFromHostsFile } from './hosts.ts';
export type {
  MembershipView,
  NodeLiveness,
  NodeState,
  Partition,
  NodeMembership,
  Membership,
  MembershipInput,
} from './membership.ts';
export { deriveMembership } from './membership.ts';
export type { Upid, TaskEntry, TaskStatusClass, VzdumpGuestResult, VzdumpLog } from './tasks.ts';
export {
  parseUpid,
  parseTaskIndex,
  parseActiveTasks,
  taskFromApi,
  taskStatusClass,
  taskLogPath,
  parseVzdumpLog,
} from './tasks.ts';
export type { Section } from './section-config.ts';
export { parseSectionConfig } from './section-config.ts';
export type { BackupJob, GuestRef, GuestBackupState, FailedBackupTask } from './backups.ts';
export {
  BackupHistory,
  parseBackupJobsCfg,
  parseVzdumpCron,
  parsePools,
  jobCovers,
  notBackedUp,
  vzdumpNeedsLog,
} from './backups.ts';
export type { HaResource, HaStatus } from './ha.ts';
export { parseHaResourcesCfg, haResourcesFromApi, haStatusOf } from './ha.ts';
export type { ReplicationJob, ReplicationCfgJob } from './replication.ts';
export {
  parseReplicationCfg,
  parseReplicationState,
  replicationJobsFromFiles,
  replicationJobsFromApi,
} from './replication.ts';
export type { OpsMetaInput } from './ops-payloads.ts';
export { buildBackupsPayload, buildHaPayload, buildReplicationPayload } from './ops-payloads.ts';
export type { StorageReport, StorageCfgEntry, CertificateInfo, UpdatesSummary, CephHealth } from './ops.ts';
export {
  parseStorageCfg,
  storagesFromFiles,
  storagesFromApi,
  normalizeContent,
  newestInstalledKernel,
  rebootRequired,
  certificateInfo,
  summarizeUpdates,
  cephHealthOf,
  cephAbsentError,
} from './ops.ts';
export type { ReleaseHeader } from './apt.ts';
export {
  parseReleaseHeader,
  isSecurityRelease,
  parsePackagesIndex,
  releasePrefix,
  packagesIndexKind,
} from './apt.ts';
