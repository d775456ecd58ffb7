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
 *
 * On PostgreSQL the deferred writes of known guests and the batch's other writes (events, queued
 * facts, usage samples, the agents' last sight) go as ONE statement (`close`, ingest-fold.ts), and
 * the hot statements are named, parsed and planned once per connection (sql.ts NAMED).
 */
import { siteKey } from '../domain/site.ts';
import type { Dialect, FleetEvent, IngestJob } from './storage.ts';
import type { AgentRow, IdCaches } from './ingest-context.ts';
import { NAMED, type Db, type RawSql } from './sql.ts';
import type {
  GuestConfigVersionTable,
  GuestReportTable,
  GuestStatusChangeTable,
  GuestTable,
} from './types.ts';
import type { Insertable } from 'kysely';
import { writeGuestSamples } from './ingest-usage.ts';
import { FirstSeenRace, NewerReportRace } from './ingest-race.ts';
import {
  EVENT_CHUNK,
  NEWER_REPORT_MARK,
  fold,
  restParts,
  setIds,
  statusChangesPart,
  type BatchRest,
  type GuardedRow,
  type Part,
} from './ingest-fold.ts';

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
/**
 * Every column of a guest row, named: the read is a named statement on PostgreSQL (sql.ts NAMED),
 * whose result shape is fixed at its first use on a connection, so a column a later migration
 * adds must not change it (`g.*` would fail there with "cached plan must not change result type").
 */
const GUEST_COLUMNS = [
  'id',
  'tenant_id',
  'cluster_id',
  'vmid',
  'type',
  'name',
  'node_name',
  'node_id',
  'status',
  'tags',
  'uptime_seconds',
  'cpu_cores',
  'memory_mb',
  'template',
  'config_hash',
  'first_seen_at',
  'last_seen_at',
  'collected_at',
  'gone_at',
] as const satisfies readonly (keyof GuestTable)[];
// every GuestTable column is listed (a compile error otherwise)
const _allGuestColumns: Record<Exclude<keyof GuestTable, (typeof GUEST_COLUMNS)[number]>, never> = {};
void _allGuestColumns;
const PG_SELECT_GUESTS =
  `select ${GUEST_COLUMNS.map((c) => `g."${c}"`).join(', ')} from unnest(?::text[], ?::integer[]) as u("cluster_id", "vmid") ` +
  'join "guests" as g on g."cluster_id" = u."cluster_id" and g."vmid" = u."vmid"';
const SQLITE_SELECT_GUESTS =
  'select g.* from json_each(?) as u join "guests" as g on g."cluster_id" = json_extract(u."value", \'$[0]\') and g."vmid" = json_extract(u."value", \'$[1]\')';
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

  /**
   * @param trx where the batch writes (and reads what it did not prefetch)
   * @param reader where it prefetches guest rows: the transaction, or on PostgreSQL's direct path
   *   (ingest.ts) the connection outside any transaction
   */
  constructor(
    private readonly dialect: Dialect,
    private readonly raw: RawSql,
    private trx: Db,
    private readonly jobs: readonly IngestJob[],
    private readonly agents: ReadonlyMap<string, AgentRow>,
    private readonly caches: IdCaches,
    private readonly reader: Db = trx,
  ) {}

  /** the batch writes through `trx` from now on (ingest.ts: its writes need a transaction after all) */
  writeWith(trx: Db): void {
    this.trx = trx;
  }

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
        ? await this.raw<GuestTable>(
            this.reader,
            PG_SELECT_GUESTS,
            [keys.map((k) => k[0]), keys.map((k) => k[1])],
            NAMED,
          )
        : await this.raw<GuestTable>(this.reader, SQLITE_SELECT_GUESTS, [JSON.stringify(keys)]);
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

  /** status changes in the order the reports implied them (ids follow it) */
  private async insertStatusChanges(): Promise<void> {
    const changes = this.statusChanges.splice(0);
    for (let i = 0; i < changes.length; i += CHUNK)
      await this.trx
        .insertInto('guest_status_changes')
        .values(changes.slice(i, i + CHUNK))
        .execute();
  }

  /** config versions in the order the reports implied them, and the old ones pruned */
  private async insertConfigVersions(): Promise<void> {
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
   * writes what is deferred: on PostgreSQL the guest updates, their last reports and status changes
   * in one statement (new guests and config versions before it, ingest-batch's header); on SQLite
   * the updates of known guests one per row. A late guest report was left out already
   * (ingest-guest.ts, on the row this batch read); on PostgreSQL the guests' update also keeps a row
   * that another replica wrote with a newer report after that read (read committed), and then the
   * whole statement fails and the batch is run again (NewerReportRace, ingest-fold.ts `fold`). SQLite
   * has one writer: the row read in this transaction is the row written.
   */
  async flush(): Promise<void> {
    await this.insertNew();
    if (this.dialect === 'postgres') {
      await this.insertConfigVersions();
      const [parts, guard] = this.guestParts();
      if (parts.length === 0) return;
      await this.sendFolded(parts, guard);
      return;
    }
    if (this.writes.size > 0) {
      const writes = [...this.writes];
      this.writes.clear();
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
      for (const [id, report] of reports)
        await this.raw(this.trx, 'update "guest_reports" set "report" = ? where "guest_id" = ?', [
          report,
          id,
        ]);
    }
    await this.insertStatusChanges();
    await this.insertConfigVersions();
  }

  /**
   * PostgreSQL: the deferred guest updates, last reports and status changes as statement parts, and
   * how many rows the guests' update (the first part) must keep (undefined: no update)
   */
  private guestParts(): [Part[], number | undefined] {
    const parts: Part[] = [];
    const guard = this.writes.size > 0 ? this.writes.size : undefined;
    if (this.writes.size > 0) {
      const writes = [...this.writes];
      this.writes.clear();
      parts.push({
        text: PG_UPDATE_GUESTS,
        params: [writes.map(([id]) => id), ...COLS.map((c) => writes.map(([, w]) => w.fields[c]))],
      });
    }
    if (this.reports.size > 0) {
      const reports = [...this.reports];
      this.reports.clear();
      parts.push({ text: PG_UPDATE_REPORTS, params: [reports.map((r) => r[0]), reports.map((r) => r[1])] });
    }
    if (this.statusChanges.length > 0) parts.push(statusChangesPart(this.statusChanges.splice(0)));
    return [parts, guard];
  }

  /**
   * Sends the parts as one statement; with a guard, one that writes nothing when the guests' update
   * kept fewer rows (ingest-fold.ts `guarded`), which is NewerReportRace here. The ids the last
   * part returned, in its order.
   */
  private async sendFolded(
    parts: readonly Part[],
    guard: number | undefined,
  ): Promise<readonly { id: number | string }[]> {
    const one = fold(parts, guard);
    try {
      if (guard === undefined)
        return (await this.raw<{ id: number | string }>(this.trx, one.text, one.params, NAMED)).rows;
      const { rows } = await this.raw<GuardedRow>(this.trx, one.text, one.params, NAMED);
      return (rows[0]?.ids ?? []).map((id) => ({ id }));
    } catch (err) {
      if (guard !== undefined && err instanceof Error && err.message.includes(NEWER_REPORT_MARK))
        throw new NewerReportRace(guard);
      throw err;
    }
  }

  /**
   * Whether the batch's closing writes (`close`) are one statement, which needs no transaction of
   * its own on PostgreSQL (ingest.ts): new guests (their insert is checked before anything else
   * is written) and config versions (pruned by a second statement that must see them) take more.
   */
  closesInOneStatement(rest: BatchRest): boolean {
    return (
      this.dialect === 'postgres' &&
      this.newGuests.size === 0 &&
      this.configVersions.length === 0 &&
      rest.events.length <= EVENT_CHUNK
    );
  }

  /**
   * The batch's closing writes: what is deferred, the events (their ids set), the queued facts, the
   * usage samples and the agents' last sight. On PostgreSQL one statement after the new guests and
   * config versions (the events' insert is its main statement, returning their ids).
   */
  async close(rest: BatchRest): Promise<void> {
    if (this.dialect !== 'postgres') {
      await this.flush();
      await this.insertEvents(rest.events);
      for (let i = 0; i < rest.queued.length; i += EVENT_CHUNK)
        await this.trx
          .insertInto('ingest_queue')
          .values(rest.queued.slice(i, i + EVENT_CHUNK))
          .execute();
      await writeGuestSamples(this.trx, this.raw, rest.usage);
      for (const [id, at] of rest.seen) await this.raw(this.trx, SQLITE_AGENT_SEEN, [at, id, at]);
      return;
    }
    await this.insertNew();
    await this.insertConfigVersions();
    // the events' insert goes last: it is the main statement, whose RETURNING gives their ids
    const folded = rest.events.length <= EVENT_CHUNK;
    if (!folded) await this.insertEvents(rest.events);
    const [guestParts, guard] = this.guestParts();
    const parts = [...guestParts, ...restParts(rest, folded)];
    if (parts.length === 0) return;
    const rows = await this.sendFolded(parts, guard);
    if (folded) setIds(rest.events, rows);
  }

  /** the events, one multi-row INSERT per chunk, their ids set */
  private async insertEvents(events: FleetEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += EVENT_CHUNK) {
      const chunk = events.slice(i, i + EVENT_CHUNK);
      const rows = await this.trx
        .insertInto('events')
        .values(chunk.map((e) => ({ ...e, id: undefined, data: e.data ? JSON.stringify(e.data) : null })))
        .returning('id')
        .execute();
      setIds(chunk, rows);
    }
  }
}
