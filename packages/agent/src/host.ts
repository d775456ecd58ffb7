/**
 * The one module that spawns processes (DESIGN.md §7): commands with a deadline, and the helper
 * process that reads /etc/pve.
 *
 * Why a helper process for /etc/pve: when pmxcfs hangs, a FUSE read blocks uninterruptibly — not
 * even SIGKILL frees it (../shared/pve-reference/PMXCFS.md §9). Done on the main thread it freezes
 * the daemon; done through Node's fs (libuv's 4-thread pool) four such reads freeze every file and
 * DNS operation of the process. A child that does the reads synchronously can simply be abandoned
 * when its deadline passes; the daemon keeps one for its whole life.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
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
 * The /etc/pve helper's protocol, the same for both implementations below: one absolute path per
 * request line; per path, in request order, a header `<errno> <length> <path>\n` and then `length`
 * raw bytes (errno 0: the file's whole content, read to EOF ignoring st_size, since pmxcfs rebuilds
 * the dot-files per read and uses direct_io). Answers stream out as each read finishes, so what was
 * read before a hang still arrives.
 *
 * Perl first: every Proxmox VE host has it (PVE's own tools are Perl), and an idle `perl -e` holds
 * ~5 MB of memory where a second Node.js process holds ~40 MB — the reader lives as long as the
 * daemon. Node is the fallback where /usr/bin/perl is missing (tests elsewhere, odd hosts).
 */
const PERL_HELPER = String.raw`
$| = 1; binmode STDIN; binmode STDOUT;
while (defined(my $p = <STDIN>)) {
  chomp $p;
  my ($d, $e) = (undef, 0);
  if (open(my $fh, '<:raw', $p)) { local $/; $d = <$fh>; $e = defined $d ? 0 : ($! + 0 || 5); close $fh; }
  else { $e = $! + 0 || 5; }
  if ($e) { print "$e 0 $p\n"; } else { print "0 " . length($d) . " $p\n", $d; }
}
`;
const NODE_HELPER = String.raw`
const fs = require('fs');
const put = (b) => { let o = 0; while (o < b.length) o += fs.writeSync(1, b, o); };
const chunk = Buffer.allocUnsafe(1 << 20);
const readAll = (p) => { const fd = fs.openSync(p, 'r'); try { const parts = []; let n; while ((n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0) parts.push(Buffer.from(chunk.subarray(0, n))); return Buffer.concat(parts); } finally { fs.closeSync(fd); } };
const inb = Buffer.alloc(65536); let buf = ''; const nap = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  let n;
  try { n = fs.readSync(0, inb, 0, inb.length, null); } catch (e) { if (e.code === 'EAGAIN') { Atomics.wait(nap, 0, 0, 2); continue; } if (e.code === 'EOF') break; throw e; }
  if (n === 0) break;
  buf += inb.toString('utf8', 0, n);
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const p = buf.slice(0, i); buf = buf.slice(i + 1);
    let d, e = 0;
    try { d = readAll(p); } catch (x) { e = -x.errno || 5; }
    put(Buffer.concat([Buffer.from(e + ' ' + (e ? 0 : d.length) + ' ' + p + '\n'), e ? Buffer.alloc(0) : d]));
  }
}
`;

export type PmxcfsHelperKind = 'perl' | 'node';
const PERL = '/usr/bin/perl';

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, n]) => [n, name] as [number, string]),
);

/** Splits the helper's output into frames; a frame's bytes may arrive in many chunks. */
function frameSplitter(onFrame: (errno: number, path: string, data: Buffer) => void) {
  let chunks: Buffer[] = [];
  let have = 0;
  let header: { errno: number; length: number; path: string } | undefined;
  const take = (n: number): Buffer => {
    const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, have);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    chunks = rest.length > 0 ? [rest] : [];
    have = rest.length;
    return out;
  };
  return (chunk: Buffer): void => {
    chunks.push(chunk);
    have += chunk.length;
    for (;;) {
      if (!header) {
        // the header is short: look for its end in what has arrived
        const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, have);
        chunks = all.length > 0 ? [all] : [];
        const nl = all.indexOf(10);
        if (nl < 0) return;
        const line = take(nl + 1).toString('utf8', 0, nl);
        const [errno, length] = line.split(' ', 2);
        header = {
          errno: Number(errno),
          length: Number(length),
          path: line.slice(line.indexOf(' ', line.indexOf(' ') + 1) + 1),
        };
      }
      if (have < header.length) return;
      const data = Buffer.from(take(header.length));
      const h = header;
      header = undefined;
      onFrame(h.errno, h.path, data);
    }
  };
}

export interface PmxcfsSession {
  /** Reads files (absolute paths) in the helper; each promise settles on its own. */
  read(paths: readonly string[]): Promise<string>[];
  /** Ends this session (a one-cycle session also ends its helper). */
  close(): void;
  /** true once the deadline passed: every later read fails at once */
  readonly timedOut: boolean;
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

interface Waiter {
  resolve: (t: string) => void;
  reject: (e: Error) => void;
}

interface Helper {
  child: ChildProcess;
  /** answers come in request order: one waiter per requested path */
  waiting: Waiter[];
  dead: boolean;
}

/**
 * The daemon's /etc/pve reader: ONE helper process kept for the daemon's life and shared by the
 * watch's checks and the cycles, so steady state starts no process at all. Each session has a
 * deadline, and a helper that misses one is abandoned (it may sit in an uninterruptible FUSE read
 * forever) and replaced by a fresh one on the next read — never a new process per read while
 * pmxcfs answers.
 */
export function createPmxcfsReader(opts: SpawnCounter & { helper?: PmxcfsHelperKind } = {}): PmxcfsReader {
  const kind = opts.helper ?? (existsSync(PERL) ? 'perl' : 'node');
  let helper: Helper | undefined;
  let started = 0;
  let closed = false;

  const kill = (h: Helper, e: Error): void => {
    if (h.dead) return;
    h.dead = true;
    if (helper === h) helper = undefined;
    for (const w of h.waiting.splice(0)) w.reject(e);
    abandon(h.child);
  };

  const start = (): Helper => {
    const [command, script] = kind === 'perl' ? [PERL, PERL_HELPER] : [process.execPath, NODE_HELPER];
    opts.onSpawn?.(command, ['-e', '<pmxcfs-reader>']);
    started++;
    const c = spawn(command, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const h: Helper = { child: c, waiting: [], dead: false };
    let stderr = '';
    c.stdout!.on(
      'data',
      frameSplitter((errno, path, data) => {
        const w = h.waiting.shift();
        if (!w) return;
        if (errno === 0) w.resolve(data.toString('utf8'));
        else
          w.reject(new AgentError('AGENT_PMXCFS', `${path}: ${ERRNO_NAMES.get(errno) ?? `errno ${errno}`}`));
      }),
    );
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
      const mine = new Set<Waiter>();
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
          const bad = paths.find((p) => p.includes('\n'));
          if (bad !== undefined)
            return paths.map(() =>
              Promise.reject(new AgentError('AGENT_PMXCFS', `not a path: ${JSON.stringify(bad)}`)),
            );
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
            () =>
              new Promise<string>((resolve, reject) => {
                const self: Waiter = { resolve, reject };
                mine.add(self);
                h.waiting.push({
                  resolve: (t) => {
                    if (mine.delete(self)) resolve(t);
                  },
                  reject: (e) => {
                    if (mine.delete(self)) reject(e);
                  },
                });
              }),
          );
          h.child.stdin!.write(paths.map((p) => `${p}\n`).join(''));
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

/**
 * One cycle's /etc/pve reads (the one-shot `nannyagent once`, and sources used without a daemon):
 * a reader of its own whose helper ends with the session.
 */
export function openPmxcfsSession(
  opts: { timeoutMs: number; helper?: PmxcfsHelperKind } & SpawnCounter,
): PmxcfsSession {
  const reader = createPmxcfsReader(opts);
  const s = reader.session(opts.timeoutMs);
  return {
    read: (paths) => s.read(paths),
    get timedOut() {
      return s.timedOut;
    },
    close() {
      s.close();
      reader.close();
    },
  };
}
