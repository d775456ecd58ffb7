/**
 * Proxmox tasks: the UPID, the node's task index (`/var/log/pve/tasks/index`, `active`), task
 * status strings and the lines of a vzdump task log. Formats from pve-common `PVE/UPID.pm`,
 * `PVE/RESTEnvironment.pm`, `PVE/INotify.pm` and pve-manager `PVE/VZDump.pm`, `PVE/API2/Tasks.pm`
 * (pve-reference ops/01-tasks.md).
 */
import { parseSizeToBytes } from './property-string.ts';
import { toInt } from './scalars.ts';
import type { Parsed } from './types.ts';

export interface Upid {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  /** epoch seconds */
  starttime: number;
  type: string;
  /** vmid for guest tasks, '' for jobs and node tasks */
  id: string;
  user: string;
}

// `UPID:node:pid:pstart:starttime:type:id:user:` — pstart has 9 hex digits after ~497 days of
// uptime (pve-common "fix upid parser for long uptimes"); `id` may be empty or hold '@'.
const UPID_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

export function parseUpid(upid: string): Upid | undefined {
  const m = UPID_RE.exec(upid);
  if (!m) return undefined;
  return {
    upid,
    node: m[1]!,
    pid: parseInt(m[3]!, 16),
    pstart: parseInt(m[4]!, 16),
    starttime: parseInt(m[5]!, 16),
    type: m[6]!,
    id: m[7]!,
    user: m[8]!,
  };
}

/** One finished (or, from `active`, running) task. */
export interface TaskEntry extends Upid {
  /** epoch seconds; absent while running */
  endtime?: number;
  /** `OK`, `WARNINGS: n`, an error text, `unexpected status`, or `RUNNING` */
  status?: string;
}

/**
 * Lines of `index`: `<UPID> <ENDTIME %08X> <STATUS>` (status may hold spaces). The API's reader
 * regex (Tasks.pm) makes endtime and status optional; so does this one. Lines that are not a
 * valid UPID are counted as warnings, not fatal: the file is appended by many processes.
 */
export function parseTaskIndex(text: string): Parsed<TaskEntry[]> {
  const data: TaskEntry[] = [];
  const warnings: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^(\S+)(\s([0-9A-Za-z]{8})(\s(\S.*))?)?$/.exec(line);
    const u = m ? parseUpid(m[1]!) : undefined;
    if (!m || !u) {
      warnings.push(`task index: not a task line: ${line.slice(0, 120)}`);
      continue;
    }
    const e: TaskEntry = { ...u };
    if (m[3] !== undefined) e.endtime = parseInt(m[3], 16);
    if (m[5] !== undefined) e.status = m[5];
    data.push(e);
  }
  return { data, warnings };
}

/**
 * Lines of `active`: `<UPID> <saved 0|1>[ <ENDTIME> <STATUS>]` (INotify.pm read_active_workers).
 * An entry without endtime is running; `saved=1` means it is already in `index`.
 */
export function parseActiveTasks(text: string): Parsed<(TaskEntry & { saved: boolean })[]> {
  const data: (TaskEntry & { saved: boolean })[] = [];
  const warnings: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^(\S+)\s(0|1)(\s([0-9A-Za-z]{8})(\s(\s*\S.*))?)?$/.exec(line);
    const u = m ? parseUpid(m[1]!) : undefined;
    if (!m || !u) {
      warnings.push(`active tasks: not a task line: ${line.slice(0, 120)}`);
      continue;
    }
    const e: TaskEntry & { saved: boolean } = { ...u, saved: m[2] === '1' };
    if (m[4] !== undefined) e.endtime = parseInt(m[4], 16);
    if (m[6] !== undefined) e.status = m[6].trim();
    else if (m[4] === undefined) e.status = 'RUNNING';
    data.push(e);
  }
  return { data, warnings };
}

/** One entry of GET /nodes/{node}/tasks as a TaskEntry (numbers may be strings on old releases). */
export function taskFromApi(raw: unknown): TaskEntry | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.upid !== 'string') return undefined;
  const u = parseUpid(r.upid);
  if (!u) return undefined;
  const e: TaskEntry = { ...u };
  const end = toInt(r.endtime);
  if (end !== undefined) e.endtime = end;
  if (typeof r.status === 'string') e.status = r.status;
  return e;
}

export type TaskStatusClass = 'ok' | 'warning' | 'error' | 'unknown' | 'running';

/**
 * PVE's own classification (pve-common normalize_status_type): `OK` ok, `WARNINGS: n` warning,
 * `unexpected status` or none unknown, anything else is an error TEXT.
 */
export function taskStatusClass(status: string | undefined): TaskStatusClass {
  if (status === undefined || status === '' || status === 'unexpected status') return 'unknown';
  if (status === 'RUNNING') return 'running';
  if (status === 'OK') return 'ok';
  if (/^WARNINGS: \d+$/.test(status)) return 'warning';
  return 'error';
}

/** Where a task's log lives below the tasks root: `<last hex digit of starttime>/<UPID>`. */
export function taskLogPath(upid: string): string | undefined {
  const m = /^UPID:[^:]+:[^:]+:[^:]+:([0-9A-Fa-f]{8}):/.exec(upid);
  if (!m) return undefined;
  return `${m[1]!.slice(-1).toUpperCase()}/${upid}`;
}

/** One guest's outcome inside a vzdump task. */
export interface VzdumpGuestResult {
  vmid: number;
  ok: boolean;
  /** the reason after `failed - ` */
  error?: string;
  /** `archive file size: …` (file storages) or `transferred …` (PBS) */
  sizeBytes?: number;
}

export interface VzdumpLog {
  /** `--storage X` of the `starting new backup job` line */
  storage?: string;
  guests: VzdumpGuestResult[];
  /** the final `TASK …` line as a status string (pve-common read_status) */
  status?: string;
}

/**
 * The lines of a vzdump task log that matter (PVE/VZDump.pm): `Starting Backup of VM <vmid>`,
 * `Finished Backup of VM <vmid>`, `ERROR: Backup of VM <vmid> failed - <reason>`, the archive size
 * and the job's target storage. Lines may carry a `YYYY-MM-DD HH:MM:SS ` prefix (per-guest logs).
 */
export function parseVzdumpLog(text: string): VzdumpLog {
  const out: VzdumpLog = { guests: [] };
  const byVmid = new Map<number, VzdumpGuestResult>();
  let current: VzdumpGuestResult | undefined;
  let last = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, '');
    if (line.trim() !== '') last = line;
    let m = /^INFO: starting new backup job: vzdump\b.*?\s--storage\s+(\S+)/.exec(line);
    if (m) {
      out.storage = m[1]!;
      continue;
    }
    m = /^INFO: Starting Backup of VM (\d+)\b/.exec(line);
    if (m) {
      const vmid = Number(m[1]);
      current = { vmid, ok: false };
      byVmid.set(vmid, current);
      continue;
    }
    m = /^INFO: (?:archive file size|transferred):?\s+([\d.]+\s*[KMGTP]?i?B)\b/.exec(line);
    if (m && current) {
      const b = parseSizeToBytes(m[1]!);
      if (b !== undefined) current.sizeBytes = b;
      continue;
    }
    m = /^INFO: Finished Backup of VM (\d+)\b/.exec(line);
    if (m) {
      const r = byVmid.get(Number(m[1])) ?? { vmid: Number(m[1]), ok: true };
      r.ok = true;
      delete r.error;
      byVmid.set(r.vmid, r);
      continue;
    }
    m = /^ERROR: Backup of VM (\d+) failed - (.*)$/.exec(line);
    if (m) {
      const r = byVmid.get(Number(m[1])) ?? { vmid: Number(m[1]), ok: false };
      r.ok = false;
      r.error = m[2]!.trim();
      byVmid.set(r.vmid, r);
    }
  }
  out.guests = [...byVmid.values()];
  const t = /^TASK (OK|WARNINGS: \d+|ERROR: (.*))$/.exec(last);
  if (t) out.status = t[2] !== undefined ? t[2] : t[1]!;
  else if (last !== '') out.status = 'unexpected status';
  return out;
}
