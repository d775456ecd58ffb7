/**
 * The one module that spawns processes (DESIGN.md §7): commands with a deadline, and the helper
 * process that reads /etc/pve.
 *
 * Why a helper process for /etc/pve: when pmxcfs hangs, a FUSE read blocks uninterruptibly — not
 * even SIGKILL frees it (../shared/pve-reference/PMXCFS.md §9). Done on the main thread it freezes
 * the daemon; done through Node's fs (libuv's 4-thread pool) four such reads freeze every file and
 * DNS operation of the process. A short-lived child that does the reads synchronously costs one spawn
 * per cycle and can simply be abandoned when its deadline passes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { AgentError } from './errors.ts';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface SpawnCounter {
  onSpawn?: (command: string, args: readonly string[]) => void;
}

export interface RunOptions {
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** limit on collected stdout; a runaway command must not eat the node's memory */
  maxBytes?: number;
}

function abandon(child: ChildProcess): void {
  // A child stuck in an uninterruptible FUSE read survives SIGKILL: stop waiting for it and make sure
  // it can neither keep our event loop alive nor write into our memory.
  try {
    child.kill('SIGKILL');
  } catch {
    /* already gone */
  }
  child.stdout?.destroy();
  child.stderr?.destroy();
  child.stdin?.destroy();
  child.unref();
}

/** Runs a command (found on PATH) with a deadline; never rejects for exit codes, only for spawn errors. */
export function runCommand(
  command: string,
  args: readonly string[],
  opts: RunOptions & SpawnCounter,
): Promise<CommandResult> {
  const started = Date.now();
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    opts.onSpawn?.(command, args);
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.env ? { env: opts.env } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let done = false;
    const finish = (r: Omit<CommandResult, 'stdout' | 'stderr' | 'durationMs'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({
        ...r,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8').slice(0, 4096),
        durationMs: Date.now() - started,
      });
    };
    const timer = setTimeout(() => {
      abandon(child);
      finish({ code: null, signal: 'SIGKILL', timedOut: true });
    }, opts.timeoutMs);
    child.stdout!.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > maxBytes) {
        abandon(child);
        finish({ code: null, signal: 'SIGKILL', timedOut: false });
        return;
      }
      out.push(b);
    });
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new AgentError('AGENT_COMMAND', `cannot run ${command}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => finish({ code, signal, timedOut: false }));
  });
}

/**
 * The helper's code, run with `node -e`: reads request lines (JSON arrays of paths) from stdin and
 * answers one JSON line per path, `{"p":path,"t":text}` or `{"p":path,"e":code}`, as soon as each
 * read finishes — so whatever was read before a hang still arrives. Files are read whole to EOF with
 * a large buffer, ignoring st_size (pmxcfs rebuilds the dot-files per read and uses direct_io).
 */
const HELPER = String.raw`
const fs = require('fs');
const out = (o) => { const b = Buffer.from(JSON.stringify(o) + '\n'); let off = 0; while (off < b.length) off += fs.writeSync(1, b, off); };
const chunk = Buffer.allocUnsafe(1 << 20);
const readAll = (p) => { const fd = fs.openSync(p, 'r'); try { const parts = []; let n; while ((n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0) parts.push(Buffer.from(chunk.subarray(0, n))); return Buffer.concat(parts).toString('utf8'); } finally { fs.closeSync(fd); } };
const inb = Buffer.alloc(65536); let buf = ''; const nap = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  let n;
  try { n = fs.readSync(0, inb, 0, inb.length, null); } catch (e) { if (e.code === 'EAGAIN') { Atomics.wait(nap, 0, 0, 2); continue; } if (e.code === 'EOF') break; throw e; }
  if (n === 0) break;
  buf += inb.toString('utf8', 0, n);
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    for (const p of JSON.parse(line)) { try { out({ p, t: readAll(p) }); } catch (e) { out({ p, e: e.code || String(e.message) }); } }
  }
}
`;

export interface PmxcfsSession {
  /** Reads files (absolute paths) in the helper; each promise settles on its own. */
  read(paths: readonly string[]): Promise<string>[];
  /** Ends the helper (normal end of a cycle). */
  close(): void;
  /** true once the deadline passed: every later read fails at once */
  readonly timedOut: boolean;
}

/**
 * Starts the /etc/pve helper for one cycle. The session has one deadline for all its reads; when
 * it passes every pending and later read rejects with AGENT_TIMEOUT and the helper is abandoned.
 */
export function openPmxcfsSession(opts: { timeoutMs: number } & SpawnCounter): PmxcfsSession {
  const waiting = new Map<string, Array<{ resolve: (t: string) => void; reject: (e: Error) => void }>>();
  let child: ChildProcess | undefined;
  let failed: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  let buf = '';

  const failAll = (e: Error): void => {
    failed ??= e;
    for (const list of waiting.values()) for (const w of list) w.reject(failed);
    waiting.clear();
    if (timer) clearTimeout(timer);
    if (child) abandon(child);
  };

  const start = (): ChildProcess => {
    opts.onSpawn?.(process.execPath, ['-e', '<pmxcfs-reader>']);
    const c = spawn(process.execPath, ['-e', HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    c.stdout!.setEncoding('utf8');
    c.stdout!.on('data', (s: string) => {
      buf += s;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let rec: { p: string; t?: string; e?: string };
        try {
          rec = JSON.parse(line) as typeof rec;
        } catch {
          continue;
        }
        const list = waiting.get(rec.p);
        const w = list?.shift();
        if (list && list.length === 0) waiting.delete(rec.p);
        if (!w) continue;
        if (rec.t !== undefined) w.resolve(rec.t);
        else w.reject(new AgentError('AGENT_PMXCFS', `${rec.p}: ${rec.e ?? 'read failed'}`));
      }
    });
    c.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
    });
    c.stdin!.on('error', () => undefined);
    c.on('error', (e) =>
      failAll(new AgentError('AGENT_PMXCFS', `pmxcfs reader: ${e.message}`, { cause: e })),
    );
    c.on('close', (code) => {
      if (waiting.size > 0)
        failAll(
          new AgentError('AGENT_PMXCFS', `pmxcfs reader exited (${code}): ${stderr.trim().slice(0, 500)}`),
        );
      if (timer) clearTimeout(timer);
    });
    timer = setTimeout(
      () =>
        failAll(
          new AgentError(
            'AGENT_TIMEOUT',
            `reading /etc/pve took longer than ${opts.timeoutMs} ms (pmxcfs unresponsive?)`,
          ),
        ),
      opts.timeoutMs,
    );
    return c;
  };

  return {
    get timedOut() {
      return failed !== undefined && failed instanceof AgentError && failed.code === 'AGENT_TIMEOUT';
    },
    read(paths) {
      if (failed) return paths.map(() => Promise.reject(failed!));
      child ??= start();
      const promises = paths.map(
        (p) =>
          new Promise<string>((resolve, reject) => {
            const list = waiting.get(p) ?? [];
            list.push({ resolve, reject });
            waiting.set(p, list);
          }),
      );
      child.stdin!.write(JSON.stringify(paths) + '\n');
      return promises;
    },
    close() {
      if (!child) return;
      if (waiting.size > 0) {
        failAll(new AgentError('AGENT_PMXCFS', 'pmxcfs reader closed with reads pending'));
        return;
      }
      child.stdin!.end();
      if (timer) clearTimeout(timer);
      // A healthy helper exits on EOF; a stuck one must not keep the daemon alive.
      child.unref();
      (child.stdout as { unref?: () => void } | null)?.unref?.();
      (child.stderr as { unref?: () => void } | null)?.unref?.();
    },
  };
}

export interface PmxcfsReader {
  /**
   * A view with one deadline for all its reads, like one cycle's helper: when it passes with reads
   * still pending, the helper is abandoned (the next session starts a new one) and every pending
   * and later read of this session rejects with AGENT_TIMEOUT.
   */
  session(timeoutMs: number): PmxcfsSession;
  /** helper processes started so far (1 in steady state) */
  readonly started: number;
  /** ends the helper (daemon shutdown) */
  close(): void;
}

interface Helper {
  child: ChildProcess;
  waiting: Map<string, Array<{ resolve: (t: string) => void; reject: (e: Error) => void }>>;
  dead: boolean;
}

/**
 * The daemon's /etc/pve reader: ONE helper process (the HELPER above) kept for the daemon's life
 * and shared by the watch's checks and the cycles, so steady state starts no process at all. The
 * isolation is the same as the per-cycle helper's: each session has a deadline, and a helper that
 * misses one is abandoned (it may sit in an uninterruptible FUSE read forever) and replaced by a
 * fresh one on the next read — never a new process per read while pmxcfs answers.
 */
export function createPmxcfsReader(opts: SpawnCounter = {}): PmxcfsReader {
  let helper: Helper | undefined;
  let started = 0;
  let closed = false;

  const kill = (h: Helper, e: Error): void => {
    if (h.dead) return;
    h.dead = true;
    if (helper === h) helper = undefined;
    for (const list of h.waiting.values()) for (const w of list) w.reject(e);
    h.waiting.clear();
    abandon(h.child);
  };

  const start = (): Helper => {
    opts.onSpawn?.(process.execPath, ['-e', '<pmxcfs-reader>']);
    started++;
    const c = spawn(process.execPath, ['-e', HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    const h: Helper = { child: c, waiting: new Map(), dead: false };
    let buf = '';
    let stderr = '';
    c.stdout!.setEncoding('utf8');
    c.stdout!.on('data', (s: string) => {
      buf += s;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let rec: { p: string; t?: string; e?: string };
        try {
          rec = JSON.parse(line) as typeof rec;
        } catch {
          continue;
        }
        const list = h.waiting.get(rec.p);
        const w = list?.shift();
        if (list && list.length === 0) h.waiting.delete(rec.p);
        if (!w) continue;
        if (rec.t !== undefined) w.resolve(rec.t);
        else w.reject(new AgentError('AGENT_PMXCFS', `${rec.p}: ${rec.e ?? 'read failed'}`));
      }
    });
    c.stderr!.on('data', (b: Buffer) => {
      if (stderr.length < 4096) stderr += b.toString('utf8');
    });
    c.stdin!.on('error', () => undefined);
    c.on('error', (e) =>
      kill(h, new AgentError('AGENT_PMXCFS', `pmxcfs reader: ${e.message}`, { cause: e })),
    );
    c.on('close', (code) =>
      kill(
        h,
        new AgentError('AGENT_PMXCFS', `pmxcfs reader exited (${code}): ${stderr.trim().slice(0, 500)}`),
      ),
    );
    // Idle between checks: the helper must not keep a stopping daemon alive. Pending reads are
    // covered by their session's timer, which does keep the loop alive.
    c.unref();
    (c.stdout as { unref?: () => void }).unref?.();
    (c.stderr as { unref?: () => void }).unref?.();
    (c.stdin as { unref?: () => void }).unref?.();
    return h;
  };

  return {
    get started() {
      return started;
    },
    session(timeoutMs) {
      const mine = new Set<{ reject: (e: Error) => void }>();
      let failed: Error | undefined;
      let timer: NodeJS.Timeout | undefined;
      let used: Helper | undefined;
      const fail = (e: Error): void => {
        failed ??= e;
        for (const m of mine) m.reject(failed);
        mine.clear();
      };
      return {
        get timedOut() {
          return failed instanceof AgentError && failed.code === 'AGENT_TIMEOUT';
        },
        read(paths) {
          if (failed) return paths.map(() => Promise.reject(failed!));
          if (closed) return paths.map(() => Promise.reject(new AgentError('AGENT_PMXCFS', 'reader closed')));
          helper ??= start();
          const h = helper;
          used = h;
          timer ??= setTimeout(() => {
            const e = new AgentError(
              'AGENT_TIMEOUT',
              `reading /etc/pve took longer than ${timeoutMs} ms (pmxcfs unresponsive?)`,
            );
            // Replace the helper only if it still owes this session an answer: it is stuck.
            if (mine.size > 0 && used) kill(used, e);
            fail(e);
          }, timeoutMs);
          const ps = paths.map(
            (p) =>
              new Promise<string>((resolve, reject) => {
                const self = {
                  reject: (e: Error) => reject(e),
                };
                mine.add(self);
                const list = h.waiting.get(p) ?? [];
                list.push({
                  resolve: (t) => {
                    mine.delete(self);
                    resolve(t);
                  },
                  reject: (e) => {
                    mine.delete(self);
                    reject(e);
                  },
                });
                h.waiting.set(p, list);
              }),
          );
          h.child.stdin!.write(JSON.stringify(paths) + '\n');
          return ps;
        },
        close() {
          if (timer) clearTimeout(timer);
          // Answers still owed stay queued in the helper (its replies keep their order); only this
          // session's promises are settled now.
          if (mine.size > 0) fail(new AgentError('AGENT_PMXCFS', 'pmxcfs session closed with reads pending'));
        },
      };
    },
    close() {
      closed = true;
      const h = helper;
      helper = undefined;
      if (h && !h.dead) {
        h.dead = true;
        h.child.stdin!.end();
      }
    },
  };
}
