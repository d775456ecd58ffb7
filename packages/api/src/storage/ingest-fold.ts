/**
 * Ingest on PostgreSQL: a group-commit batch's writes folded into ONE statement. Each statement is
 * a round trip with ~50–100 µs of Node CPU and a parse on the server (issue 14); a steady-state
 * batch wrote its guests, their last reports, the queued facts, the usage samples and the agents'
 * last sight with one statement each. Folded, the parts are data-modifying WITH queries of one
 * statement (ingest-batch.ts `close`), one round trip whatever the batch holds.
 */
import type { FleetEvent, QueueRow } from './storage.ts';
import type { GuestSampleTable, GuestStatusChangeTable } from './types.ts';
import type { Insertable } from 'kysely';
import { PG_INSERT_SAMPLES, samplesColumns } from './ingest-usage.ts';

/** SQLite allows 32766 bound parameters: events are inserted 500 rows at a time there */
export const EVENT_CHUNK = 500;

/** what a batch writes after its last job besides the guests' rows (ingest.ts) */
export interface BatchRest {
  events: FleetEvent[];
  queued: QueueRow[];
  usage: GuestSampleTable[];
  /** agent id → when it was last seen */
  seen: ReadonlyMap<string, string>;
}

/** one data-modifying statement of a batch's writes, `?` placeholders */
export interface Part {
  text: string;
  params: unknown[];
  /** it ends in `returning "id"` (the events' insert) */
  returnsIds?: true;
}

/**
 * In the error of a folded statement whose guarded update kept fewer rows than it was given (see
 * `fold`): ingest-batch.ts turns that error into NewerReportRace.
 */
export const NEWER_REPORT_MARK = 'guest rows kept: a newer report was written meanwhile';

/** the result of a folded statement with a guard: the check and the last part's ids */
export interface GuardedRow {
  guard: number;
  ids?: (number | string)[];
}

/**
 * Parts as ONE statement: all but the last as data-modifying WITH queries, the last as the main
 * statement (its RETURNING is the result). PostgreSQL runs every WITH query to completion whether
 * or not it is referenced, and all of them see the rows as they were before the statement: parts
 * must not depend on each other's writes (here each writes a table of its own). The text depends
 * only on which parts are present, a handful of variants, so it is sent as a named statement.
 */
export function fold(parts: readonly Part[], guardRows?: number): Part {
  const last = parts[parts.length - 1]!;
  if (guardRows !== undefined) return guarded(parts, guardRows);
  if (parts.length === 1) return last;
  return {
    text: `with ${parts
      .slice(0, -1)
      .map((p, i) => `w${i} as (${p.text})`)
      .join(', ')} ${last.text}`,
    params: parts.flatMap((p) => p.params),
  };
}

/**
 * The parts as one statement that FAILS, writing nothing, when its first part (the guests'
 * guarded update, RETURNING the ids it kept) returns fewer than `rows` rows: another replica wrote
 * one of these guests with a newer report after this batch read it (ingest-batch.ts). On the
 * PostgreSQL path without a transaction (ingest.ts) a check after the statement would come too late
 * (its other parts, the older report's text and status change among them, are committed with it),
 * so the check is in the statement: a text cast to integer fails at run time, only in the branch
 * taken, and PostgreSQL undoes every part of a failed statement. Every part is a WITH query and the
 * main statement is the check (a scalar subquery, always evaluated), with the last part's ids.
 */
function guarded(parts: readonly Part[], rows: number): Part {
  const last = parts.length - 1;
  const check =
    `(select case when count(*) = ?::integer then 0 else ` +
    `(count(*)::text || ' of ' || ?::text || ' ${NEWER_REPORT_MARK}')::integer end from w0)`;
  return {
    text:
      `with ${parts.map((p, i) => `w${i} as (${p.text})`).join(', ')} ` +
      `select ${check} as "guard"${parts[last]!.returnsIds ? `, array(select "id" from w${last}) as "ids"` : ''}`,
    params: [...parts.flatMap((p) => p.params), rows, String(rows)],
  };
}

const PG_INSERT_STATUS_CHANGES =
  'insert into "guest_status_changes" ("tenant_id", "guest_id", "ts", "from_status", "to_status") ' +
  'select * from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[])';
const PG_INSERT_QUEUE =
  'insert into "ingest_queue" ("topic", "tenant_id", "body") select * from unnest(?::text[], ?::text[], ?::text[])';
// `last_seen_at` only moves forward: a report a stalled replica commits late was received before
// what another replica stored meanwhile (ingest.ts)
const PG_AGENTS_SEEN =
  'update "agents" as a set "last_seen_at" = u."at" from unnest(?::text[], ?::text[]) as u("id", "at") where a."id" = u."id" and (a."last_seen_at" is null or a."last_seen_at" < u."at")';
const EVENT_COLUMNS = [
  'tenant_id',
  'cluster_id',
  'node_id',
  'guest_id',
  'subject',
  'type',
  'message',
  'data',
  'occurred_at',
  'received_at',
] as const satisfies readonly (keyof FleetEvent)[];
// `unnest` yields the rows in array order and the sequence numbers them in that order: the ids come
// back in the events' order (the multi-row VALUES insert it replaces relied on the same)
const PG_INSERT_EVENTS =
  `insert into "events" (${EVENT_COLUMNS.map((c) => `"${c}"`).join(', ')}) ` +
  `select * from unnest(${EVENT_COLUMNS.map(() => '?::text[]').join(', ')}) returning "id"`;

/** status changes in the order the reports implied them (their ids follow it) */
export function statusChangesPart(rows: readonly Insertable<GuestStatusChangeTable>[]): Part {
  return {
    text: PG_INSERT_STATUS_CHANGES,
    params: [
      rows.map((r) => r.tenant_id),
      rows.map((r) => r.guest_id),
      rows.map((r) => r.ts),
      rows.map((r) => r.from_status ?? null),
      rows.map((r) => r.to_status),
    ],
  };
}

/**
 * The queued facts, usage samples, agents' last sight and (when `withEvents`) the events' insert,
 * which comes last: it is the main statement, and its RETURNING gives the events' ids.
 */
export function restParts(rest: BatchRest, withEvents: boolean): Part[] {
  const parts: Part[] = [];
  const q = rest.queued;
  if (q.length > 0)
    parts.push({
      text: PG_INSERT_QUEUE,
      params: [q.map((r) => r.topic), q.map((r) => r.tenant_id), q.map((r) => r.body)],
    });
  if (rest.usage.length > 0) parts.push({ text: PG_INSERT_SAMPLES, params: samplesColumns(rest.usage) });
  if (rest.seen.size > 0)
    parts.push({ text: PG_AGENTS_SEEN, params: [[...rest.seen.keys()], [...rest.seen.values()]] });
  if (withEvents && rest.events.length > 0)
    parts.push({
      returnsIds: true,
      text: PG_INSERT_EVENTS,
      params: EVENT_COLUMNS.map((c) =>
        rest.events.map((e) => (c === 'data' ? (e.data ? JSON.stringify(e.data) : null) : e[c])),
      ),
    });
  return parts;
}

/** the ids an insert returned, in the events' order */
export function setIds(events: FleetEvent[], rows: readonly { id: number | string }[]): void {
  rows.forEach((r, k) => {
    const e = events[k];
    if (e) e.id = Number(r.id);
  });
}
