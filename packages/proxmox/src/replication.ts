/**
 * Storage replication (pvesr): the jobs of `/etc/pve/replication.cfg` joined with the node-local
 * state `/var/lib/pve-manager/pve-replication-state.json`, in the shape of GET
 * /nodes/{node}/replication. pve-guest-common `ReplicationConfig.pm`, `ReplicationState.pm`,
 * pve-manager `API2/Replication.pm` (pve-reference ops/04-replication.md).
 */
import { parseSectionConfig } from './section-config.ts';
import { toInt, toNumber } from './scalars.ts';
import type { Parsed } from './types.ts';

export interface ReplicationJob {
  /** `<guest>-<jobnum>` */
  id: string;
  guest: number;
  target: string;
  enabled: boolean;
  schedule: string;
  /** epoch seconds of the last successful sync; 0 = never */
  lastSync: number;
  lastTry?: number;
  failCount: number;
  error?: string;
  durationS?: number;
}

export interface ReplicationCfgJob {
  id: string;
  guest: number;
  target: string;
  disable: boolean;
  schedule: string;
}

export function parseReplicationCfg(text: string): ReplicationCfgJob[] {
  const out: ReplicationCfgJob[] = [];
  for (const s of parseSectionConfig(text).sections) {
    const m = /^(\d+)-(\d+)$/.exec(s.id);
    if (s.type !== 'local' || !m || s.props.target === undefined) continue;
    out.push({
      id: s.id,
      guest: Number(m[1]),
      target: s.props.target,
      disable: s.props.disable === '1',
      // ReplicationConfig.pm: the default schedule is */15
      schedule: s.props.schedule ?? '*/15',
    });
  }
  return out;
}

/**
 * The state file. ReplicationState.pm reads missing or empty content as `{}`; real hosts have been
 * seen with a 0-byte file or two NUL bytes after a crash, which pvesr itself rejects every minute
 * ("invalid json data") — that is a warning here, and the jobs show with no state.
 */
export function parseReplicationState(
  text: string,
): Parsed<Record<string, Record<string, Record<string, unknown>>>> {
  const t = text.replace(/\0/g, '').trim();
  if (t === '') return { data: {}, warnings: [] };
  try {
    const v: unknown = JSON.parse(t);
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      return { data: v as Record<string, Record<string, Record<string, unknown>>>, warnings: [] };
  } catch {
    /* below */
  }
  return { data: {}, warnings: [`pve-replication-state.json: invalid json data (${t.slice(0, 40)})`] };
}

function withState(job: ReplicationJob, st: Record<string, unknown> | undefined): ReplicationJob {
  if (!st) return job;
  job.lastSync = toInt(st.last_sync) ?? 0;
  const lt = toInt(st.last_try);
  if (lt !== undefined) job.lastTry = lt;
  job.failCount = toInt(st.fail_count) ?? 0;
  if (typeof st.error === 'string' && st.error !== '') job.error = st.error;
  const d = toNumber(st.duration);
  if (d !== undefined) job.durationS = d;
  return job;
}

/** The jobs of the guests in `localGuests` (the node's guests), with their state. */
export function replicationJobsFromFiles(
  cfg: readonly ReplicationCfgJob[],
  state: Record<string, Record<string, Record<string, unknown>>>,
  localGuests: ReadonlySet<number>,
): ReplicationJob[] {
  return cfg
    .filter((j) => localGuests.has(j.guest))
    .map((j) =>
      withState(
        {
          id: j.id,
          guest: j.guest,
          target: j.target,
          enabled: !j.disable,
          schedule: j.schedule,
          lastSync: 0,
          failCount: 0,
        },
        state[String(j.guest)]?.[`local/${j.target}`],
      ),
    )
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** GET /nodes/{node}/replication rows → jobs (the config keys plus the state keys, one object). */
export function replicationJobsFromApi(rows: unknown): ReplicationJob[] {
  if (!Array.isArray(rows)) return [];
  const out: ReplicationJob[] = [];
  for (const raw of rows) {
    if (raw === null || typeof raw !== 'object') continue;
    const r = raw as Record<string, unknown>;
    const guest = toInt(r.guest);
    if (typeof r.id !== 'string' || guest === undefined || typeof r.target !== 'string') continue;
    const disable = r.disable === 1 || r.disable === '1' || r.disable === true;
    const job: ReplicationJob = {
      id: r.id,
      guest,
      target: r.target,
      enabled: !disable,
      schedule: typeof r.schedule === 'string' ? r.schedule : '*/15',
      lastSync: 0,
      failCount: 0,
    };
    out.push(withState(job, r));
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
