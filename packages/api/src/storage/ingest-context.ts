/**
 * What every part of ingest (site, cluster, node, guest) shares while it applies one report inside
 * the batch transaction: the job, its agent, the clock of the report, the events it implies.
 */
import type { ConfigMap, EventDraft } from '../domain/derive.ts';
import { occurredAt } from '../domain/report-time.ts';
import type { FleetEvent, IngestJob, IngestRefused } from './storage.ts';
import type { RawSql, Trx } from './sql.ts';
import type { NodeTable } from './types.ts';
import type { QuotaLedger } from './ingest-quota.ts';
import type { IngestBatch } from './ingest-batch.ts';

export type Json = Record<string, unknown>;

// Payload readers: a missing or mistyped field is null, never 0 or '' (DESIGN.md §7).
export const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
export const strOrEmpty = (v: unknown): string | null => (typeof v === 'string' ? v : null);
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
export const flag = (v: unknown): number | null => (v === 0 || v === 1 ? v : null);

export function configOf(payload: Json): ConfigMap | null {
  const c = payload['config'];
  return c && typeof c === 'object' && !Array.isArray(c) ? (c as ConfigMap) : null;
}

/** the agent columns ingest needs (read once per batch) */
export interface AgentRow {
  id: string;
  tenant_id: string;
  hostname: string;
  token_version: number;
  revoked_at: string | null;
  cluster_id: string | null;
  cluster_name: string | null;
  cluster_fingerprint: string | null;
  bound_node: string | null;
}

export interface Site {
  id: string;
  name: string;
}

/**
 * Ids that never change once committed: tenant|key → site, and site|node name → node id. Entries
 * found inside a transaction wait in `pending*` and enter the caches only after it commits.
 */
export interface IdCaches {
  readonly sites: Map<string, Site>;
  readonly nodes: Map<string, string>;
}

export class JobContext {
  readonly p: Json;
  /** when the server received the report: the clock of everything it writes */
  readonly at: string;
  /** when the report says it was collected, within a skew of `at` (history timestamps), else `at` */
  readonly occurred: string;
  readonly events: FleetEvent[] = [];

  constructor(
    readonly trx: Trx,
    readonly raw: RawSql,
    readonly job: IngestJob,
    readonly agent: AgentRow,
    readonly caches: IdCaches,
    readonly pendingSites: [string, Site][],
    readonly pendingNodes: [string, string][],
    /** the batch's quota counts (ingest-quota.ts) */
    readonly quota: QuotaLedger,
    readonly batch: IngestBatch,
  ) {
    this.p = job.payload;
    this.at = job.receivedAt;
    // clamped (domain/report-time.ts); the report's own collected_at is stored as sent
    this.occurred = occurredAt(str(this.p['collected_at']), job.receivedAt);
  }

  /**
   * Whether this report was received before a time the row it would update holds (its last report,
   * a state decided since): a replica that stalled with it in hand commits it after a newer report
   * of the same node or guest went through another replica (issue 14). Such a report is late: it
   * changes no current-state column, derives nothing and records no event; its history sample is
   * still stored (history is filed by when it was measured). The same receive time is a replay of
   * that report, not late: it is applied again, which changes nothing. Both are the server's ISO
   * receive times, so text order is time order (as in SQL, membership.ts).
   */
  late(...held: (string | null | undefined)[]): boolean {
    return held.some((t) => t !== null && t !== undefined && this.at < t);
  }

  /** undefined when the tenant has room for what this report adds (reserved), else the refusal */
  async overQuota(
    want: Partial<Record<'clusters' | 'nodes' | 'guests', number>>,
    what: string,
  ): Promise<IngestRefused | undefined> {
    const message = await this.quota.take(this.job.tenantId, this.job.quotas, want, what);
    return message === undefined ? undefined : { ok: false, reason: 'quota', message };
  }

  event(
    subject: FleetEvent['subject'],
    ids: { cluster_id: string; node_id?: string | null; guest_id?: string | null },
    drafts: EventDraft[],
  ): void {
    for (const d of drafts)
      this.events.push({
        tenant_id: this.job.tenantId,
        cluster_id: ids.cluster_id,
        node_id: ids.node_id ?? null,
        guest_id: ids.guest_id ?? null,
        subject,
        type: d.type,
        message: d.message,
        data: d.data ?? null,
        occurred_at: this.occurred,
        received_at: this.at,
      });
  }
}

/** a node row with nothing known yet but its identity (a name in a members list or a guest report) */
export function emptyNode(): Omit<
  NodeTable,
  'id' | 'tenant_id' | 'cluster_id' | 'name' | 'first_seen_at' | 'last_seen_at'
> {
  return {
    node_id: null,
    ip: null,
    online: null,
    local: null,
    level: null,
    pve_version: null,
    uptime_seconds: null,
    cpu_usage_ratio: null,
    mem_total_bytes: null,
    mem_used_bytes: null,
    rootfs_total_bytes: null,
    rootfs_used_bytes: null,
    load_avg_1m: null,
    kernel_version: null,
    report: null,
    last_report_at: null,
    collected_at: null,
    cycle_started_at: null,
    storage_report_at: null,
  };
}
