// The state file of a layout (DIR/.sim/state.json): written atomically (temp file + rename) so a
// tool never reads half a state, and mutated under a lock directory so concurrent events from
// several processes do not lose each other's changes.
import { mkdirSync, readFileSync, renameSync, rmdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { errorMessage } from './errors.ts';
import type { SimState } from './model.ts';

export const STATE_DIR = '.sim';
export const STATE_FILE = 'state.json';

/** Accepts the layout directory or the state file itself; returns the state file path. */
export function resolveStatePath(p: string): string {
  const abs = resolve(p);
  if (existsSync(abs) && statSync(abs).isDirectory()) return join(abs, STATE_DIR, STATE_FILE);
  return abs;
}

/** The layout root (the folder holding one sub-folder per node) of a state file. */
export function layoutRootOf(statePath: string): string {
  return dirname(dirname(statePath));
}

export function readState(statePath: string): SimState {
  let text: string;
  try {
    text = readFileSync(statePath, 'utf8');
  } catch (e) {
    throw new Error(
      `cannot read simulator state '${statePath}': ${errorMessage(e)} (lay out first: pve-sim layout --out DIR)`,
    );
  }
  const s = JSON.parse(text) as SimState;
  if (s.format !== 'pve-sim-state/1') throw new Error(`'${statePath}' is not a pve-sim state file`);
  return s;
}

export function writeState(statePath: string, state: SimState): void {
  mkdirSync(dirname(statePath), { recursive: true });
  const tmp = `${statePath}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, statePath);
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Run `fn` holding the layout's lock (a directory: mkdir is atomic). Stale locks (>30 s) are broken. */
export function withLock<T>(statePath: string, fn: () => T, timeoutMs = 15_000): T {
  const lock = join(dirname(statePath), 'lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 30_000) rmdirSync(lock);
      } catch {
        /* raced with the holder: retry */
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the layout lock ${lock}`);
      sleepMs(20);
    }
  }
  try {
    return fn();
  } finally {
    rmdirSync(lock);
  }
}

/** The model's "now" in epoch seconds: constant when frozen, the real time (fractional) when live. */
export function nowOf(state: SimState, realNowMs: number): number {
  return state.clock.mode === 'frozen' ? state.clock.epoch : realNowMs / 1000;
}
