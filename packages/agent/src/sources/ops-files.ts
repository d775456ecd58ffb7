/**
 * Operations data for the `files` source (issue 15), with no process in steady state:
 *
 * - backups: the node's task index `index` (+ `index.1` after a rotation) read INCREMENTALLY — the
 *   byte offset and inode of the last read are kept across cycles, so a cycle reads only the lines
 *   appended since — plus `active` (≤ 25 lines, finished tasks not yet copied to `index`), and the
 *   log of each new vzdump task that needs one (a job, or a failure). /var/log is a plain
 *   filesystem, read with fs. Coverage from `jobs.cfg`, `vzdump.cron` and `user.cfg` (pmxcfs).
 * - HA: `ha/manager_status` and `ha/resources.cfg` (pmxcfs).
 * - replication: `replication.cfg` (pmxcfs) and `pve-replication-state.json` (node-local).
 *
 * pve-common rotates `index` to `index.1` once it passes 50 000 bytes (RESTEnvironment.pm), so a
 * changed inode means: finish the old file (now `index.1`) from the remembered offset, then read
 * the new `index` from 0.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BackupHistory,
  haStatusOf,
  notBackedUp,
  parseActiveTasks,
  parseBackupJobsCfg,
  parseHaResourcesCfg,
  parsePools,
  parseReplicationCfg,
  parseReplicationState,
  parseTaskIndex,
  parseVzdumpCron,
  parseVzdumpLog,
  replicationJobsFromFiles,
  taskLogPath,
  vzdumpNeedsLog,
  type GuestRef,
  type HaStatus,
  type ReplicationJob,
  type TaskEntry,
} from '@nanny/proxmox';

/** Reads /etc/pve files through the pmxcfs helper; a missing file reads as ''. */
export type PveRead = (rel: string[]) => Promise<string[]>;

export interface FilesOpsOptions {
  tasksRoot: string;
  pveLibRoot: string;
  warn?: (msg: string) => void;
}

async function readFrom(path: string, offset: number): Promise<{ text: string; size: number; ino: number }> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    const len = Math.max(0, st.size - offset);
    const buf = Buffer.alloc(len);
    if (len > 0) await fh.read(buf, 0, len, offset);
    return { text: buf.toString('utf8'), size: st.size, ino: st.ino };
  } finally {
    await fh.close();
  }
}

const missing = (e: unknown): boolean => (e as { code?: string }).code === 'ENOENT';

/** The files-source ops state of one agent: lives as long as the source (the daemon). */
export function createFilesOps(opts: FilesOpsOptions) {
  const history = new BackupHistory();
  let pos: { ino: number; offset: number } | undefined;

  /** Whole lines appended to index since the last call (after a rotation: the rest of index.1 first). */
  async function newIndexText(): Promise<string> {
    const idx = join(opts.tasksRoot, 'index');
    let st;
    try {
      st = await stat(idx);
    } catch (e) {
      if (missing(e)) return '';
      throw e;
    }
    let text = '';
    let from = 0;
    if (pos && pos.ino === st.ino && st.size >= pos.offset) from = pos.offset;
    else {
      // first read, or rotated: index.1 is the old index (read from the offset), or all of it first time
      try {
        const old = await readFrom(
          join(opts.tasksRoot, 'index.1'),
          pos && pos.ino !== st.ino ? pos.offset : 0,
        );
        if (!pos || old.ino === pos.ino) text += old.text.slice(0, old.text.lastIndexOf('\n') + 1);
      } catch (e) {
        if (!missing(e)) throw e;
      }
    }
    const cur = await readFrom(idx, from);
    const whole = cur.text.lastIndexOf('\n') + 1;
    text += cur.text.slice(0, whole);
    pos = { ino: cur.ino, offset: from + Buffer.byteLength(cur.text.slice(0, whole)) };
    return text;
  }

  async function addTask(t: TaskEntry): Promise<void> {
    if (t.type !== 'vzdump' || history.has(t.upid) || t.endtime === undefined) return;
    let log;
    const rel = vzdumpNeedsLog(t) ? taskLogPath(t.upid) : undefined;
    if (rel !== undefined) {
      try {
        log = parseVzdumpLog(await readFile(join(opts.tasksRoot, rel), 'utf8'));
      } catch (e) {
        opts.warn?.(`task log ${rel}: ${(e as Error).message}`);
      }
    }
    history.add(t, log);
  }

  return {
    async backups(
      read: PveRead,
      guests: GuestRef[],
    ): Promise<{ history: BackupHistory; notBackedUp: Set<number> }> {
      const [jobsCfg, cron, userCfg] = await read(['jobs.cfg', 'vzdump.cron', 'user.cfg']);
      const index = parseTaskIndex(await newIndexText());
      for (const w of index.warnings) opts.warn?.(w);
      let active: TaskEntry[] = [];
      try {
        active = parseActiveTasks(await readFile(join(opts.tasksRoot, 'active'), 'utf8')).data;
      } catch (e) {
        if (!missing(e)) throw e;
      }
      for (const t of [...index.data, ...active]) await addTask(t);
      const jobs = [...parseBackupJobsCfg(jobsCfg!), ...parseVzdumpCron(cron!)];
      const nb = notBackedUp(guests, jobs, parsePools(userCfg!));
      return { history, notBackedUp: new Set(nb.map((g) => g.vmid)) };
    },

    async ha(read: PveRead): Promise<HaStatus> {
      const [ms, res] = await read(['ha/manager_status', 'ha/resources.cfg']);
      let status: unknown = {};
      if (ms!.trim() !== '') {
        try {
          status = JSON.parse(ms!);
        } catch {
          opts.warn?.('ha/manager_status: not JSON');
        }
      }
      return haStatusOf(status, parseHaResourcesCfg(res!));
    },

    async replication(read: PveRead, guests: GuestRef[]): Promise<ReplicationJob[]> {
      const [cfg] = await read(['replication.cfg']);
      let text = '';
      try {
        text = await readFile(join(opts.pveLibRoot, 'pve-replication-state.json'), 'utf8');
      } catch (e) {
        if (!missing(e)) throw e;
      }
      const st = parseReplicationState(text);
      for (const w of st.warnings) opts.warn?.(w);
      return replicationJobsFromFiles(parseReplicationCfg(cfg!), st.data, new Set(guests.map((g) => g.vmid)));
    },
  };
}
