/** Detection as the spec does it: `pveversion --verbose` (found on PATH). */
import { parsePveversion } from '@nanny/proxmox';
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
  return d;
}
