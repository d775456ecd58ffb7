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
 * The /etc/pve helper's protocol, the same for both implementations below. Requests, one per line:
 *
 * - `R <id> <path>`: read the file now;
 * - `W <id> <every-ms> <max-ms> <path>`: answer when the file's content differs from what this
 *   helper last answered for that path, looking every `every-ms`; after `max-ms` answer anyway
 *   (the content as it is: proof the helper and pmxcfs still answer). At once when the path was
 *   never answered before.
 *
 * Answers: a header `<id> <errno> <length> <path>\n`, then `length` raw bytes (errno 0: the whole
 * content, read to EOF ignoring st_size, since pmxcfs rebuilds the dot-files per read and uses
 * direct_io). Answers go out as each read finishes, whatever their order, so what was read before a
 * hang still arrives, and a cycle's reads are served while a `W` waits.
 *
 * `W` is how the daemon's watch sleeps: the helper polls `.members` and the daemon wakes only on a
 * change (or once per `max-ms`) instead of every watch interval — its idle cost (issue 12).
 *
 * Perl first: every Proxmox VE host has it (PVE's own tools are Perl), and an idle `perl -e` holds
 * ~5 MB of memory where a second Node.js process holds ~40 MB — the reader lives as long as the
 * daemon. Node is the fallback where /usr/bin/perl is missing (tests elsewhere, odd hosts).
 */
const PERL_HELPER = String.raw`
$| = 1; binmode STDIN; binmode STDOUT;
my $now = eval { require Time::HiRes; \&Time::HiRes::time } || sub { time };
my (%last, @w); my $in = '';
sub slurp { my ($p) = @_; if (open(my $fh, '<:raw', $p)) { local $/; my $d = <$fh>; my $e = defined $d ? 0 : ($! + 0 || 5); close $fh; return ($e, $d); } return ($! + 0 || 5, undef); }
sub answer { my ($id, $p, $e, $d) = @_; if ($e) { print "$id $e 0 $p\n"; } else { $last{$p} = $d; print "$id 0 " . length($d) . " $p\n", $d; } }
while (1) {
  my $t; for (@w) { $t = $_->{at} if !defined $t || $_->{at} < $t; } if (defined $t) { $t -= $now->(); $t = 0 if $t < 0; }
  my $rin = ''; vec($rin, 0, 1) = 1;
  if (select(my $rout = $rin, undef, undef, $t) > 0) {
    my $r = sysread(STDIN, $in, 65536, length $in);
    last if !$r;
    while ($in =~ s/^([^\n]*)\n//) {
      my $l = $1;
      if ($l =~ /^R (\d+) (.*)$/s) { answer($1, $2, slurp($2)); }
      elsif ($l =~ /^W (\d+) (\d+) (\d+) (.*)$/s) { my $n = $now->(); push @w, { id => $1, every => $2 / 1000, until => $n + $3 / 1000, p => $4, at => $n }; }
    }
  }
  my $n = $now->(); my @keep;
  for my $x (@w) {
    if ($x->{at} > $n) { push @keep, $x; next; }
    my ($e, $d) = slurp($x->{p});
    if ($e || !defined $last{$x->{p}} || $d ne $last{$x->{p}} || $n >= $x->{until}) { answer($x->{id}, $x->{p}, $e, $d); }
    else { $x->{at} = $n + $x->{every}; push @keep, $x; }
  }
  @w = @keep;
}
`;
const NODE_HELPER = String.raw`
const fs = require('fs');
const nap = new Int32Array(new SharedArrayBuffer(4));
const put = (b) => { let o = 0; while (o < b.length) { try { o += fs.writeSync(1, b, o); } catch (e) { if (e.code !== 'EAGAIN') throw e; Atomics.wait(nap, 0, 0, 1); } } };
const chunk = Buffer.allocUnsafe(1 << 20);
const slurp = (p) => { try { const fd = fs.openSync(p, 'r'); try { const parts = []; let n; while ((n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0) parts.push(Buffer.from(chunk.subarray(0, n))); return [0, Buffer.concat(parts)]; } finally { fs.closeSync(fd); } } catch (x) { return [-x.errno || 5, null]; } };
const last = new Map();
const answer = (id, p, e, d) => { if (!e) last.set(p, d); put(Buffer.concat([Buffer.from(id + ' ' + e + ' ' + (e ? 0 : d.length) + ' ' + p + '\n'), e ? Buffer.alloc(0) : d])); };
const watch = (id, every, until, p) => { const [e, d] = slurp(p); const prev = last.get(p); if (e || !prev || !prev.equals(d) || Date.now() >= until) answer(id, p, e, d); else setTimeout(() => watch(id, every, until, p), every); };
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (s) => {
  buf += s;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const l = buf.slice(0, i); buf = buf.slice(i + 1);
    let m = /^R (\d+) ([^]*)$/.exec(l);
    if (m) { const [e, d] = slurp(m[2]); answer(m[1], m[2], e, d); continue; }
    m = /^W (\d+) (\d+) (\d+) ([^]*)$/.exec(l);
    if (m) watch(m[1], Number(m[2]), Date.now() + Number(m[3]), m[4]);
  }
});
process.stdin.on('end', () => process.exit(0));
`;

export type PmxcfsHelperKind = 'perl' | 'node';
const PERL = '/usr/bin/perl';

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, n]) => [n, name] as [number, string]),
);

interface Frame {
  id: number;
  errno: number;
  path: string;
  data: Buffer;
}

/** Splits the helper's output into frames; a frame's bytes may arrive in many chunks. */
function frameSplitter(onFrame: (f: Frame) => void) {
  let chunks: Buffer[] = [];
  let have = 0;
  let header: Omit<Frame, 'data'> & { length: number } = { id: 0, errno: 0, path: '', length: -1 };
  const joined = (): Buffer => {
    const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, have);
    chunks = all.length > 0 ? [all] : [];
    return all;
  };
  const take = (n: number): Buffer => {
    const all = joined();
    chunks = all.length > n ? [all.subarray(n)] : [];
    have = all.length - n;
    return all.subarray(0, n);
  };
  return (chunk: Buffer): void => {
    chunks.push(chunk);
    have += chunk.length;
    for (;;) {
      if (header.length < 0) {
        const nl = joined().indexOf(10);
        if (nl < 0) return;
        const line = take(nl + 1).toString('utf8', 0, nl);
        const [id, errno, length] = line.split(' ', 3);
        const at = line.indexOf(' ', line.indexOf(' ', line.indexOf(' ') + 1) + 1);
        header = { id: Number(id), errno: Number(errno), length: Number(length), path: line.slice(at + 1) };
      }
      if (have < header.length) return;
      const data = Buffer.from(take(header.length));
      const { id, errno, path } = header;
      header = { id: 0, errno: 0, path: '', length: -1 };
      onFrame({ id, errno, path, data });
    }
  };
}

export interface PmxcfsSession {
  /** Reads files (absolute paths) in the helper; each promise settles on its own. */
  read(paths: readonly string[]): Promise<string>[];
  /**
   * The file's content once it differs from what the helper last answered for it (looking every
   * `everyMs`), or as it is after `maxWaitMs`; at once when it was never read. The session's
   * deadline covers the wait: give it `maxWaitMs` plus the read deadline.
   */
  changed(path: string, everyMs: number, maxWaitMs: number): Promise<string>;
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
  waiting: Map<number, Waiter>;
  dead: boolean;
}

/**
 * The daemon's /etc/pve reader: ONE helper process kept for the daemon's life and shared by the
 * watch and the cycles, so steady state starts no process at all. Each session has a deadline, and
 * a helper that misses one is abandoned (it may sit in an uninterruptible FUSE read forever) and
 * replaced by a fresh one on the next read — never a new process per read while pmxcfs answers.
 */
export function createPmxcfsReader(opts: SpawnCounter & { helper?: PmxcfsHelperKind } = {}): PmxcfsReader {
  const kind = opts.helper ?? (existsSync(PERL) ? 'perl' : 'node');
  let helper: Helper | undefined;
  let started = 0;
  let closed = false;
  let nextId = 1;

  const kill = (h: Helper, e: Error): void => {
    if (h.dead) return;
    h.dead = true;
    if (helper === h) helper = undefined;
    const waiting = [...h.waiting.values()];
    h.waiting.clear();
    for (const w of waiting) w.reject(e);
    abandon(h.child);
  };

  const start = (): Helper => {
    const [command, script] = kind === 'perl' ? [PERL, PERL_HELPER] : [process.execPath, NODE_HELPER];
    opts.onSpawn?.(command, ['-e', '<pmxcfs-reader>']);
    started++;
    const c = spawn(command, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const h: Helper = { child: c, waiting: new Map(), dead: false };
    let stderr = '';
    c.stdout!.on(
      'data',
      frameSplitter((f) => {
        const w = h.waiting.get(f.id);
        if (!w) return;
        h.waiting.delete(f.id);
        if (f.errno === 0) w.resolve(f.data.toString('utf8'));
        else
          w.reject(
            new AgentError('AGENT_PMXCFS', `${f.path}: ${ERRNO_NAMES.get(f.errno) ?? `errno ${f.errno}`}`),
          );
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
      /** this session's requests still owed: id → its helper */
      const mine = new Map<number, { h: Helper; w: Waiter }>();
      let failed: Error | undefined;
      let timer: NodeJS.Timeout | undefined;
      const fail = (e: Error): void => {
        failed ??= e;
        const owed = [...mine];
        mine.clear();
        for (const [id, { h, w }] of owed) {
          h.waiting.delete(id);
          w.reject(failed);
        }
      };
      /** sends one request line; the promise settles with its answer, the deadline or a failure */
      const request = (line: (id: number) => string, path: string): Promise<string> => {
        if (failed) return Promise.reject(failed);
        if (closed) return Promise.reject(new AgentError('AGENT_PMXCFS', 'reader closed'));
        if (path.includes('\n'))
          return Promise.reject(new AgentError('AGENT_PMXCFS', `not a path: ${JSON.stringify(path)}`));
        helper ??= start();
        const h = helper;
        timer ??= setTimeout(() => {
          const e = new AgentError(
            'AGENT_TIMEOUT',
            `reading /etc/pve took longer than ${timeoutMs} ms (pmxcfs unresponsive?)`,
          );
          // Replace a helper that still owes this session an answer: it is stuck.
          const stuck = new Set([...mine.values()].map((m) => m.h));
          fail(e);
          for (const s of stuck) kill(s, e);
        }, timeoutMs);
        const id = nextId++;
        return new Promise<string>((resolve, reject) => {
          const w: Waiter = {
            resolve: (t) => {
              mine.delete(id);
              resolve(t);
            },
            reject: (e) => {
              mine.delete(id);
              reject(e);
            },
          };
          mine.set(id, { h, w });
          h.waiting.set(id, w);
          h.child.stdin!.write(`${line(id)}\n`);
        });
      };
      return {
        get timedOut() {
          return failed instanceof AgentError && failed.code === 'AGENT_TIMEOUT';
        },
        read: (paths) => paths.map((p) => request((id) => `R ${id} ${p}`, p)),
        changed: (path, everyMs, maxWaitMs) =>
          request(
            (id) =>
              `W ${id} ${Math.max(1, Math.round(everyMs))} ${Math.max(0, Math.round(maxWaitMs))} ${path}`,
            path,
          ),
        close() {
          if (timer) clearTimeout(timer);
          // Answers still owed are dropped when they come; only this session's promises settle now.
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
        // a change wait may be pending: it ends now, not at its session's deadline (a stopping
        // daemon must not linger for a minute)
        const waiting = [...h.waiting.values()];
        h.waiting.clear();
        for (const w of waiting) w.reject(new AgentError('AGENT_PMXCFS', 'reader closed'));
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
    changed: (path, everyMs, maxWaitMs) => s.changed(path, everyMs, maxWaitMs),
    get timedOut() {
      return s.timedOut;
    },
    close() {
      s.close();
      reader.close();
    },
  };
}
