/**
 * Cleanup registered at start: whatever a test starts is stopped by a `t.after` registered in the
 * same call that starts it, so a failing assertion or a timed-out wait can never leave it running.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseBudgetsMs } from './budgets.ts';
import { within } from './wait.ts';

/** The part of node:test's TestContext the helpers need (also satisfied by a suite's hooks). */
export interface AfterHook {
  after(fn: () => unknown): void;
}

const cleanups = new WeakMap<AfterHook, Array<() => unknown>>();

/**
 * Registers clean-up work for the end of the test, run last-in first-out (node runs `t.after` hooks
 * in registration order): a process stops before the folder it writes to is removed. Every step
 * runs even if an earlier one throws; the first error is rethrown.
 */
export function onCleanup(t: AfterHook, fn: () => unknown): void {
  let list = cleanups.get(t);
  if (!list) {
    const fresh: Array<() => unknown> = [];
    list = fresh;
    cleanups.set(t, fresh);
    t.after(async () => {
      let first: unknown;
      for (const f of fresh.reverse()) {
        try {
          await f();
        } catch (e) {
          first ??= e;
        }
      }
      if (first !== undefined) throw first;
    });
  }
  list.push(fn);
}

/** A temporary folder removed when the test ends. */
export function tempDir(t: AfterHook, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nanny-${prefix}-`));
  onCleanup(t, () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
  return dir;
}

/** Registers `stop` for `resource` at once and hands the resource back: `const s = track(t, await start(), (s) => s.close())`. */
export function track<R>(t: AfterHook, resource: R, stop: (r: R) => unknown): R {
  onCleanup(t, () => stop(resource));
  return resource;
}

// When scripts/run-tests.mjs kills a test file that outlived its limit it sends SIGTERM, and t.after
// hooks do not run then. Children of that file would outlive it, so every child spawned through
// spawnTracked is also killed from a process-wide handler. This set is the one piece of module state
// here, and it has to be: signals and exit are process-wide.
const live = new Set<ChildProcess>();
let guarded = false;

function killAllLive(): void {
  for (const c of live) {
    try {
      if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
        // a detached child leads its own group: kill the group, grandchildren included
        process.kill(-c.pid, 'SIGKILL');
      }
    } catch {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}

function guardProcess(): void {
  if (guarded) return;
  guarded = true;
  process.once('exit', killAllLive);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      killAllLive();
      process.exit(sig === 'SIGTERM' ? 143 : 130);
    });
  }
}

/** Sends SIGTERM to the child's process group, SIGKILL after `graceMs`, and waits for its exit. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      child.kill(sig);
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  try {
    // the grace period plus a short budget for the exit to be seen after SIGKILL
    await within(exited, { what: `process ${child.pid} to exit`, budget: graceMs + baseBudgetsMs.short });
  } finally {
    clearTimeout(timer);
    live.delete(child);
  }
}

/**
 * Spawns a process (in its own process group, so its children stop with it) that is stopped when
 * the test ends, and killed if the test file itself is killed.
 */
export function spawnTracked(
  t: AfterHook,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): ChildProcess {
  guardProcess();
  const child = spawn(command, args, { ...options, detached: true });
  live.add(child);
  child.once('exit', () => live.delete(child));
  onCleanup(t, () => stopChild(child));
  return child;
}
