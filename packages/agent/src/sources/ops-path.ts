/**
 * Operations data for the `pvesh` and `api` sources (issue 15): the same values as the files
 * source (ops-files.ts) from API paths, a few list calls per cycle whatever the guest count:
 *
 * - GET /nodes/{node}/tasks?typefilter=vzdump&source=all (first cycle: a long history; later
 *   cycles: the newest 50, which holds every task finished within an interval), the log of each NEW
 *   vzdump task that needs one (a job or a failure: rare), and /cluster/backup-info/not-backed-up;
 * - GET /cluster/ha/status/manager_status (the manager_status file's content) and, where HA is
 *   configured (a master is named), /cluster/ha/resources: every node reports HA (collect-ops.ts);
 * - GET /nodes/{node}/replication.
 */
import {
  BackupHistory,
  haResourcesFromApi,
  haStatusOf,
  parseVzdumpLog,
  replicationJobsFromApi,
  taskFromApi,
  toInt,
  vzdumpNeedsLog,
  type HaStatus,
  type ReplicationJob,
} from '@nanny/proxmox';
import { asArray, asObject } from './path-reader.ts';
import type { Params } from './types.ts';

type Get = (path: string, params?: Params) => Promise<unknown>;

/** How many tasks the first cycle asks for: about what index + index.1 hold (~2 × 1000 lines). */
const FIRST_LIMIT = 2000;
const NEXT_LIMIT = 50;

/** The path-source ops state of one agent: lives as long as the source. */
export function createPathOps() {
  const history = new BackupHistory();
  let primed = false;

  return {
    async backups(get: Get, node: string) {
      const rows = asArray<unknown>(
        await get(`/nodes/${node}/tasks`, {
          typefilter: 'vzdump',
          source: 'all',
          limit: primed ? NEXT_LIMIT : FIRST_LIMIT,
        }),
        `/nodes/${node}/tasks`,
      );
      for (const row of rows) {
        const t = taskFromApi(row);
        if (!t || t.type !== 'vzdump' || t.endtime === undefined || history.has(t.upid)) continue;
        let log;
        if (vzdumpNeedsLog(t)) {
          const path = `/nodes/${node}/tasks/${encodeURIComponent(t.upid)}/log`;
          const lines = asArray<{ n?: unknown; t?: unknown }>(await get(path, { limit: 100_000 }), path);
          log = parseVzdumpLog(lines.map((l) => (typeof l.t === 'string' ? l.t : '')).join('\n'));
        }
        history.add(t, log);
      }
      primed = true;
      const nb = asArray<{ vmid?: unknown }>(
        await get('/cluster/backup-info/not-backed-up'),
        '/cluster/backup-info/not-backed-up',
      );
      const notBackedUp = new Set<number>();
      for (const g of nb) {
        const v = toInt(g?.vmid);
        if (v !== undefined) notBackedUp.add(v);
      }
      return { history, notBackedUp };
    },

    /** The HA status; `undefined` when HA was never configured (no master named: resources not read). */
    async ha(get: Get): Promise<HaStatus | undefined> {
      const r = asObject<{ manager_status?: unknown }>(
        await get('/cluster/ha/status/manager_status'),
        '/cluster/ha/status/manager_status',
      );
      const s = haStatusOf(r.manager_status, new Map());
      if (s.masterNode === undefined) return undefined;
      return haStatusOf(r.manager_status, haResourcesFromApi(await get('/cluster/ha/resources')));
    },

    async replication(get: Get, node: string): Promise<ReplicationJob[]> {
      return replicationJobsFromApi(
        asArray<unknown>(await get(`/nodes/${node}/replication`), `/nodes/${node}/replication`),
      );
    },
  };
}
