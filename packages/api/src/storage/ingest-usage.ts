/**
 * Ingest, guest usage history: one `guest_samples` row per guest report (cpu, memory, disk,
 * network counters), written for the whole batch in one multi-row INSERT per chunk on SQLite, in the
 * batch's closing statement on PostgreSQL (ingest-batch.ts). Kept apart
 * from the guest part (ingest-guest.ts) so the per-report path stays as it is.
 */
import type { Db, RawSql } from './sql.ts';
import type { GuestSampleTable } from './types.ts';
import { num } from './ingest-context.ts';

/** 7 columns a row: 500 rows stay far below SQLite's 32766 bound parameters */
const CHUNK = 500;
const COLUMNS = [
  'guest_id',
  'ts',
  'cpu_usage_ratio',
  'mem_used_bytes',
  'disk_used_bytes',
  'net_in_bytes',
  'net_out_bytes',
] as const;

/** the usage a guest report carries, filed at the report's (clamped) collection time */
export function guestUsageRow(
  guestId: string,
  occurred: string,
  p: Record<string, unknown>,
): GuestSampleTable {
  return {
    guest_id: guestId,
    ts: Math.floor(Date.parse(occurred) / 1000),
    cpu_usage_ratio: num(p['cpu_usage_ratio']),
    mem_used_bytes: num(p['mem_used_bytes']),
    disk_used_bytes: num(p['disk_used_bytes']),
    net_in_bytes: num(p['net_in_bytes']),
    net_out_bytes: num(p['net_out_bytes']),
  };
}

const statements = new Map<number, string>();
function insertText(rows: number): string {
  let t = statements.get(rows);
  if (!t) {
    const one = `(${COLUMNS.map(() => '?').join(', ')})`;
    // A replayed report, or two reports of one guest in the same second, is one sample.
    t = `insert into "guest_samples" (${COLUMNS.map((c) => `"${c}"`).join(', ')}) values ${Array.from({ length: rows }, () => one).join(', ')} on conflict do nothing`;
    statements.set(rows, t);
  }
  return t;
}

/**
 * PostgreSQL: the batch's samples in one statement of fixed text (a named statement, sql.ts), the
 * rows as one array per column (`samplesColumns`); ingest-batch.ts folds it into the batch's
 * closing statement.
 */
export const PG_INSERT_SAMPLES =
  `insert into "guest_samples" (${COLUMNS.map((c) => `"${c}"`).join(', ')}) ` +
  'select * from unnest(?::text[], ?::bigint[], ?::double precision[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[]) ' +
  'on conflict do nothing';

export function samplesColumns(rows: readonly GuestSampleTable[]): unknown[][] {
  return COLUMNS.map((c) => rows.map((r) => r[c]));
}

/** SQLite (and any other handle): multi-row INSERTs of at most CHUNK rows */
export async function writeGuestSamples(
  trx: Db,
  raw: RawSql,
  rows: readonly GuestSampleTable[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    await raw(
      trx,
      insertText(chunk.length),
      chunk.flatMap((r) => COLUMNS.map((c) => r[c])),
    );
  }
}
