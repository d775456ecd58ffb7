/**
 * The ordered list of schema migrations, for SQLite and PostgreSQL alike.
 *
 * To add tables for a module: create `storage/migrations/NNNN_<module>.ts` exporting a `Migration`
 * and append it below. Names sort in application order (Kysely's migrator refuses a list whose
 * applied prefix differs), so pick a number above every existing one. A migration gets the dialect
 * so it can choose column types (`ctx.types.*`) or dialect-only SQL. Never edit an applied migration:
 * add a new one.
 */
import type { Migration } from './types.ts';
import { core0001 } from './0001_core.ts';
import { guestReports0002 } from './0002_guest_reports.ts';
import { guestFilterIndexes0003 } from './0003_guest_filter_indexes.ts';
import { tokenExpiry0004 } from './0004_token_expiry.ts';
import { alerts0100 } from './0100_alerts.ts';
import { nodeSampleOnce0101 } from './0101_node_sample_once.ts';
import { membership0102 } from './0102_membership.ts';
import { agentBinding0120 } from './0120_agent_binding.ts';
import { nodeClaims0130 } from './0130_node_claims.ts';
import { loginFailures0131 } from './0131_login_failures.ts';
import { replicas0200 } from './0200_replicas.ts';
import { opsReports0310 } from './0310_ops_reports.ts';
import { usageHistory0210 } from './0210_usage_history.ts';
import { storagePools0300 } from './0300_storage_pools.ts';
import { liveChanges0400 } from './0400_live_changes.ts';
import { nodeSampleFields0401 } from './0401_node_sample_fields.ts';
import { nodeNetSamples0402 } from './0402_node_net_samples.ts';
import { membershipViewCollected0403 } from './0403_membership_view_collected.ts';
import { clusterReportAt0404 } from './0404_cluster_report_at.ts';
import { nodeStorageReportAt0405 } from './0405_node_storage_report_at.ts';

export type { Migration, MigrationContext } from './types.ts';

export const MIGRATIONS: readonly Migration[] = [
  core0001,
  alerts0100,
  guestReports0002,
  guestFilterIndexes0003,
  nodeSampleOnce0101,
  tokenExpiry0004,
  membership0102,
  agentBinding0120,
  nodeClaims0130,
  loginFailures0131,
  replicas0200,
  opsReports0310,
  usageHistory0210,
  storagePools0300,
  liveChanges0400,
  nodeSampleFields0401,
  nodeNetSamples0402,
  membershipViewCollected0403,
  clusterReportAt0404,
  nodeStorageReportAt0405,
];
