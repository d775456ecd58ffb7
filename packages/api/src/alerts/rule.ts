/** What a rule is and what it may do: the contract of every file in rules/. */
import type { Scope } from './settings.ts';
import type {
  ActiveAlert,
  AlertSettings,
  ClusterFact,
  ClusterMem,
  EngineState,
  Fact,
  GuestFact,
  GuestGoneFact,
  GuestMem,
  NodeFact,
  NodeMem,
  OpsFact,
  RuleId,
  StorageFact,
  RuleSettings,
  Severity,
  TickFact,
} from './types.ts';

/** Values before this fact was applied, so rules can compare old and new. */
export interface Previous {
  /** node facts */
  version?: string | undefined;
  bootAt?: number | undefined;
  uptimeS?: number | undefined;
  /** true when this report was collected before one already processed (a spool replay) */
  stale: boolean;
  /** cluster facts */
  nodes?: number | undefined;
  /**
   * true when the report says nothing new about membership: the same reporter sent the same
   * collection again (a retry), or one collected before the view of it held (a late resend)
   */
  duplicate: boolean;
  /** guest facts */
  status?: string | undefined;
  guestNode?: string | undefined;
}

export interface FireInput {
  key: string;
  summary: string;
  clusterId: string;
  clusterName?: string | undefined;
  node?: string | undefined;
  vmid?: number | undefined;
  /** when the rule's severity depends on the value (storage_full, certificate_expiring) */
  severity?: Severity | undefined;
}

export interface RuleContext {
  readonly state: EngineState;
  readonly now: number;
  readonly settings: AlertSettings;
  readonly prev: Previous;
  /** fires unless `key` already fires (then nothing happens: one alert per key) */
  fire(rule: Rule, a: FireInput): void;
  /** resolves `key` if it fires */
  resolve(key: string, summary?: string): void;
  /** a one-shot informational event (no firing state) */
  notice(rule: Rule, a: FireInput): void;
  isFiring(key: string): ActiveAlert | undefined;
  /** the firing alerts of `rule` whose key starts with `prefix` (ops rules resolve what a report no longer lists) */
  firingWith(rule: RuleId, prefix: string): ActiveAlert[];
  /** marks a state entry as changed, e.g. `n:<key>` */
  touch(entry: string): void;
  config(rule: RuleId, scope: Scope): Required<RuleSettings>;
  cluster(f: { clusterId: string }): ClusterMem | undefined;
  node(clusterId: string, node: string): NodeMem | undefined;
  guest(clusterId: string, vmid: number): GuestMem | undefined;
  defaultIntervalS: number;
}

export interface Rule {
  id: RuleId;
  severity: Severity;
  /** one line for docs and listings */
  title: string;
  onCluster?(ctx: RuleContext, f: ClusterFact): void;
  onNode?(ctx: RuleContext, f: NodeFact, n: NodeMem): void;
  onGuest?(ctx: RuleContext, f: GuestFact, g: GuestMem): void;
  onTick?(ctx: RuleContext, f: TickFact): void;
  onGuestGone?(ctx: RuleContext, f: GuestGoneFact): void;
  onOps?(ctx: RuleContext, f: OpsFact): void;
  onStorage?(ctx: RuleContext, f: StorageFact, n: NodeMem): void;
}

export const nodeKey = (clusterId: string, node: string): string => `${clusterId}\u0000${node}`;
export const guestKey = (clusterId: string, vmid: number): string => `${clusterId}\u0000${vmid}`;
export const alertKey = (rule: RuleId, clusterId: string, node = '', extra = ''): string =>
  `${rule}|${clusterId}|${node}|${extra}`;

export type { Fact };
