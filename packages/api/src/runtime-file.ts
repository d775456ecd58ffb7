/**
 * A running `serve` notes which database it opened in a small file under the runtime directory
 * (`$XDG_RUNTIME_DIR/nannyapi`), one per process. A CLI command reads them to warn when it works
 * on another database than the server's — the usual result of a different NANNYAPI_DATA_DIR, which
 * otherwise silently creates a second database and prints a token the server rejects.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiConfig } from './config.ts';

export interface ServerNote {
  pid: number;
  /** databaseLabel() of the server's config */
  database: string;
  url: string;
  started_at: string;
}

/** The database as the user should recognise it: the SQLite path, or the URL without password. */
export function databaseLabel(config: Pick<ApiConfig, 'databaseUrl' | 'sqliteFile'>): string {
  if (config.databaseUrl === undefined) return `SQLite ${config.sqliteFile}`;
  try {
    const u = new URL(config.databaseUrl);
    if (u.password !== '') u.password = '***';
    return `PostgreSQL ${u.toString()}`;
  } catch {
    return 'PostgreSQL (unparsable URL)';
  }
}

/** Writes the note; returns the function that removes it (at shutdown). */
export function noteServer(dir: string, note: ServerNote): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `serve-${note.pid}.json`);
  writeFileSync(file, JSON.stringify(note) + '\n', { mode: 0o600 });
  return () => rmSync(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The notes of servers still running (a killed server leaves its note behind: ignored). */
export function runningServers(dir: string, isAlive: (pid: number) => boolean = alive): ServerNote[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^serve-\d+\.json$/.test(n));
  } catch {
    return [];
  }
  const out: ServerNote[] = [];
  for (const n of names) {
    try {
      const note = JSON.parse(readFileSync(join(dir, n), 'utf8')) as ServerNote;
      if (typeof note.pid === 'number' && typeof note.database === 'string' && isAlive(note.pid))
        out.push(note);
    } catch {
      /* half-written or foreign file: not a server we can vouch for */
    }
  }
  return out;
}
