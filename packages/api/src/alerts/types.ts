/**
 * Types of the pure alert engine: facts in, state + events out. No I/O here.
 *
 * Times are epoch milliseconds. Every map in the state is keyed so that one ingest touches a
 * constant number of entries whatever the size of the fleet (DESIGN.md §6).
 */

export type Severity = 'info' | 'warning' | 'critical';

export type RuleId =
  | 'quorum_lost'
  | 'node_offline'
  | 'agent_silent'
  | 'node_count_changed'
  | 'version_upgraded'
  | 'version_mismatch'
  | 'node_rebooted'
  | 'cpu_high'
  | 'memory_high'
  | 'rootfs_high'
  | 'swap_high'
  | 'load_high'
  | 'guest_stopped'
  | 'backup_failed'
  | 'backup_missing'
  | 'backup_not_covered'
  | 'ha_error'
  | 'ha_fencing'
  | 'replication_failed'
  | 'storage_full'
  | 'storage_full_soon'
  | 'storage_unavailable'
  | 'ceph_health_warn'
  | 'ceph_health_err'
  | 'ceph_health_unknown'
  | 'reboot_required'
  | 'certificate_expiring'
  | 'updates_available';

export interface ClusterMemberFact {
  name: string;
  online: boolean;
}

/** Where a fact comes from: the API's identity of the cluster (or standalone site). */
interface FactBase {
  clusterId: string;
  clusterName?: string | undefined;
  /** when the API received the report */
  at: number;
  /** when the agent collected it (`collected_at`), if it said so */
  collectedAt?: number | undefined;
}

export interface ClusterFact extends FactBase {
  kind: 'cluster';
  quorate: boolean;
  nodes: number;
  /** undefined or empty: the reply said nothing about members (not evidence of an outage) */
  members?: ClusterMemberFact[] | undefined;
  reportingNode?: string | undefined;
  /** corosync config version (`version` of the spec's cluster payload) */
  configVersion?: number | undefined;
}

export interface NodeFact extends FactBase {
  kind: 'node';
  node: string;
  intervalSeconds?: number | undefined;
  /** the agent's heartbeat period (`heartbeat_interval_seconds`), when it sends heartbeats */
  heartbeatSeconds?: number | undefined;
  pveVersion?: string | undefined;
  uptimeSeconds?: number | undefined;
  cpuRatio?: number | undefined;
  memUsed?: number | undefined;
  memTotal?: number | undefined;
  swapUsed?: number | undefined;
  swapTotal?: number | undefined;
  rootfsUsed?: number | undefined;
  rootfsTotal?: number | undefined;
  load5?: number | undefined;
  cpuThreads?: number | undefined;
  /** node health (issue 15); undefined = not measured by this report (a heartbeat) */
  kernelRunning?: string | undefined;
  kernelInstalled?: string | undefined;
  rebootRequired?: boolean | undefined;
  certificates?: { file: string; notAfter: number }[] | undefined;
  updatesCount?: number | undefined;
  updatesSecurity?: number | undefined;
  cephHealth?: 'HEALTH_OK' | 'HEALTH_WARN' | 'HEALTH_ERR' | 'HEALTH_UNKNOWN' | undefined;
  /** why an installed Ceph's status could not be read (cephHealth HEALTH_UNKNOWN) */
  cephError?: string | undefined;
  cephChecks?: { code: string; severity: string; message?: string | undefined }[] | undefined;
}

/** One storage of a storage report; `node` is '' for a shared storage (one per cluster). */
export interface StoragePoolFact {
  storage: string;
  node: string;
  type: string;
  shared: boolean;
  enabled: boolean;
  active: boolean;
  used?: number | undefined;
  total?: number | undefined;
  /** from the API's 24 h trend (storage ingest); undefined: no projection */
  daysUntilFull?: number | undefined;
}

/** One node's view of its storages (POST /api/proxmox/storage). */
export interface StorageFact extends FactBase {
  kind: 'storage';
  /** the reporting node */
  node: string;
  pools: StoragePoolFact[];
}

export interface GuestFact extends FactBase {
  kind: 'guest';
  vmid: number;
  guestType: 'lxc' | 'qemu';
  name?: string | undefined;
  node: string;
  status: string;
  tags: string[];
  template?: boolean | undefined;
  /** the config's `lock` value; "migrate" while a migration runs */
  lock?: string | undefined;
}

/** The timer: rules that fire on silence or on elapsed time look at the clock. */
export interface TickFact {
  kind: 'tick';
  at: number;
}

/** The API retired a guest its node no longer reports (destroyed, or moved out of reach). */
export interface GuestGoneFact {
  kind: 'guest_gone';
  clusterId: string;
  vmid: number;
  at: number;
}

/**
 * An operations report (issue 15) of one node, or of the cluster (ha): the current state of what it
 * lists. Rules fire for what is bad in it and resolve what the same scope no longer lists as bad.
 */
export interface OpsFact extends FactBase {
  kind: 'ops';
  report: 'backups' | 'ha' | 'replication';
  /** the reporting node */
  node: string;
  backups?: {
    /** start of the oldest vzdump task the node still lists (epoch ms) */
    historySince?: number | undefined;
    guests: {
      vmid: number;
      name?: string | undefined;
      covered: boolean;
      lastSuccessAt?: number | undefined;
      lastFailure?: { at: number; error: string } | undefined;
    }[];
    /** the newest failed task that names no guest (a job that failed as a whole), if newer than any success */
    jobFailure?: { at: number; error: string; upid: string } | undefined;
  };
  ha?: {
    managerTimestamp?: number | undefined;
    nodes: { node: string; state: string }[];
    resources: { sid: string; node?: string | undefined; state: string }[];
  };
  replication?: {
    jobs: {
      id: string;
      guest: number;
      target: string;
      enabled: boolean;
      failCount: number;
      error?: string | undefined;
      lastSync: number;
    }[];
  };
}

export type Fact = ClusterFact | NodeFact | GuestFact | GuestGoneFact | TickFact | OpsFact | StorageFact;

/** A threshold rule waiting for its sustain time, or firing. */
export interface ThresholdMem {
  /** first report at/above the trigger in the current run */
  since: number;
  last: number;
}

export interface NodeMem {
  clusterId: string;
  clusterName?: string | undefined;
  node: string;
  /** last report from this node's own agent (undefined: only known from cluster reports) */
  lastSeen?: number | undefined;
  lastCollected?: number | undefined;
  intervalS?: number | undefined;
  /** heartbeat period of the node's agent: its silence is noticed after factor × this */
  heartbeatS?: number | undefined;
  version?: string | undefined;
  /** estimated boot time (collection time − uptime) */
  bootAt?: number | undefined;
  uptimeS?: number | undefined;
  th: Partial<Record<ThresholdRuleId, ThresholdMem>>;
  /** what the cluster reports say about this node */
  memberOnline?: boolean | undefined;
  offlineStreak: number;
  absentStreak: number;
  /** rules with a sustain time that are not node thresholds: `<rule>|<subject>` → since (epoch ms) */
  since?: Record<string, number> | undefined;
}

export interface ClusterMem {
  clusterId: string;
  name?: string | undefined;
  nodes?: number | undefined;
  /** reporter → when it said "not quorate" */
  nonQuorate: Record<string, number>;
  /** normalised PVE version → number of nodes of the cluster running it */
  versions: Record<string, number>;
  mismatchSince?: number | undefined;
  configVersion?: number | undefined;
  members: string[];
  lastReport?: { reporter: string; collectedAt: number } | undefined;
  /**
   * reporter → its latest membership view. Every agent reports what its own corosync partition
   * sees; keeping them apart (instead of "last report wins") is what lets a split be recognised.
   * Optional: state persisted before views existed has none.
   */
  views?: Record<string, ViewMem> | undefined;
}

export interface ViewMem {
  at: number;
  /** when the reporter collected it (its own clock): an older report does not replace it */
  collectedAt?: number | undefined;
  quorate: boolean;
  members: ClusterMemberFact[];
}

export interface GuestMem {
  clusterId: string;
  vmid: number;
  node: string;
  status: string;
  name?: string | undefined;
  tags: string[];
  /** when the API first saw the guest (backup_missing waits that long before judging it) */
  firstSeen?: number | undefined;
}

export interface ActiveAlert {
  key: string;
  rule: RuleId;
  severity: Severity;
  summary: string;
  clusterId: string;
  clusterName?: string | undefined;
  node?: string | undefined;
  vmid?: number | undefined;
  startedAt: number;
}

export interface EngineState {
  clusters: Map<string, ClusterMem>;
  nodes: Map<string, NodeMem>;
  guests: Map<string, GuestMem>;
  active: Map<string, ActiveAlert>;
}

export type AlertEventType = 'fire' | 'resolve' | 'notice';

/** What changed about an alert: the alert's fields plus the kind of change and its time. */
export interface AlertEvent extends ActiveAlert {
  type: AlertEventType;
  /** when this event happened (resolve time for a resolve) */
  at: number;
}

export type ThresholdRuleId = 'cpu_high' | 'memory_high' | 'rootfs_high' | 'swap_high' | 'load_high';

/** Tunables of one rule; any of them may be overridden per cluster, node or guest tag. */
export interface RuleSettings {
  enabled?: boolean;
  /** threshold rules: value at/above which the condition starts */
  trigger?: number;
  /** threshold rules: value at/below which a firing alert resolves (hysteresis) */
  clear?: number;
  /** storage_full, certificate_expiring: the value at which the alert becomes critical */
  critical?: number;
  /** threshold rules: how long the condition must hold before firing */
  sustainSeconds?: number;
  /**
   * version_mismatch: how long versions may differ before it is an alarm; backup_missing: how long a
   * covered guest may go without a successful backup (default 2 days)
   */
  graceSeconds?: number;
  /** agent_silent: silence longer than factor × the agent's interval */
  factor?: number;
}

export type RuleSettingsMap = Partial<Record<RuleId, RuleSettings>>;

export interface AlertSettings {
  /** global values, merged over the built-in defaults */
  rules?: RuleSettingsMap;
  /** keyed by cluster id or cluster name */
  clusters?: Record<string, RuleSettingsMap>;
  /** keyed by node name, or "<cluster id or name>/<node>" */
  nodes?: Record<string, RuleSettingsMap>;
  /** keyed by guest tag (guest rules only) */
  tags?: Record<string, RuleSettingsMap>;
  /** the interval assumed for an agent that does not send `interval_seconds` */
  defaultIntervalSeconds?: number;
}

export interface EvaluateResult {
  state: EngineState;
  events: AlertEvent[];
  /** state entries this call touched ("c:", "n:", "g:", "a:" + key): what to persist */
  changed: Set<string>;
}
