/**
 * The usage-history horizons (issue 14 item 3), declared here and spread into API_SETTINGS
 * (config.ts) so the settings list, `--help` and docs/api-configuration.md stay one list.
 */
import { integer, type Schema } from '@nanny/settings';
import type { HistoryHorizons } from '../storage/history-types.ts';

export const HISTORY_SETTINGS: Schema = [
  {
    key: 'historyRawDays',
    env: 'NANNYAPI_HISTORY_RAW_DAYS',
    flag: 'history-raw-days',
    arg: 'DAYS',
    kind: integer(1, 3650),
    default: '7',
    doc: 'Raw usage samples kept (a node’s every report, about one a minute with heartbeats; a guest’s every report). Deleted only once rolled up into 5-minute buckets',
  },
  {
    key: 'historyFiveMinuteDays',
    env: 'NANNYAPI_HISTORY_5M_DAYS',
    flag: 'history-5m-days',
    arg: 'DAYS',
    kind: integer(1, 3650),
    default: '90',
    doc: '5-minute rollups of node and guest usage (avg/max, min of counters) kept; at least `NANNYAPI_HISTORY_RAW_DAYS`',
  },
  {
    key: 'historyHourlyDays',
    env: 'NANNYAPI_HISTORY_HOURLY_DAYS',
    flag: 'history-hourly-days',
    arg: 'DAYS',
    kind: integer(1, 36500),
    default: '730',
    doc: 'Hourly rollups kept; at least `NANNYAPI_HISTORY_5M_DAYS`. Rollups and their retention run once an hour (checked every 5 minutes), on one replica at a time',
  },
];

/** the horizons from resolved settings; an order that would drop a finer level last is an error */
export function historyHorizons(
  v: Record<string, unknown>,
  from: Record<string, string | undefined>,
  errors: string[],
): HistoryHorizons {
  const h = {
    rawDays: v['historyRawDays'] as number,
    fiveMinuteDays: v['historyFiveMinuteDays'] as number,
    hourlyDays: v['historyHourlyDays'] as number,
  };
  if (h.fiveMinuteDays < h.rawDays)
    errors.push(`${from['historyFiveMinuteDays'] ?? 'settings'}: must be at least NANNYAPI_HISTORY_RAW_DAYS`);
  if (h.hourlyDays < h.fiveMinuteDays)
    errors.push(`${from['historyHourlyDays'] ?? 'settings'}: must be at least NANNYAPI_HISTORY_5M_DAYS`);
  return h;
}
