/**
 * The races a group-commit batch can lose to another replica's batch on the same guests (issue 14).
 * Losing one rolls the batch back (on PostgreSQL's path without a transaction, its one statement
 * fails as a whole); ingest.ts then runs it once more, and the rerun reads the rows as they are now.
 */

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
