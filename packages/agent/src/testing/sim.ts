/**
 * Test helpers around @nanny/pve-sim: a fresh layout in a temp dir and the environment that points
 * an agent at one simulated node (its bin/ on PATH, its etc-pve/ and proc/ as the roots).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLayout, defaultToolsBundle, scenarioFromFlags, type Simulator } from '@nanny/pve-sim';
import { requires } from '@nanny/testing';
import { INGEST_PATH_PREFIX, OPS_KINDS } from '@nanny/schema';
import { main } from '../cli.ts';

export interface SimFixture {
  sim: Simulator;
  dir: string;
  env(node: string, extra?: Record<string, string>): Record<string, string>;
}

/** undefined (and the reason) when the simulator's tool bundle has not been built */
export function simMissing(): string | undefined {
  return existsSync(defaultToolsBundle())
    ? undefined
    : 'the simulator bundle packages/pve-sim/dist/pve-tools.mjs is missing (run `npm run build`)';
}

/** The requirement switch for the simulator's tool bundle: false (skipped), or a failure under NANNY_REQUIRE=bundles. */
export function requireSim(t: { skip(message?: string): void }): boolean {
  const why = simMissing();
  return requires(t, 'bundles', why === undefined, why ?? '');
}

export function makeSim(
  t: { after: (fn: () => void) => void },
  flags: Parameters<typeof scenarioFromFlags>[0],
  /** the PATH the tools' directory is put in front of */
  basePath = '/usr/local/bin:/usr/bin:/bin',
): SimFixture {
  const dir = mkdtempSync(join(tmpdir(), 'agent-sim-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sim = createLayout({ out: join(dir, 'layout'), scenario: scenarioFromFlags(flags) });
  return {
    sim,
    dir,
    env(node, extra = {}) {
      const p = sim.paths(node);
      return {
        PATH: `${p.bin}:${basePath}`,
        NANNYAGENT_CONFIG: '/dev/null',
        NANNYAGENT_PVE_ROOT: p.etcPve,
        NANNYAGENT_PROC_ROOT: p.proc,
        NANNYAGENT_HOSTS_FILE: p.hosts,
        NANNYAGENT_DPKG_STATUS: p.dpkgStatus,
        NANNYAGENT_TASKS_ROOT: p.tasks,
        NANNYAGENT_PVE_LIB_ROOT: p.pveLib,
        NANNYAGENT_PKGUPDATES: p.pkgUpdates,
        NANNYAGENT_APT_LISTS: p.aptLists,
        NANNYAGENT_STATE_DIR: join(dir, `state-${node}`),
        NANNYAGENT_LOG_LEVEL: 'debug',
        ...extra,
      };
    },
  };
}

export interface DryRun {
  code: number;
  /** the spec's four reports, in order */
  items: Array<{ endpoint: string; body: Record<string, unknown> }>;
  /** the operations reports (backups, ha, replication) */
  ops: Array<{ endpoint: string; body: Record<string, unknown> }>;
  log: string;
}

/** `nannyagent collect --once --dry-run` in-process. */
export async function dryRun(env: Record<string, string>, args: string[] = []): Promise<DryRun> {
  let out = '';
  let log = '';
  const code = await main(['collect', '--once', '--dry-run', ...args], {
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      log += s;
    },
    env,
  });
  const all = out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as DryRun['items'][number]);
  const isOps = (i: DryRun['items'][number]) => OPS_KINDS.some((k) => i.endpoint === INGEST_PATH_PREFIX + k);
  return { code, items: all.filter((i) => !isOps(i)), ops: all.filter(isOps), log };
}
