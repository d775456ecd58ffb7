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
}

/**
 * Parts as ONE statement: all but the last as data-modifying WITH queries, the last as the main
 * statement (its RETURNING is the result). PostgreSQL runs every WITH query to completion whether
 * or not it is referenced, and all of them see the rows as they were before the statement: parts
 * must not depend on each other's writes (here each writes a table of its own). The text depends
 * only on which parts are present, a handful of variants, so it is sent as a named statement.
 */
export function fold(parts: readonly Part[]): Part {
  const last = parts[parts.length - 1]!;
  if (parts.length === 1) return last;
  return {
    text: `with ${parts
      .slice(0, -1)
      .map((p, i) => `w${i} as (${p.text})`)
      .join(', ')} ${last.text}`,
    params: parts.flatMap((p) => p.params),
  };
}

const PG_INSERT_STATUS_CHANGES =
  'insert into "guest_status_changes" ("tenant_id", "guest_id", "ts", "from_status", "to_status") ' +
  'select * from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[])';
const PG_INSERT_QUEUE =
  'insert into "ingest_queue" ("topic", "tenant_id", "body") select * from unnest(?::text[], ?::text[], ?::text[])';
const PG_AGENTS_SEEN =
  'update "agents" as a set "last_seen_at" = u."at" from unnest(?::text[], ?::text[]) as u("id", "at") where a."id" = u."id"';
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
