// The library API: lay out a fleet, open an existing layout, apply events, run the tools in-process.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SimState } from './model.ts';
import { nodeByName } from './model.ts';
import { applyEvent, type SimEvent } from './events.ts';
import { buildState, scenarioFromFlags, type Scenario } from './generate.ts';
import {
  detachFifos,
  etcPveFiles,
  feedFifos,
  hangEtcPve,
  renderAll,
  renderDynamic,
  type RenderOptions,
} from './render.ts';
import {
  layoutRootOf,
  nowOf,
  readState,
  resolveStatePath,
  STATE_DIR,
  STATE_FILE,
  withLock,
  writeState,
} from './store.ts';
import { runTool, type ToolOutput } from './tools.ts';

/** dist/pve-tools.mjs next to this package (from src/ and from the dist/ bundles alike). */
export function defaultToolsBundle(): string {
  return fileURLToPath(new URL('../dist/pve-tools.mjs', import.meta.url));
}

export interface NodePaths {
  bin: string;
  etcPve: string;
  proc: string;
  /** the node's /etc/hosts */
  hosts: string;
  /** the node's /var/lib/dpkg/status (rewritten by version-upgrade) */
  dpkgStatus: string;
  /** the node's /var/log/pve/tasks (task index and logs) */
  tasks: string;
  /** the node's /var/lib/pve-manager (replication state) */
  pveLib: string;
  /** /var/lib/pve-manager/pkgupdates of the node */
  pkgUpdates: string;
  /** the node's /var/lib/apt/lists (Release files and Packages indexes) */
  aptLists: string;
}

export interface Simulator {
  readonly root: string;
  readonly statePath: string;
  /** a fresh read of the state file */
  state(): SimState;
  /** apply one event, persist it and re-render the affected files */
  apply(event: SimEvent): SimState;
  /** re-render the time-dependent files (/proc, .rrd): the live-mode tick */
  refresh(): void;
  /** live clock: refresh every `intervalMs` (default 1000) until the returned function is called */
  startTicker(intervalMs?: number): () => void;
  /** paths of a node's folders */
  paths(node: string): NodePaths;
  /** run pvesh/pveversion/pvecm in-process as node `node` */
  run(
    tool: 'pvesh' | 'pveversion' | 'pvecm',
    node: string,
    args: string[],
    opts?: { hangTimeoutMs?: number },
  ): Promise<ToolOutput>;
}

export interface LayoutOptions {
  out: string;
  scenario: Scenario;
  toolsBundle?: string;
  /** real time (ms) the live clock starts from; default Date.now() */
  nowMs?: number;
}

export function createLayout(opts: LayoutOptions): Simulator {
  const root = resolve(opts.out);
  if (existsSync(join(root, STATE_DIR, STATE_FILE))) {
    throw new Error(`'${root}' already holds a layout (remove it first, or open it)`);
  }
  if (existsSync(root) && readdirSync(root).length > 0) throw new Error(`'${root}' exists and is not empty`);
  mkdirSync(root, { recursive: true });
  const nowMs = opts.nowMs ?? Date.now();
  const state = buildState(opts.scenario, nowMs);
  const statePath = join(root, STATE_DIR, STATE_FILE);
  writeState(statePath, state);
  const render: RenderOptions = { toolsBundle: opts.toolsBundle ?? defaultToolsBundle(), statePath };
  renderAll(root, state, nowOf(state, nowMs), render, true);
  return openLayout(root, { toolsBundle: render.toolsBundle });
}

export function layoutFromFlags(out: string, flags: Parameters<typeof scenarioFromFlags>[0]): Simulator {
  return createLayout({ out, scenario: scenarioFromFlags(flags) });
}

export function openLayout(dirOrState: string, opts: { toolsBundle?: string } = {}): Simulator {
  const statePath = resolveStatePath(dirOrState);
  const root = layoutRootOf(statePath);
  readState(statePath); // fail now on a wrong path
  const render: RenderOptions = { toolsBundle: opts.toolsBundle ?? defaultToolsBundle(), statePath };
  return {
    root,
    statePath,
    state: () => readState(statePath),
    apply(event) {
      return withLock(statePath, () => {
        const state = readState(statePath);
        const nowMs = Date.now();
        const effect = applyEvent(state, event, nowOf(state, nowMs));
        writeState(statePath, state);
        const now = nowOf(state, nowMs);
        const released = effect.release ? nodeByName(state, effect.release) : undefined;
        const stuck = released ? detachFifos(root, released) : [];
        renderAll(root, state, now, render, false, new Set(released ? [released.name] : []));
        if (released) feedFifos(stuck, etcPveFiles(state, released, now));
        if (effect.hang) hangEtcPve(root, state, nodeByName(state, effect.hang), now);
        return state;
      });
    },
    refresh() {
      const state = readState(statePath);
      renderDynamic(root, state, nowOf(state, Date.now()));
    },
    startTicker(intervalMs = 1000) {
      const timer = setInterval(() => {
        try {
          const state = readState(statePath);
          if (state.clock.mode === 'live') renderDynamic(root, state, nowOf(state, Date.now()));
        } catch {
          /* a state being replaced mid-read: next tick */
        }
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
    paths(node) {
      nodeByName(readState(statePath), node);
      const d = join(root, node);
      return {
        bin: join(d, 'bin'),
        etcPve: join(d, 'etc-pve'),
        proc: join(d, 'proc'),
        hosts: join(d, 'etc-hosts'),
        dpkgStatus: join(d, 'var-lib-dpkg-status'),
        tasks: join(d, 'var-log-pve-tasks'),
        pveLib: join(d, 'var-lib-pve-manager'),
        pkgUpdates: join(d, 'pkgupdates'),
        aptLists: join(d, 'var-lib-apt-lists'),
      };
    },
    run(tool, node, args, o = {}) {
      return runTool(tool, node, args, {
        readState: () => readState(statePath),
        nowMs: () => Date.now(),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        ...(o.hangTimeoutMs !== undefined ? { hangTimeoutMs: o.hangTimeoutMs } : {}),
      });
    },
  };
}
