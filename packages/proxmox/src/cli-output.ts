/**
 * Outputs of the Proxmox CLI tools the agent may run: `pveversion [-v]` and `pvecm status`.
 * Formats: pve-reference/cli (PVE 7.3 … 9.1) and its SOURCES.md notes.
 */
import type { Parsed } from './types.ts';
import { show } from './scalars.ts';

export interface PveVersionInfo {
  /** "pve-manager/8.4.11/14a32011146091ed", the API's `pveversion` form */
  manager: string;
  /** "8.4.11" (7.x: "7.4-3") */
  version: string;
  /** repository id: 8 hex digits on 7.x, 16 on 8.x+ */
  repoid?: string;
  /** running kernel, `uname -r`: "6.8.12-13-pve" */
  kernel?: string;
  /** `pveversion -v` only: package → version ("not correctly installed" etc. kept verbatim) */
  packages: Record<string, string>;
}

const SHORT_RE = /^pve-manager\/([^/\s]+)\/([0-9a-f]+)(?:\s+\(running kernel:\s*([^)]+)\))?\s*$/;

/**
 * `pveversion` (one line `pve-manager/8.4.14/b502d23c55afcba1 (running kernel: 6.8.12-15-pve)`) or
 * `pveversion -v` (`proxmox-ve: 8.4.0 (running kernel: …)`, `pve-manager: 8.4.11 (running version:
 * 8.4.11/14a32011146091ed)`, then `pkg: version` lines; `proxmox-kernel-helper` appears twice).
 */
export function parsePveversion(text: string): Parsed<PveVersionInfo | undefined> {
  const warnings: string[] = [];
  const lines = text
    .split('\n')
    .map((l) => l.replace(/\r$/, '').trim())
    .filter((l) => l !== '');
  const first = lines[0];
  if (first === undefined) return { data: undefined, warnings: ['pveversion: empty output'] };
  const short = SHORT_RE.exec(first);
  if (short) {
    const data: PveVersionInfo = {
      manager: `pve-manager/${short[1]}/${short[2]}`,
      version: short[1]!,
      repoid: short[2]!,
      packages: {},
    };
    if (short[3] !== undefined) data.kernel = short[3].trim();
    return { data, warnings };
  }
  const packages: Record<string, string> = {};
  let kernel: string | undefined;
  let running: string | undefined;
  for (const line of lines) {
    const m = /^([A-Za-z0-9][A-Za-z0-9.+_-]*):\s*(.*)$/.exec(line);
    if (!m) {
      warnings.push(`pveversion: cannot read ${show(line)}`);
      continue;
    }
    const [, pkg, rest] = m as unknown as [string, string, string];
    const k = /\(running kernel:\s*([^)]+)\)/.exec(rest);
    if (k) kernel = k[1]!.trim();
    const r = /\(running version:\s*([^)]+)\)/.exec(rest);
    if (pkg === 'pve-manager' && r) running = r[1]!.trim();
    const value = rest.replace(/\s*\(running (kernel|version):[^)]*\)/, '').trim();
    if (packages[pkg] !== undefined && packages[pkg] !== value) {
      warnings.push(`pveversion: ${pkg} listed twice with different versions`);
    }
    packages[pkg] ??= value;
  }
  const mgr = packages['pve-manager'];
  if (mgr === undefined) {
    warnings.push('pveversion: no pve-manager line');
    return { data: undefined, warnings };
  }
  const rm = running ? /^([^/]+)\/([0-9a-f]+)$/.exec(running) : null;
  const data: PveVersionInfo = {
    manager: rm ? `pve-manager/${rm[1]}/${rm[2]}` : `pve-manager/${mgr}`,
    version: rm ? rm[1]! : mgr,
    packages,
  };
  if (rm) data.repoid = rm[2]!;
  else warnings.push('pveversion: pve-manager line has no running version');
  if (kernel !== undefined) data.kernel = kernel;
  return { data, warnings };
}

export interface PvecmMember {
  nodeid: number;
  votes: number;
  /** IP (corosync-quorumtool -H prints addresses) or "Qdevice" */
  name: string;
  local: boolean;
  /** qdevice column, e.g. "A,V,NMW" */
  qdevice?: string;
}

export interface PvecmStatus {
  /** no corosync.conf: the command failed with the "does not exist" error */
  standalone: boolean;
  clusterName?: string;
  configVersion?: number;
  transport?: string;
  quorate?: boolean;
  /** nodes in the current membership */
  nodes?: number;
  nodeId?: number;
  expectedVotes?: number;
  totalVotes?: number;
  quorum?: number;
  flags?: string[];
  members?: PvecmMember[];
}

const STANDALONE_RE = /Corosync config '[^']*' does not exist/;

/**
 * `pvecm status`: the "Cluster information" block, then `corosync-quorumtool -siH` output. On a
 * node without a cluster, stderr reads `Error: Corosync config '/etc/pve/corosync.conf' does not
 * exist - is this node part of a cluster?` and the exit code is non-zero: pass stderr too.
 */
export function parsePvecmStatus(stdout: string, stderr = ''): Parsed<PvecmStatus> {
  const warnings: string[] = [];
  if (STANDALONE_RE.test(stderr) || STANDALONE_RE.test(stdout)) {
    return { data: { standalone: true }, warnings };
  }
  const data: PvecmStatus = { standalone: false };
  const kv = new Map<string, string>();
  const members: PvecmMember[] = [];
  let inMembership = false;
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (/^Membership information/.test(line)) {
      inMembership = true;
      continue;
    }
    if (inMembership) {
      if (/^-+$/.test(line.trim()) || /^\s*Nodeid\s+Votes/.test(line) || line.trim() === '') continue;
      const m =
        /^\s*(0x[0-9a-fA-F]+|\d+)\s+(\d+)\s+(?:([A-Z]+(?:,[A-Z]+)*)\s+)?(\S+)(\s+\(local\))?\s*$/.exec(line);
      if (!m) {
        warnings.push(`pvecm status: cannot read member line ${show(line)}`);
        continue;
      }
      const member: PvecmMember = {
        nodeid: Number(m[1]!),
        votes: Number(m[2]),
        name: m[4]!,
        local: m[5] !== undefined,
      };
      if (m[3] !== undefined) member.qdevice = m[3];
      members.push(member);
      continue;
    }
    const m = /^([A-Za-z][A-Za-z ]*?):\s*(.*?)\s*$/.exec(line);
    if (m) kv.set(m[1]!, m[2]!);
  }
  const int = (k: string): number | undefined => {
    const v = kv.get(k);
    if (v === undefined) return undefined;
    const m = /^(0x[0-9a-fA-F]+|\d+)/.exec(v);
    if (!m) {
      warnings.push(`pvecm status: ${k} ${show(v)} is not a number`);
      return undefined;
    }
    return Number(m[1]);
  };
  const set = <K extends keyof PvecmStatus>(k: K, v: PvecmStatus[K] | undefined) => {
    if (v !== undefined) data[k] = v;
  };
  set('clusterName', kv.get('Name'));
  set('configVersion', int('Config Version'));
  set('transport', kv.get('Transport'));
  const q = kv.get('Quorate');
  if (q === 'Yes') data.quorate = true;
  else if (q === 'No') data.quorate = false;
  else if (q !== undefined) warnings.push(`pvecm status: Quorate ${show(q)} is neither Yes nor No`);
  set('nodes', int('Nodes'));
  set('nodeId', int('Node ID'));
  set('expectedVotes', int('Expected votes'));
  set('totalVotes', int('Total votes'));
  set('quorum', int('Quorum'));
  const flags = kv.get('Flags');
  if (flags !== undefined) data.flags = flags.split(/\s+/).filter((f) => f !== '');
  if (members.length > 0) data.members = members;
  if (q === undefined) warnings.push('pvecm status: no Quorate line');
  return { data, warnings };
}

/**
 * `/usr/share/perl5/PVE/pvecfg.pm` (generated from pve-manager `PVE/pvecfg.pm.in`) holds the
 * version without running `pveversion` (a Perl start): `sub version { return '9.2.11'; }`, plus
 * `release` and `repoid` (PMXCFS.md §8). The running kernel is `/proc/sys/kernel/osrelease`.
 */
export function parsePvecfg(
  text: string,
): Parsed<{ manager: string; version: string; release?: string; repoid: string } | undefined> {
  const sub = (name: string) =>
    new RegExp(`sub\\s+${name}\\s*\\{\\s*return\\s+['"]([^'"]+)['"]`).exec(text)?.[1];
  const version = sub('version');
  const repoid = sub('repoid');
  if (version === undefined || repoid === undefined || !/^[0-9a-f]+$/.test(repoid)) {
    return { data: undefined, warnings: ['pvecfg.pm: no version or repoid'] };
  }
  const data: { manager: string; version: string; release?: string; repoid: string } = {
    manager: `pve-manager/${version}/${repoid}`,
    version,
    repoid,
  };
  const release = sub('release');
  if (release !== undefined) data.release = release;
  return { data, warnings: [] };
}
