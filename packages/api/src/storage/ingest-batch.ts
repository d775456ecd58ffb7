/**
 * Ingest, batch part: what one group-commit batch reads in one statement before its guest reports
 * apply, and the steady-state guest writes it applies in one statement after them. On SQLite a
 * statement is a function call; on PostgreSQL it is a network round trip, and one per report (select,
 * update, report update) held the batch transaction for ~50 round trips per 50 reports: 0.02–0.05 of
 * the bare route (issue 14). Set-based statements make that a handful of round trips per batch.
 *
 * First-seen guests are deferred too (a fleet's first cycle is all of them: ~4 round trips per new
 * guest on PostgreSQL held its batch for seconds): their rows, last reports, status changes and
 * config versions are written at the flush, one multi-row INSERT per table. A new guest's id is
 * chosen here, so its events, usage sample and queued facts can name it before the row exists.
 *
 * Ordering: only guest jobs read or write guest rows through the batch. Before any other job (a node
 * report marks guests gone by SQL) the deferred writes are flushed and what the batch knew about
 * guests is dropped, so every statement sees the rows as the jobs before it left them.
 */
import { siteKey } from '../domain/site.ts';
import type { Dialect, IngestJob } from './storage.ts';
import type { AgentRow, IdCaches } from './ingest-context.ts';
import type { RawSql, Trx } from './sql.ts';
import type {
  GuestConfigVersionTable,
  GuestReportTable,
  GuestStatusChangeTable,
  GuestTable,
} from './types.ts';
import type { Insertable } from 'kysely';

/** the columns of a guest a report may change (ingest-guest.ts builds them) */
export type GuestFields = Pick<
  GuestTable,
  | 'type'
  | 'name'
  | 'node_name'
  | 'node_id'
  | 'status'
  | 'tags'
  | 'uptime_seconds'
  | 'cpu_cores'
  | 'memory_mb'
  | 'template'
  | 'config_hash'
  | 'last_seen_at'
  | 'collected_at'
  | 'gone_at'
>;

/** column → PostgreSQL array type for UNNEST (migration 0001: bigint is `bigint` there) */
const PG_TYPES: Record<keyof GuestFields, string> = {
  type: 'text',
  name: 'text',
  node_name: 'text',
  node_id: 'text',
  status: 'text',
  tags: 'text',
  uptime_seconds: 'bigint',
  cpu_cores: 'integer',
  memory_mb: 'integer',
  template: 'integer',
  config_hash: 'text',
  last_seen_at: 'text',
  collected_at: 'text',
  gone_at: 'text',
};
const COLS = Object.keys(PG_TYPES) as (keyof GuestFields)[];

const PG_UPDATE_GUESTS =
  `update "guests" as g set ${COLS.map((c) => `"${c}" = u."${c}"`).join(', ')} ` +
  `from unnest(?::text[], ${COLS.map((c) => `?::${PG_TYPES[c]}[]`).join(', ')}) ` +
  `as u("id", ${COLS.map((c) => `"${c}"`).join(', ')}) where g."id" = u."id" and g."last_seen_at" <= u."last_seen_at" ` +
  // the same test as JobContext.late() on the row read (ingest-guest.ts), against the row as it is now
  `and (g."gone_at" is null or g."gone_at" <= u."last_seen_at") returning g."id"`;
const PG_UPDATE_REPORTS =
  'update "guest_reports" as r set "report" = u."report" from unnest(?::text[], ?::text[]) as u("guest_id", "report") where r."guest_id" = u."guest_id"';
const PG_SELECT_GUESTS =
  'select g.* from unnest(?::text[], ?::integer[]) as u("cluster_id", "vmid") join "guests" as g on g."cluster_id" = u."cluster_id" and g."vmid" = u."vmid"';
const SQLITE_SELECT_GUESTS =
  'select g.* from json_each(?) as u join "guests" as g on g."cluster_id" = json_extract(u."value", \'$[0]\') and g."vmid" = json_extract(u."value", \'$[1]\')';
const PG_AGENTS_SEEN =
  'update "agents" as a set "last_seen_at" = u."at" from unnest(?::text[], ?::text[]) as u("id", "at") where a."id" = u."id" and (a."last_seen_at" is null or a."last_seen_at" < u."at")';
const SQLITE_AGENT_SEEN =
  'update "agents" set "last_seen_at" = ? where "id" = ? and ("last_seen_at" is null or "last_seen_at" < ?)';

/**
 * Bytes of config history (config and diff text) kept per guest; older versions beyond it go, the
 * latest always stays. A config map may hold 1,024 values of 64 KB: an agent changing it on every
 * report stored ~3 MB per report (the map and a diff of old and new values) for the retention time
 * (issue 13, M7 re-attack: 30 reports, +86 MB). A real guest's config is a few KB: 1 MB keeps
 * hundreds of its versions.
 */
export const CONFIG_HISTORY_BYTES = 1024 * 1024;

const pruneConfigHistory = (guests: number): string =>
  'delete from "guest_config_versions" where "id" in (select "id" from (select "id", ' +
  'row_number() over (partition by "guest_id" order by "id" desc) as "rn", ' +
  'sum(length("config") + coalesce(length("diff"), 0)) over (partition by "guest_id" order by "id" desc) as "bytes" ' +
  `from "guest_config_versions" where "guest_id" in (${new Array<string>(guests).fill('?').join(', ')})) as "v" ` +
  'where "v"."rn" > 1 and "v"."bytes" > ?)';

/** rows per multi-row INSERT: 19 columns × 500 stay far below SQLite's 32766 bound parameters */
const CHUNK = 500;

/**
 * Another transaction committed a guest row meanwhile that this batch decided on as it was before:
 * the batch is rolled back and run once more, and then reads the row as it is now (ingest.ts).
 */
export class GuestRace extends Error {}

/**
 * A guest the batch took for new was inserted meanwhile by another transaction (a replica's batch
 * that committed while this one ran): nothing of this batch may be kept, since its rows name the id
 * this batch chose. The batch is run again, and then reads the row (ingest.ts).
 */
export class FirstSeenRace extends GuestRace {
  constructor(n: number) {
    super(`${n} guest(s) first seen by this batch were inserted meanwhile by another transaction`);
  }
}

/**
 * A known guest's update found its row written meanwhile by another transaction with a report
 * received after this batch's (or marked gone by a node cycle after it), and kept that row
 * (PG_UPDATE_GUESTS). The batch's report text, status change, config version and events of that
 * report would still be written; run again, the batch reads the newer row and the report is late.
 */
export class NewerReportRace extends GuestRace {
  constructor(n: number) {
    super(`${n} guest(s) updated by this batch were written meanwhile with a newer report`);
  }
}

interface GuestWrite {
  /** every column (PostgreSQL writes them all: an unchanged value does not stop a HOT update) */
  fields: GuestFields;
  /** only what changed (SQLite: an indexed column in SET costs index maintenance even unchanged) */
  changed: Partial<GuestFields>;
}

export class IngestBatch {
  /** `cluster|vmid` → the row as this batch left it; a prefetched key without a row is absent */
  private readonly known = new Map<string, GuestTable | null>();
  private readonly writes = new Map<string, GuestWrite>();
  private readonly reports = new Map<string, string>();
  private readonly newGuests = new Map<string, GuestTable>();
  private readonly newReports = new Map<string, GuestReportTable>();
  private readonly statusChanges: Insertable<GuestStatusChangeTable>[] = [];
  private readonly configVersions: Insertable<GuestConfigVersionTable>[] = [];
  /** jobs at and after this index have not been prefetched yet */
  private prefetchedTo = 0;

  constructor(
    private readonly dialect: Dialect,
    private readonly raw: RawSql,
    private readonly trx: Trx,
    private readonly jobs: readonly IngestJob[],
    private readonly agents: ReadonlyMap<string, AgentRow>,
    private readonly caches: IdCaches,
  ) {}

  /**
   * Called before job `index` applies. A guest job loads, in one statement, the rows of every guest
   * job from here to the next non-guest job whose site is already known; any other job first
   * writes what is deferred and forgets what was loaded.
   */
  async before(index: number): Promise<void> {
    const job = this.jobs[index];
    if (!job) return;
    if (job.kind !== 'lxc' && job.kind !== 'qemu') {
      await this.flush();
      this.known.clear();
      this.prefetchedTo = index + 1;
      return;
    }
    if (index < this.prefetchedTo) return;
    const keys: [string, number][] = [];
    let i = index;
    for (; i < this.jobs.length; i++) {
      const j = this.jobs[i]!;
      if (j.kind !== 'lxc' && j.kind !== 'qemu') break;
      const site = this.siteIdOf(j);
      const vmid = Number(j.payload['vmid']);
      if (site !== undefined && Number.isInteger(vmid)) keys.push([site, vmid]);
    }
    this.prefetchedTo = i;
    if (keys.length === 0) return;
    const rows =
      this.dialect === 'postgres'
        ? await this.raw<GuestTable>(this.trx, PG_SELECT_GUESTS, [
            keys.map((k) => k[0]),
            keys.map((k) => k[1]),
          ])
        : await this.raw<GuestTable>(this.trx, SQLITE_SELECT_GUESTS, [JSON.stringify(keys)]);
    for (const [site, vmid] of keys)
      if (!this.known.has(`${site}|${vmid}`)) this.known.set(`${site}|${vmid}`, null);
    for (const r of rows.rows) this.known.set(`${r.cluster_id}|${Number(r.vmid)}`, r);
  }

  /** the site a guest job files under when it is known without a statement (ingest-site.ts) */
  private siteIdOf(j: IngestJob): string | undefined {
    const a = this.agents.get(j.agentId);
    if (!a) return undefined;
    const k = siteKey(j.kind, j.payload, a, String(j.payload['node']));
    return 'boundId' in k ? k.boundId : this.caches.sites.get(`${j.tenantId}|${k.key}`)?.id;
  }

  /** the guest row: `undefined` = not loaded (read it), `null` = loaded and absent */
  guest(siteId: string, vmid: number): GuestTable | null | undefined {
    return this.known.get(`${siteId}|${vmid}`);
  }

  /** records the row a guest job left, so a later report of the same guest in the batch sees it */
  remember(row: GuestTable): void {
    this.known.set(`${row.cluster_id}|${row.vmid}`, row);
  }

  /** a known guest's update, written at the next flush (the last one per guest wins) */
  updateGuest(id: string, fields: GuestFields, changed: Partial<GuestFields>): void {
    const fresh = this.newGuests.get(id);
    if (fresh) {
      // first seen in this batch: the insert carries the last report's fields
      this.newGuests.set(id, { ...fresh, ...fields });
      return;
    }
    const prev = this.writes.get(id);
    this.writes.set(id, { fields, changed: prev ? { ...prev.changed, ...changed } : changed });
  }

  updateReport(guestId: string, report: string): void {
    const fresh = this.newReports.get(guestId);
    if (fresh) fresh.report = report;
    else this.reports.set(guestId, report);
  }

  /** a guest not stored yet: inserted with its last report at the next flush */
  insertGuest(row: GuestTable, report: string): void {
    this.newGuests.set(row.id, row);
    this.newReports.set(row.id, { guest_id: row.id, tenant_id: row.tenant_id, report });
    this.remember(row);
  }

  statusChange(row: Insertable<GuestStatusChangeTable>): void {
    this.statusChanges.push(row);
  }

  configVersion(row: Insertable<GuestConfigVersionTable>): void {
    this.configVersions.push(row);
  }

  /** the config of the guest's latest version not written yet, else undefined (read it) */
  pendingConfig(guestId: string): string | undefined {
    for (let i = this.configVersions.length - 1; i >= 0; i--)
      if (this.configVersions[i]!.guest_id === guestId) return this.configVersions[i]!.config;
    return undefined;
  }

  /**
   * New guests first (the updates and reports of a guest seen twice in the batch follow), in key
   * order so that two batches inserting the same guests wait for each other instead of deadlocking.
   * DO NOTHING: a row that exists now was committed by another transaction since this batch read.
   */
  private async insertNew(): Promise<void> {
    if (this.newGuests.size === 0) return;
    const rows = [...this.newGuests.values()].sort((a, b) =>
      a.cluster_id === b.cluster_id ? a.vmid - b.vmid : a.cluster_id < b.cluster_id ? -1 : 1,
    );
    this.newGuests.clear();
    let inserted = 0;
    for (let i = 0; i < rows.length; i += CHUNK)
      inserted += (
        await this.trx
          .insertInto('guests')
          .values(rows.slice(i, i + CHUNK))
          .onConflict((oc) => oc.columns(['cluster_id', 'vmid']).doNothing())
          .returning('id')
          .execute()
      ).length;
    if (inserted !== rows.length) throw new FirstSeenRace(rows.length - inserted);
    const reports = [...this.newReports.values()];
    this.newReports.clear();
    for (let i = 0; i < reports.length; i += CHUNK)
      await this.trx
        .insertInto('guest_reports')
        .values(reports.slice(i, i + CHUNK))
        .onConflict((oc) =>
          oc.column('guest_id').doUpdateSet((eb) => ({ report: eb.ref('excluded.report') })),
        )
        .execute();
  }

  /** status changes and config versions in the order the reports implied them (ids follow it) */
  private async insertHistory(): Promise<void> {
    const changes = this.statusChanges.splice(0);
    for (let i = 0; i < changes.length; i += CHUNK)
      await this.trx
        .insertInto('guest_status_changes')
        .values(changes.slice(i, i + CHUNK))
        .execute();
    const versions = this.configVersions.splice(0);
    for (let i = 0; i < versions.length; i += CHUNK)
      await this.trx
        .insertInto('guest_config_versions')
        .values(versions.slice(i, i + CHUNK))
        .execute();
    const guests = [...new Set(versions.map((v) => v.guest_id))];
    for (let i = 0; i < guests.length; i += CHUNK) {
      const ids = guests.slice(i, i + CHUNK);
      await this.raw(this.trx, pruneConfigHistory(ids.length), [...ids, CONFIG_HISTORY_BYTES]);
    }
  }

  /**
   * writes what is deferred: one statement per table on PostgreSQL (per 500 rows); the updates of
   * known guests one per row on SQLite. A late guest report was left out already (ingest-guest.ts,
   * on the row this batch read); on PostgreSQL the update also keeps a row that another replica
   * wrote with a newer report after that read (read committed), and then the batch is run again
   * (NewerReportRace): the RETURNING of the update it sends anyway says so, no statement is added.
   * SQLite has one writer: the row read in this transaction is the row written.
   */
  async flush(): Promise<void> {
    await this.insertNew();
    if (this.writes.size > 0) {
      const writes = [...this.writes];
      this.writes.clear();
      if (this.dialect === 'postgres') {
        const updated = await this.raw(this.trx, PG_UPDATE_GUESTS, [
          writes.map(([id]) => id),
          ...COLS.map((c) => writes.map(([, w]) => w.fields[c])),
        ]);
        // before the reports and history below are written, and before the commit
        if (updated.rows.length !== writes.length)
          throw new NewerReportRace(writes.length - updated.rows.length);
      } else
        for (const [id, w] of writes) {
          const cols = Object.keys(w.changed) as (keyof GuestFields)[];
          await this.raw(
            this.trx,
            `update "guests" set ${cols.map((col) => `"${col}" = ?`).join(', ')} where "id" = ?`,
            [...cols.map((col) => w.changed[col]), id],
          );
        }
    }
    if (this.reports.size > 0) {
      const reports = [...this.reports];
      this.reports.clear();
      if (this.dialect === 'postgres')
        await this.raw(this.trx, PG_UPDATE_REPORTS, [reports.map((r) => r[0]), reports.map((r) => r[1])]);
      else
        for (const [id, report] of reports)
          await this.raw(this.trx, 'update "guest_reports" set "report" = ? where "guest_id" = ?', [
            report,
            id,
          ]);
    }
    await this.insertHistory();
  }

  /**
   * marks the agents seen: one statement on PostgreSQL. `last_seen_at` only moves forward: a report
   * a stalled replica commits late was received before what another replica stored meanwhile.
   */
  async agentsSeen(seen: ReadonlyMap<string, string>): Promise<void> {
    if (seen.size === 0) return;
    if (this.dialect === 'postgres')
      await this.raw(this.trx, PG_AGENTS_SEEN, [[...seen.keys()], [...seen.values()]]);
    else for (const [id, at] of seen) await this.raw(this.trx, SQLITE_AGENT_SEEN, [at, id, at]);
  }
}
