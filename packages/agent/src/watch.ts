/**
 * The watch between cycles (DESIGN.md §9, docs/detection.md): a cheap membership and quorum check
 * every NANNYAGENT_WATCH_INTERVAL seconds. What a check costs depends on the source:
 *
 * - files: `/etc/pve/.members` through the daemon's long-lived pmxcfs reader (no process). The
 *   reader's helper looks at the file every interval and answers only on a change, or after
 *   {@link filesWatchMaxWaitMs} as it is, so the daemon sleeps meanwhile; the wait has the pmxcfs
 *   deadline on top, and a helper that misses it is replaced (pmxcfs hangs);
 * - api: one `GET /cluster/status`;
 * - pvesh: one `pvesh get /cluster/status` — a Perl start-up, ~0.3-1 s of CPU — so pvesh is checked
 *   at most every {@link PVESH_MIN_WATCH_SECONDS} s.
 *
 * Only what identifies a change goes into the comparison: quorate, the cluster name, the member
 * set and each member's online flag. Ids, ips and subscription levels do not count.
 */
import { join } from 'node:path';
import {
  clusterStatusFromMembers,
  findClusterEntry,
  parseMembers,
  toInt,
  type ClusterStatusEntry,
  type MembersFile,
} from '@nanny/proxmox';
import { AgentError } from './errors.ts';
import type { PmxcfsReader } from './host.ts';
import type { Source } from './sources/types.ts';

/**
 * The longest the daemon waits for the helper's answer on `.members` when nothing changes: twelve
 * watch intervals, at most a minute (the default heartbeat). A hung pmxcfs is noticed within it
 * plus NANNYAGENT_PMXCFS_TIMEOUT; the daemon wakes that often, not every interval.
 */
export function filesWatchMaxWaitMs(watchIntervalMs: number): number {
  return Math.min(60_000, 12 * watchIntervalMs);
}

/** pvesh costs a Perl start-up per call: checking it more often than this is not cheap. */
export const PVESH_MIN_WATCH_SECONDS = 30;

/** The comparable part of a membership view. */
export function membershipKey(status: readonly ClusterStatusEntry[]): string {
  const c = findClusterEntry(status);
  const nodes = status
    .filter((e) => e.type === 'node')
    .map((e) => `${e.name}=${toInt(e.online) ?? '?'}`)
    .sort();
  return JSON.stringify([c ? String(c.name) : null, c ? (toInt(c.quorate) ?? '?') : null, nodes]);
}

/** A short human description for the log: "quorate 1 → 0; pve2 online 1 → 0". */
export function describeChange(
  before: readonly ClusterStatusEntry[] | undefined,
  after: readonly ClusterStatusEntry[],
): string {
  if (!before) return 'first view';
  const parts: string[] = [];
  const q = (s: readonly ClusterStatusEntry[]) => toInt(findClusterEntry(s)?.quorate);
  if (q(before) !== q(after)) parts.push(`quorate ${q(before) ?? '-'} → ${q(after) ?? '-'}`);
  const online = (s: readonly ClusterStatusEntry[]) =>
    new Map(s.filter((e) => e.type === 'node').map((e) => [e.name, toInt(e.online)]));
  const a = online(before);
  const b = online(after);
  for (const [n, v] of b) {
    if (!a.has(n)) parts.push(`${n} joined`);
    else if (a.get(n) !== v) parts.push(`${n} online ${a.get(n) ?? '-'} → ${v ?? '-'}`);
  }
  for (const n of a.keys()) if (!b.has(n)) parts.push(`${n} left`);
  return parts.join('; ') || 'cluster changed';
}

export interface MembershipProbe {
  check(): Promise<ClusterStatusEntry[]>;
}

/**
 * `.members` through the long-lived reader. The result has the shape the files source's cycle
 * gives; subscription levels and a standalone node's ip (which `.members` lacks) are carried over
 * from the previous view so that a change report does not blank them.
 */
export function filesProbe(opts: {
  reader: PmxcfsReader;
  pveRoot: string;
  timeoutMs: number;
  previous: () => readonly ClusterStatusEntry[] | undefined;
  /**
   * The daemon's way: the helper looks at `.members` every `everyMs` and answers on a change, or
   * after `maxWaitMs` as it is; without it each check is one read now.
   */
  wait?: { everyMs: number; maxWaitMs: number };
}): MembershipProbe {
  const path = join(opts.pveRoot, '.members');
  // The last text read and the view made of it. Between membership changes pmxcfs renders the same
  // bytes every time (its `version` moves only on a change), so an identical text with the view
  // unchanged since is answered with that same view: no parse, no new objects (idle cost, issue 12).
  let last: { text: string; view: ClusterStatusEntry[] } | undefined;
  return {
    async check() {
      const w = opts.wait;
      const session = opts.reader.session(opts.timeoutMs + (w ? w.maxWaitMs : 0));
      let m: MembersFile | undefined;
      let text: string;
      try {
        text = await (w ? session.changed(path, w.everyMs, w.maxWaitMs) : session.read([path])[0]!);
        if (last !== undefined && last.text === text && opts.previous() === last.view) return last.view;
        let r = parseMembers(text);
        // pmxcfs rebuilds the file per read (direct_io): a torn read is re-read once
        if (r.data === undefined) r = parseMembers((text = await session.read([path])[0]!));
        m = r.data;
        if (m === undefined) throw new AgentError('AGENT_PMXCFS', `${path}: ${r.warnings.join('; ')}`);
      } finally {
        session.close();
      }
      const prev = opts.previous() ?? [];
      const levels: Record<string, string> = {};
      let localIp: string | undefined;
      for (const e of prev) {
        if (e.type !== 'node') continue;
        if (typeof e.level === 'string') levels[e.name] = e.level;
        if (e.name === m.nodename && typeof e.ip === 'string') localIp = e.ip;
      }
      const view = clusterStatusFromMembers(m, m.nodename, {
        levels,
        ...(localIp !== undefined ? { localIp } : {}),
      });
      last = { text, view };
      return view;
    },
  };
}

/** One `/cluster/status` read through a fresh reader of the source (api: one GET; pvesh: one call). */
export function sourceProbe(source: Source): MembershipProbe {
  return {
    async check() {
      const reader = source.open();
      try {
        return await reader.clusterStatus();
      } finally {
        reader.close();
      }
    },
  };
}
