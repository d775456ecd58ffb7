/** The ingest listener seam: called after each committed ingest (see packages/api/README.md). */
import type { PayloadKind } from '@nanny/schema';
import type { FleetEvent } from '../storage/storage.ts';

export interface IngestRecord {
  tenantId: string;
  agentId: string;
  kind: PayloadKind;
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
  afterIngest(record: IngestRecord): void | Promise<void>;
}
