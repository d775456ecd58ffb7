/** Detection as the spec does it: `pveversion --verbose` (found on PATH). */
import { stat } from 'node:fs/promises';
import { newestInstalledKernel, parsePveversion } from '@nanny/proxmox';
import { AgentError, errorText } from '../errors.ts';
import { runCommand, type SpawnCounter } from '../host.ts';
import type { Detection } from './types.ts';

export async function detectWithPveversion(
  opts: { commandTimeoutMs: number; env?: NodeJS.ProcessEnv } & SpawnCounter,
): Promise<Detection> {
  let r;
  try {
    r = await runCommand('pveversion', ['--verbose'], {
      timeoutMs: opts.commandTimeoutMs,
      ...(opts.onSpawn ? { onSpawn: opts.onSpawn } : {}),
      ...(opts.env ? { env: opts.env } : {}),
    });
  } catch (e) {
    return { installed: false, reason: errorText(e) };
  }
  if (r.timedOut)
    throw new AgentError(
      'AGENT_TIMEOUT',
      `pveversion --verbose: no answer within ${opts.commandTimeoutMs} ms`,
    );
  if (r.code !== 0)
    return {
      installed: false,
      reason: `pveversion --verbose: exit ${r.code ?? r.signal}: ${r.stderr.trim()}`,
    };
  const parsed = parsePveversion(r.stdout);
  const d: Detection = { installed: true };
  const v = parsed.data?.manager;
  if (v) d.pveVersion = v;
  if (parsed.data?.kernel) d.runningKernel = parsed.data.kernel;
  const k = parsed.data ? newestInstalledKernel(parsed.data.packages) : undefined;
  if (k) d.installedKernel = k;
  return d;
}

/**
 * `pveversion --verbose` again only when the package state changed (DESIGN.md §9: no process in
 * steady state). The key is the dpkg status file's mtime, size and inode — dpkg rewrites it (new
 * file, rename) on every install, upgrade and removal, so an upgrade of pve-manager is seen on the
 * next cycle. The file is on local disk, not FUSE: a plain stat is safe on the main thread.
 * When it cannot be stat'ed (not Debian) nothing is cached and detection runs every cycle, as
 * before. A timeout is never cached.
 */
export function createVersionDetector(
  opts: { commandTimeoutMs: number; env?: NodeJS.ProcessEnv; dpkgStatus?: string } & SpawnCounter,
): () => Promise<Detection> {
  let cached: { key: string; detection: Detection } | undefined;
  let inFlight: Promise<Detection> | undefined;
  const keyOf = async (): Promise<string | undefined> => {
    if (opts.dpkgStatus === undefined) return undefined;
    try {
      const s = await stat(opts.dpkgStatus);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return undefined;
    }
  };
  return () =>
    (inFlight ??= (async () => {
      try {
        const key = await keyOf();
        if (key !== undefined && cached?.key === key) return cached.detection;
        const d = await detectWithPveversion(opts);
        cached = key === undefined ? undefined : { key, detection: d };
        return d;
      } finally {
        inFlight = undefined;
      }
    })());
}
