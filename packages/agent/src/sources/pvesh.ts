/**
 * The spec's way: `pvesh get PATH --output-format json`, one process per path (each one starts a
 * Perl interpreter and loads the PVE API modules, hundreds of ms). Tools are found on PATH (the
 * spec's /usr/bin). pvesh output has no `{"data": …}` envelope. pve-root-ca.pem is read through the
 * pmxcfs helper (no API path returns it).
 */
import { join } from 'node:path';
import { nodeStatusFromProc, parseGuestConfigFile, type NodeStatus } from '@nanny/proxmox';
import { AgentError, errorText } from '../errors.ts';
import { openPmxcfsSession, runCommand, type PmxcfsReader, type SpawnCounter } from '../host.ts';
import { cachedGet, pathReaderParts } from './path-reader.ts';
import { detectWithPveversion } from './detect.ts';
import { createPathOps } from './ops-path.ts';
import { readProcSnapshot } from './local.ts';
import { localHealth } from './ops.ts';
import { createAptSecurityIndex } from './apt-security.ts';
import type { CycleReader, Detection, Params, Source } from './types.ts';

export interface LocalSourceOptions extends SpawnCounter {
  pveRoot: string;
  procRoot: string;
  /** /etc/hosts: where the files source finds a standalone node's ip */
  hostsFile?: string;
  commandTimeoutMs: number;
  pmxcfsTimeoutMs: number;
  /** environment of the spawned tools (PATH finds pvesh/pveversion) */
  env?: NodeJS.ProcessEnv;
  /** the daemon's long-lived /etc/pve reader; without it each cycle starts its own helper */
  pmxcfs?: PmxcfsReader;
  /** detection shared across cycles (createVersionDetector); without it pveversion runs per cycle */
  detect?: () => Promise<Detection>;
  /** /var/log/pve/tasks: the files source's task index */
  tasksRoot: string;
  /** /var/lib/pve-manager: the files source's replication state */
  pveLibRoot: string;
  /** pve-manager's cached list of available updates (NANNYAGENT_PKGUPDATES) */
  pkgUpdatesFile?: string;
  /** apt's lists: which pending updates come from a security archive (NANNYAGENT_APT_LISTS) */
  aptListsDir?: string;
}

export const PKGUPDATES_DEFAULT = '/var/lib/pve-manager/pkgupdates';
export const APT_LISTS_DEFAULT = '/var/lib/apt/lists';

export function pveshArgs(path: string, params?: Params): string[] {
  const args = ['get', path];
  for (const [k, v] of Object.entries(params ?? {})) args.push(`--${k}`, String(v));
  args.push('--output-format', 'json');
  return args;
}

/** One `pvesh get`, its JSON answer (pvesh has no envelope). */
export async function runPvesh(opts: LocalSourceOptions, path: string, params?: Params): Promise<unknown> {
  const args = pveshArgs(path, params);
  const r = await runCommand('pvesh', args, {
    timeoutMs: opts.commandTimeoutMs,
    ...(opts.onSpawn ? { onSpawn: opts.onSpawn } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
  const cmd = `pvesh ${args.join(' ')}`;
  if (r.timedOut)
    throw new AgentError('AGENT_TIMEOUT', `${cmd}: no answer within ${opts.commandTimeoutMs} ms`);
  if (r.code !== 0) {
    throw new AgentError(
      'AGENT_COMMAND',
      `${cmd}: exit ${r.code ?? r.signal}: ${r.stderr.trim() || '(no stderr)'}`,
    );
  }
  try {
    return JSON.parse(r.stdout) as unknown;
  } catch (e) {
    throw new AgentError('AGENT_SOURCE', `${cmd}: output is not JSON: ${r.stdout.slice(0, 200)}`, {
      cause: e,
    });
  }
}

export function createPveshSource(opts: LocalSourceOptions): Source {
  const ops = createPathOps();
  const aptSecurity = createAptSecurityIndex(opts.aptListsDir ?? APT_LISTS_DEFAULT);
  return {
    name: 'pvesh',
    local: true,
    open(): CycleReader {
      const get = cachedGet((path, params) => runPvesh(opts, path, params));
      let pmx: ReturnType<typeof openPmxcfsSession> | undefined;
      const session = () =>
        (pmx ??=
          opts.pmxcfs?.session(opts.pmxcfsTimeoutMs) ??
          openPmxcfsSession({
            timeoutMs: opts.pmxcfsTimeoutMs,
            ...(opts.onSpawn ? { onSpawn: opts.onSpawn } : {}),
          }));
      // A container's raw lxc.* lines come from its config file through the pmxcfs helper that
      // already reads pve-root-ca.pem: `…/config?current=1` would be a second pvesh process per
      // container, which the cost budget (no new process per guest) rules out.
      // When /etc/pve cannot be read (the reason `auto` chose pvesh) the config goes out without them.
      const parts = pathReaderParts(get, async (node, vmid) => {
        try {
          const text = await session().read([join(opts.pveRoot, `nodes/${node}/lxc/${vmid}.conf`)])[0]!;
          const lxc = parseGuestConfigFile(text, 'lxc').data.current.lxc;
          return typeof lxc === 'string' ? lxc : undefined;
        } catch {
          return undefined;
        }
      });
      let detection: Promise<Detection> | undefined;
      const detect = (): Promise<Detection> =>
        (detection ??= opts.detect ? opts.detect() : detectWithPveversion(opts));
      return {
        ...parts,
        backups: (node) => ops.backups(get, node),
        ha: () => ops.ha(get),
        replication: (node) => ops.replication(get, node),
        detect,
        localNode: async () => undefined,
        async clusterCa() {
          return await session().read([join(opts.pveRoot, 'pve-root-ca.pem')])[0];
        },
        health: (node) =>
          localHealth({
            node,
            procRoot: opts.procRoot,
            pveRoot: opts.pveRoot,
            pkgUpdatesFile: opts.pkgUpdatesFile ?? PKGUPDATES_DEFAULT,
            detect,
            readPve: (paths) => session().read(paths),
            cephStatus: () => get('/cluster/ceph/status'),
            aptSecurity,
          }),
        async nodeStatus(node): Promise<{ status: NodeStatus; error?: string }> {
          try {
            return { status: await parts.nodeStatusFromApi(node) };
          } catch (e) {
            // A hung pmxcfs or a dead pveproxy is exactly when the node report matters: build it
            // from /proc, which the kernel serves whatever pmxcfs does.
            const warnings: string[] = [];
            const snap = await readProcSnapshot(opts.procRoot, warnings);
            // pveversion may time out too (the same load or hang that failed the status call): the
            // /proc report goes out without the version rather than not at all.
            const d = await detect().catch(() => undefined);
            if (d?.pveVersion) snap.pveversion = d.pveVersion;
            return {
              status: nodeStatusFromProc(snap),
              error: `${errorText(e)} (node status built from /proc)`,
            };
          }
        },
        close() {
          pmx?.close();
        },
      };
    },
  };
}
