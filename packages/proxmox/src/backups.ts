/**
 * Backups: which guests a backup job covers (what GET /cluster/backup-info/not-backed-up answers,
 * computed from `jobs.cfg`, `vzdump.cron` and the pools of `user.cfg`), and the per-guest history
 * of vzdump tasks (last success, last failure) built from a node's task list. pve-manager
 * `PVE/API2/Cluster/BackupInfo.pm` + pve-guest-common `VZDump/Common.pm` (pve-reference
 * ops/02-backups.md); a job covers a guest whether it is enabled or not, as PVE counts it.
 */
import { parseSectionConfig } from './section-config.ts';
import { taskStatusClass, type TaskEntry, type VzdumpLog } from './tasks.ts';

export interface BackupJob {
  id: string;
  enabled: boolean;
  /** explicit vmids (`vmid 100,101` or the cron line's list) */
  vmids: number[];
  all: boolean;
  exclude: number[];
  pool?: string;
  /** `node` restriction */
  node?: string;
  storage?: string;
  schedule?: string;
}

const idList = (s: string | undefined): number[] =>
  (s ?? '')
    .split(/[,;\s]+/)
    .filter((x) => /^\d+$/.test(x))
    .map(Number);

/** vzdump sections of `/etc/pve/jobs.cfg` (other job types, e.g. `realm-sync`, are skipped). */
export function parseBackupJobsCfg(text: string): BackupJob[] {
  return parseSectionConfig(text)
    .sections.filter((s) => s.type === 'vzdump')
    .map((s) => {
      const p = s.props;
      const j: BackupJob = {
        id: s.id,
        enabled: p.enabled !== '0',
        vmids: idList(p.vmid),
        all: p.all === '1',
        exclude: idList(p.exclude),
      };
      if (p.pool !== undefined) j.pool = p.pool;
      if (p.node !== undefined) j.node = p.node;
      if (p.storage !== undefined) j.storage = p.storage;
      if (p.schedule !== undefined) j.schedule = p.schedule;
      return j;
    });
}

/**
 * Jobs of `/etc/pve/vzdump.cron` (all releases; the only job store before 7.1). The parser regex
 * is pve-guest-common's; a `#` before `vzdump` is a disabled job. Job ids as the API gives them
 * need a SHA-1 of the file, so the line number stands in (`cron:<n>`).
 */
export function parseVzdumpCron(text: string): BackupJob[] {
  const out: BackupJob[] = [];
  let n = 0;
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(\d+)\s+\*\s+\*\s+(\S+)\s+root\s+(\/\S+\/)?(#)?vzdump(\s+(.*))?$/.exec(line);
    if (!m) continue;
    n++;
    const words = (m[7] ?? '').trim().split(/\s+/);
    const opts: Record<string, string> = {};
    const vmids: number[] = [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (w.startsWith('--')) opts[w.slice(2)] = words[++i] ?? '1';
      else vmids.push(...idList(w));
    }
    const j: BackupJob = {
      id: `cron:${n}`,
      enabled: m[5] === undefined,
      vmids,
      all: opts.all === '1',
      exclude: idList(opts.exclude),
      schedule: `${m[3]} ${m[2]}:${m[1]!.padStart(2, '0')}`,
    };
    if (opts.pool !== undefined) j.pool = opts.pool;
    if (opts.node !== undefined) j.node = opts.node;
    if (opts.storage !== undefined) j.storage = opts.storage;
    out.push(j);
  }
  return out;
}

/** Pools of `/etc/pve/user.cfg`: `pool:<id>:<comment>:<vmids>:<storages>:`. */
export function parsePools(userCfg: string): Map<string, Set<number>> {
  const pools = new Map<string, Set<number>>();
  for (const line of userCfg.split('\n')) {
    const f = line.split(':');
    if (f[0] !== 'pool' || f[1] === undefined) continue;
    pools.set(f[1], new Set(idList(f[3])));
  }
  return pools;
}

export interface GuestRef {
  vmid: number;
  type: 'lxc' | 'qemu';
  node: string;
  name?: string;
}

/** Does `job` select `g`? (VZDump::get_included_guests: vmid list, pool, or all minus exclude.) */
export function jobCovers(job: BackupJob, g: GuestRef, pools: Map<string, Set<number>>): boolean {
  if (job.node !== undefined && job.node !== g.node) return false;
  if (job.vmids.includes(g.vmid)) return true;
  if (job.pool !== undefined) return pools.get(job.pool)?.has(g.vmid) ?? false;
  return job.all && !job.exclude.includes(g.vmid);
}

/** The guests no job covers, in the shape of GET /cluster/backup-info/not-backed-up. */
export function notBackedUp(
  guests: readonly GuestRef[],
  jobs: readonly BackupJob[],
  pools: Map<string, Set<number>>,
): { vmid: number; type: 'lxc' | 'qemu'; name?: string }[] {
  return guests
    .filter((g) => !jobs.some((j) => jobCovers(j, g, pools)))
    .map((g) =>
      g.name !== undefined ? { vmid: g.vmid, type: g.type, name: g.name } : { vmid: g.vmid, type: g.type },
    )
    .sort((a, b) => a.vmid - b.vmid);
}

export interface BackupSuccess {
  /** epoch seconds the task ended */
  at: number;
  upid: string;
  sizeBytes?: number;
  storage?: string;
}
export interface BackupFailure {
  at: number;
  upid: string;
  error: string;
}
export interface GuestBackupState {
  vmid: number;
  lastSuccess?: BackupSuccess;
  lastFailure?: BackupFailure;
}
export interface FailedBackupTask {
  upid: string;
  starttime: number;
  endtime?: number;
  status: string;
  /** the vmid of a single-guest task */
  vmid?: number;
}

/** Does a vzdump task need its log read? Only jobs (no vmid) and failures say more there. */
export function vzdumpNeedsLog(t: TaskEntry): boolean {
  const c = taskStatusClass(t.status);
  return c === 'error' || ((c === 'ok' || c === 'warning') && t.id === '');
}

const FAILED_KEEP = 20;

/**
 * The backup history of one node, fed task by task (each finished vzdump task once, in any order):
 * per guest the newest success and the newest failure, and the newest failed tasks. Kept by the
 * agent across cycles, so the task index is read incrementally.
 */
export class BackupHistory {
  readonly guests = new Map<number, GuestBackupState>();
  failed: FailedBackupTask[] = [];
  /** the oldest task start seen: how far back this history reaches */
  since?: number;
  private readonly seen = new Set<string>();

  add(t: TaskEntry, log?: VzdumpLog): void {
    if (t.type !== 'vzdump' || t.endtime === undefined || this.seen.has(t.upid)) return;
    const cls = taskStatusClass(t.status);
    if (cls === 'running') return;
    this.seen.add(t.upid);
    if (this.since === undefined || t.starttime < this.since) this.since = t.starttime;
    const at = t.endtime;
    const single = /^\d+$/.test(t.id) ? Number(t.id) : undefined;
    const results = new Map((log?.guests ?? []).map((g) => [g.vmid, g]));
    if (single !== undefined && !results.has(single))
      results.set(single, { vmid: single, ok: cls === 'ok' || cls === 'warning' });
    for (const r of results.values()) {
      const g = this.guests.get(r.vmid) ?? { vmid: r.vmid };
      this.guests.set(r.vmid, g);
      if (r.ok) {
        if (!g.lastSuccess || g.lastSuccess.at < at) {
          g.lastSuccess = { at, upid: t.upid };
          if (r.sizeBytes !== undefined) g.lastSuccess.sizeBytes = r.sizeBytes;
          if (log?.storage !== undefined) g.lastSuccess.storage = log.storage;
        }
      } else if (!g.lastFailure || g.lastFailure.at < at) {
        g.lastFailure = { at, upid: t.upid, error: r.error ?? t.status ?? 'unknown error' };
      }
    }
    if (cls === 'error' || cls === 'unknown') {
      const f: FailedBackupTask = {
        upid: t.upid,
        starttime: t.starttime,
        status: t.status ?? 'unexpected status',
      };
      f.endtime = at;
      if (single !== undefined) f.vmid = single;
      this.failed.push(f);
      this.failed.sort((a, b) => b.starttime - a.starttime);
      if (this.failed.length > FAILED_KEEP) this.failed.length = FAILED_KEEP;
    }
  }

  has(upid: string): boolean {
    return this.seen.has(upid);
  }
}
