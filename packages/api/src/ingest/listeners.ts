/** The ingest listener seam: called after each committed ingest (see packages/api/README.md). */
import type { OpsKind, PayloadKind } from '@nanny/schema';
import type { FleetEvent, QueueRow } from '../storage/storage.ts';

export interface IngestRecord {
  tenantId: string;
  agentId: string;
  kind: PayloadKind | OpsKind;
  clusterId: string;
  nodeId?: string;
  guestId?: string;
  /** canonical payload: upstream aliases normalised, validated */
  payload: Record<string, unknown>;
  /** ISO-8601, when the API received the report */
  receivedAt: string;
  /** what ingest computed beyond the report (storage: days_until_full per storage) */
  derived?: Record<string, unknown>;
  /** the domain events this report caused (already stored, with ids) */
  events: FleetEvent[];
}

export interface IngestListener {
  name: string;
  /** Runs after commit, in ingest order, off the request path. A throw is logged, never answered. */
  afterIngest?(record: IngestRecord): void | Promise<void>;
  /**
   * Rows for the durable ingest queue, written in the report's own transaction (pure, fast: it runs
   * inside it). What must not be lost when a process dies after the commit goes here, and is read
   * back by whichever replica does the work (the alert engine's leader).
   */
  queue?(record: IngestRecord): readonly QueueRow[];
}
