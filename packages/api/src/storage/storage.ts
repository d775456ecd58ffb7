/**
 * The `Storage` interface: every domain operation the API needs, and nothing SQL-shaped. It is the
 * intersection of one interface per slice (accounts, agents, ingest, reads, retention, core); each
 * slice has its own file, and kysely-storage.ts puts them together for SQLite and PostgreSQL.
 *
 * Modules with their own tables (alerts, notifications) put their SQL in `storage/<module>*.ts`
 * as a factory `(db: StorageHandle) => TheirStore` and call `storage.extend(factory)`: only
 * storage/ sees Kysely, the module sees its own typed store.
 */
import type { OpsKind, PayloadKind } from '@nanny/schema';
import type { Dialect } from './migrations/types.ts';
import type { LeaderLock } from './leader.ts';

export type { Dialect };

import type { NodeState } from '@nanny/proxmox';
import type { HistoryStore } from './history-types.ts';
import type { StoragePoolsStore } from './storage-pools-types.ts';
import type { ClusterView, GuestDetail, GuestUsage, GuestView, NodeSample, NodeView } from './view-types.ts';
export type {
  ClusterView,
  NodeView,
  NodeHealthView,
  NodeSample,
  GuestView,
  GuestDetail,
  GuestUsage,
} from './view-types.ts';

export interface Tenant {
  id: string;
  name: string;
  created_at: string;
}
export interface User {
  id: string;
  tenant_id: string;
  username: string;
  password_hash: string;
  role: 'admin' | 'user';
  created_at: string;
}
export interface Session {
  user_id: string;
  tenant_id: string;
  expires_at: string;
}
export type TokenScope = 'read' | 'write';
export interface ApiToken {
  id: string;
  tenant_id: string;
  user_id: string | null;
  name: string;
  scope: TokenScope;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  /** null = never */
  expires_at: string | null;
}
export interface EnrollmentToken {
  id: string;
  tenant_id: string;
  max_uses: number;
  uses_left: number;
  expires_at: string;
  created_at: string;
  revoked_at: string | null;
}
export interface Agent {
  id: string;
  tenant_id: string;
  hostname: string;
  cluster_name: string | null;
  cluster_fingerprint: string | null;
  agent_version: string | null;
  pve_version: string | null;
  token_version: number;
  revoked_at: string | null;
  created_at: string;
  last_seen_at: string | null;
  /** the cluster (site) this agent is bound to, from its first report */
  cluster_id: string | null;
  /** the node this agent is bound to, from its first report; cleared by an admin's rebind */
  bound_node: string | null;
}
export interface AgentAuthState {
  token_version: number;
  revoked: boolean;
}

export type RefreshOutcome =
  | { kind: 'ok'; agent: Agent }
  /** the token was already used: the agent's tokens have been revoked */
  | { kind: 'reused'; agentId: string }
  | { kind: 'invalid' };

/** A domain event, as recorded in `events` and handed to ingest listeners. */
export interface FleetEvent {
  id?: number;
  tenant_id: string;
  cluster_id: string | null;
  node_id: string | null;
  guest_id: string | null;
  subject: 'cluster' | 'node' | 'guest';
  type: string;
  message: string;
  data: Record<string, unknown> | null;
  occurred_at: string;
  received_at: string;
}

export interface IngestJob {
  tenantId: string;
  agentId: string;
  /** the agent's token version the request was authenticated with: a revoked agent's job is refused */
  tokenVersion: number;
  kind: PayloadKind | OpsKind;
  /** canonical payload (aliases normalised, validated) */
  payload: Record<string, unknown>;
  receivedAt: string;
  /** the organisation's quotas (M7): a report that would store one more is refused; none = no limit */
  quotas?: Quotas;
}
/** clusters, nodes and guests one organisation may hold; 0 = no limit */
export interface Quotas {
  clusters: number;
  nodes: number;
  guests: number;
}
export interface IngestApplied {
  ok: true;
  clusterId: string;
  nodeId?: string;
  guestId?: string;
  events: FleetEvent[];
  /**
   * a report older than what its row holds, kept out and not evaluated: a node, guest, cluster,
   * storage or ops report received before the stored one (ingest-node/guest/cluster/storage/ops.ts),
   * or an HA report with an older manager timestamp (ingest-ops.ts)
   */
  stale?: boolean;
  /** what ingest computed beyond the report (storage: days_until_full), for the ingest listeners */
  derived?: Record<string, unknown>;
}
export type IngestOutcome =
  IngestApplied | { ok: false; reason: 'revoked' | 'error'; error?: unknown } | IngestRefused;
/** the report is about a node or cluster the agent is not bound to (M2), or over a quota (M7) */
export interface IngestRefused {
  ok: false;
  reason: 'forbidden' | 'quota';
  message: string;
}

export interface GuestFilter {
  clusterId?: string;
  /** node name or node id */
  node?: string;
  type?: 'lxc' | 'qemu';
  status?: string;
  tag?: string;
  /** matches name (case-insensitive substring) or exact vmid */
  q?: string;
  includeGone?: boolean;
  limit: number;
  offset: number;
  /**
   * when the list is asked for: lets the total be reused for a few seconds (COUNT(*) over a big
   * fleet costs more than the page). Without it the total is counted every time.
   */
  now?: string;
}
export interface EventFilter {
  clusterId?: string;
  nodeId?: string;
  guestId?: string;
  type?: string;
  since?: string;
  until?: string;
  limit: number;
  offset: number;
}

export interface RetentionResult {
  statusChanges: number;
  configVersions: number;
  events: number;
  goneGuests: number;
}

/**
 * What a module's store factory receives. The Kysely instance is typed `unknown` here so that code
 * outside storage/ never depends on Kysely; inside `storage/<module>*.ts`, cast it with
 * `handle.db as Kysely<YourTables>`.
 */
export interface StorageHandle {
  readonly db: unknown;
  readonly dialect: Dialect;
}

/** The database itself: lifecycle, module stores, persistent secrets (kysely-storage.ts). */
export interface CoreStore {
  readonly dialect: Dialect;
  /** builds a module's store on the same database (see storage/README in packages/api/README.md) */
  extend<T>(factory: (handle: StorageHandle) => T): T;
  /**
   * the lock that makes one replica the leader (storage/leader.ts): a PostgreSQL session advisory
   * lock on a connection of its own; on SQLite (one process) always won
   */
  leaderLock(name: string): LeaderLock;
  ping(): Promise<void>;
  close(): Promise<void>;

  /** a persistent secret (created on first use), e.g. the JWT signing key */
  secret(key: string, create: () => string): Promise<string>;
}

export interface LoginFailures {
  failures: number;
  /** epoch milliseconds */
  last_failure_at: number;
}

/**
 * Tenants, users, sessions, personal API tokens (accounts.ts). The caller says when a record is
 * created (`now`, `created_at`): storage never reads the clock.
 */
export interface AccountsStore {
  ensureTenant(name: string, now: string): Promise<Tenant>;
  createTenant(name: string, now: string): Promise<Tenant>;
  tenantByName(name: string): Promise<Tenant | undefined>;
  tenantById(id: string): Promise<Tenant | undefined>;
  listTenants(): Promise<Tenant[]>;

  countUsers(): Promise<number>;
  createUser(u: Omit<User, 'id'>): Promise<User>;
  userByName(username: string): Promise<User | undefined>;
  userById(id: string): Promise<User | undefined>;
  /** also ends the user's sessions and revokes their personal tokens (at `now`) */
  setPassword(userId: string, passwordHash: string, now: string): Promise<void>;
  createSession(idHash: string, s: Session & { created_at: string }): Promise<void>;
  sessionByHash(idHash: string, now: string): Promise<Session | undefined>;
  deleteSession(idHash: string): Promise<void>;

  createApiToken(
    t: Omit<ApiToken, 'id' | 'last_used_at' | 'revoked_at' | 'expires_at'> & { expires_at?: string | null },
    tokenHash: string,
  ): Promise<ApiToken>;
  apiTokenByHash(tokenHash: string): Promise<ApiToken | undefined>;
  listApiTokens(tenantId: string): Promise<ApiToken[]>;
  /** notes a use; only when the last noted one is older than `notBefore` (one write a minute, not one per request) */
  touchApiToken(id: string, now: string, notBefore: string): Promise<void>;
  /** `userId` limits the revocation to that user's own tokens */
  revokeApiToken(tenantId: string, id: string, now: string, userId?: string): Promise<boolean>;

  /** failed logins per key (`u:name`, `a:address`; M6), shared by every process on the database */
  loginFailures(keys: readonly string[]): Promise<Map<string, LoginFailures>>;
  /**
   * Counts one failure for each key, atomically (replicas may count at once). A count whose last
   * failure is `windowMs` old starts again at 1; rows that old are deleted now and then.
   */
  recordLoginFailure(keys: readonly string[], nowMs: number, windowMs: number): Promise<void>;
  clearLoginFailures(key: string): Promise<void>;
}

/** Enrollment tokens, agents, refresh tokens (agents.ts). Creation times come from the caller. */
export interface AgentsStore {
  createEnrollmentToken(
    t: { tenant_id: string; max_uses: number; expires_at: string; created_at: string },
    tokenHash: string,
  ): Promise<EnrollmentToken>;
  listEnrollmentTokens(tenantId: string): Promise<EnrollmentToken[]>;
  /** false when unknown (in that tenant, if given) or revoked already */
  revokeEnrollmentToken(tenantId: string | undefined, id: string, now: string): Promise<boolean>;
  /** atomically takes one use; undefined when unknown, used up, expired or revoked */
  consumeEnrollmentToken(tokenHash: string, now: string): Promise<{ tenant_id: string } | undefined>;
  createAgent(
    a: Omit<Agent, 'id' | 'token_version' | 'revoked_at' | 'last_seen_at' | 'cluster_id' | 'bound_node'>,
  ): Promise<Agent>;
  agentById(id: string): Promise<Agent | undefined>;
  listAgents(tenantId?: string): Promise<Agent[]>;
  /** marks the agent revoked and invalidates every token it holds */
  revokeAgent(tenantId: string | undefined, id: string, now: string): Promise<boolean>;
  /** forgets an agent's node and cluster binding: its next report binds it again (a reinstalled node) */
  unbindAgent(tenantId: string | undefined, id: string): Promise<boolean>;
  agentAuthStates(ids: readonly string[]): Promise<Map<string, AgentAuthState>>;
  storeRefreshToken(t: {
    tokenHash: string;
    agentId: string;
    tenantId: string;
    tokenVersion: number;
    createdAt: string;
    expiresAt: string;
  }): Promise<void>;
  /** marks the refresh token used; a second use revokes the agent's tokens (token_version + 1) */
  useRefreshToken(tokenHash: string, now: string): Promise<RefreshOutcome>;
}

/**
 * Ingest (ingest*.ts): group commit, one transaction for the batch; outcomes in job order. Each
 * job's `receivedAt` is its clock.
 */
export interface IngestStore {
  /** `queue` names the rows to add to the ingest queue for each applied job, in its transaction */
  ingest(jobs: readonly IngestJob[], queue?: QueueRows): Promise<IngestOutcome[]>;
}

/** A row of the durable ingest queue (`ingest_queue`), read in order by its topic's reader. */
export interface QueueRow {
  topic: string;
  tenant_id: string;
  body: string;
}
export type QueueRows = (job: IngestJob, applied: IngestApplied) => readonly QueueRow[];

/** What /metrics shows for a tenant. */
export interface Fleet {
  clusters: ClusterView[];
  nodes: NodeView[];
  guests: {
    cluster_id: string;
    node: string;
    vmid: number;
    type: string;
    name: string | null;
    status: string;
  }[];
}

/** The read API's queries, always tenant-scoped (reads.ts; rows become views in views.ts). */
export interface ReadStore {
  listClusters(tenantId: string): Promise<ClusterView[]>;
  getCluster(tenantId: string, id: string): Promise<ClusterView | undefined>;
  listNodes(tenantId: string, filter: { clusterId?: string }): Promise<NodeView[]>;
  getNode(tenantId: string, id: string): Promise<NodeView | undefined>;
  nodeSamples(
    tenantId: string,
    nodeId: string,
    from: string,
    to: string,
    limit: number,
  ): Promise<NodeSample[]>;
  listGuests(tenantId: string, filter: GuestFilter): Promise<{ data: GuestView[]; total: number }>;
  /** the usage figures of these guests' last reports (absent: no report kept) */
  guestUsage(tenantId: string, guestIds: readonly string[]): Promise<Map<string, GuestUsage>>;
  /** a node's last report as received, canonical field names */
  nodeReport(tenantId: string, nodeId: string): Promise<Record<string, unknown> | undefined>;
  getGuest(tenantId: string, id: string): Promise<GuestDetail | undefined>;
  listEvents(tenantId: string, filter: EventFilter): Promise<{ data: FleetEvent[]; total: number }>;
  /** everything /metrics shows for a tenant */
  fleet(tenantId: string): Promise<Fleet>;
}

/** History retention (retention.ts). */
export interface RetentionStore {
  /**
   * deletes change history older than `before` (latest config version of each guest is kept);
   * usage samples and rollups have their own horizons (HistoryStore.maintainHistory)
   */
  prune(before: string): Promise<RetentionResult>;
}

/** Membership slice (membership.ts): one truth from every reporter's view of its cluster. */
export interface MembershipViewAnswer {
  reporter: string;
  received_at: string;
  quorate: boolean;
  /** whether the view still counts (its reporter alive, younger than 2.5 of its intervals) */
  fresh: boolean;
  members: { name: string; online: boolean }[];
}
export interface MembershipNodeAnswer {
  name: string;
  state: NodeState;
  /** since when the derived state holds (null: not derived at ingest yet) */
  since: string | null;
  reporting: boolean;
  last_report: string | null;
  seen_online_by: string[];
  seen_offline_by: string[];
}
export interface ClusterMembership {
  cluster_id: string;
  split: boolean;
  partitions: { nodes: string[]; reporters: string[]; quorate: boolean }[];
  /** index into `partitions`, or null when no partition holds quorum */
  quorate_partition: number | null;
  views: MembershipViewAnswer[];
  nodes: MembershipNodeAnswer[];
}

export interface MembershipStore {
  /** a cluster's views, partitions and node states as of `now`; undefined: no such cluster */
  clusterMembership(tenantId: string, clusterId: string, now: string): Promise<ClusterMembership | undefined>;
  /** node states of the tenant's clusters as of `now`: cluster id → node name → state and since */
  membershipStates(
    tenantId: string,
    now: string,
  ): Promise<Map<string, Map<string, { state: NodeState; since: string | null }>>>;
  /** `quorate` derived from the fresh views (derivedQuorate), per cluster that has one, as of `now` */
  membershipQuorate(tenantId: string, now: string): Promise<Map<string, number>>;
}

/** Every domain operation the API needs: the slices together. */
export type Storage = CoreStore &
  AccountsStore &
  AgentsStore &
  IngestStore &
  ReadStore &
  StoragePoolsStore &
  RetentionStore &
  MembershipStore &
  HistoryStore;
