/**
 * Node health and storage reads (issue 15) shared by the sources. The local sources (files, pvesh)
 * read what is on the node: the running kernel from /proc, the newest installed one from the
 * `pveversion --verbose` detection already has (re-run only when dpkg's state changed), the two
 * certificate files through the pmxcfs reader, pve-manager's cached update list from local disk.
 * Ceph: only where `/etc/pve/ceph.conf` exists (PVE-managed Ceph) is `/cluster/ceph/status` asked
 * — through pvesh for the local sources, since no file holds the cluster's health.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  cephAbsentError,
  cephHealthOf,
  certificateInfo,
  rebootRequired,
  summarizeUpdates,
  type CephHealth,
  type UpdatesSummary,
} from '@nanny/proxmox';
import { errorText } from '../errors.ts';
import type { AptSecurityIndex } from './apt-security.ts';
import type { Detection } from './types.ts';

/** The node report's health fields (schema NodeHealthFields); absent = not known this cycle. */
export interface NodeHealth {
  kernel_running?: string;
  kernel_installed?: string;
  reboot_required?: boolean;
  certificates?: { file: string; not_after: string; fingerprint_sha256?: string }[];
  updates_count?: number;
  updates_security_count?: number;
  ceph_health?: CephHealth['status'] | 'HEALTH_UNKNOWN';
  ceph_checks?: CephHealth['checks'];
  ceph_error?: string;
}

export const CERT_FILES = ['pve-ssl.pem', 'pveproxy-ssl.pem'] as const;

export function kernelHealth(running: string | undefined, installed: string | undefined): NodeHealth {
  const h: NodeHealth = {};
  if (running !== undefined) h.kernel_running = running;
  if (installed !== undefined) h.kernel_installed = installed;
  const r = rebootRequired(running, installed);
  if (r !== undefined) h.reboot_required = r;
  return h;
}

export function updatesHealth(u: UpdatesSummary | undefined): NodeHealth {
  if (!u) return {};
  return {
    updates_count: u.count,
    ...(u.security !== undefined ? { updates_security_count: u.security } : {}),
  };
}

export function cephHealth(c: CephHealth | undefined): NodeHealth {
  return c ? { ceph_health: c.status, ceph_checks: c.checks } : {};
}

/**
 * The node health of a `/cluster/ceph/status` call (`answer`, or the error it failed with): the
 * "no Ceph here" errors (binary not installed, not initialized) are no Ceph and send nothing; any
 * other failure, or an answer without a health status, is a Ceph in an unknown state, which must
 * surface (`HEALTH_UNKNOWN` + `ceph_error`), not read as no Ceph.
 */
export function cephOutcome(r: { answer: unknown } | { error: unknown }, warnings: string[]): NodeHealth {
  if ('error' in r) {
    const text = errorText(r.error);
    if (cephAbsentError(text)) return {};
    warnings.push(`ceph status: ${text}`);
    return { ceph_health: 'HEALTH_UNKNOWN', ceph_error: text.slice(0, 256) };
  }
  const c = cephHealthOf(r.answer);
  warnings.push(...c.warnings);
  if (!c.data) return { ceph_health: 'HEALTH_UNKNOWN', ceph_error: c.warnings.join('; ').slice(0, 256) };
  return cephHealth(c.data);
}

export interface LocalHealthDeps {
  node: string;
  procRoot: string;
  pkgUpdatesFile: string;
  pveRoot: string;
  detect: () => Promise<Detection>;
  /** reads /etc/pve files through the pmxcfs helper; a missing file rejects */
  readPve: (paths: string[]) => Promise<string>[];
  /** `/cluster/ceph/status` (pvesh); only called when ceph.conf exists */
  cephStatus: () => Promise<unknown>;
  /** apt's security archives (kept by the source across cycles); read only when updates are pending */
  aptSecurity?: AptSecurityIndex;
}

const tryText = async (p: string): Promise<string | undefined> => {
  try {
    return await readFile(p, 'utf8');
  } catch {
    return undefined;
  }
};

/** The local sources' health reads; each part on its own, a failure is a warning, not a lost report. */
export async function localHealth(d: LocalHealthDeps): Promise<{ data: NodeHealth; warnings: string[] }> {
  const warnings: string[] = [];
  const pve = (f: string) => join(d.pveRoot, f);
  const [certTexts, cephConf] = [
    d.readPve(CERT_FILES.map((f) => pve(`nodes/${d.node}/${f}`))),
    d.readPve([pve('ceph.conf')])[0]!,
  ];
  for (const p of [...certTexts, cephConf]) p.catch(() => undefined);
  const kernel = (async () => {
    // /proc is the kernel's own answer (`uname -r`); pveversion's "running kernel" is the same
    const running = (await tryText(join(d.procRoot, 'sys/kernel/osrelease')))?.trim();
    const det = await d.detect().catch(() => undefined);
    return kernelHealth(running || det?.runningKernel, det?.installedKernel);
  })();
  const certs = (async (): Promise<NodeHealth> => {
    const list: NonNullable<NodeHealth['certificates']> = [];
    for (const [i, file] of CERT_FILES.entries()) {
      const text = await certTexts[i]!.catch(() => undefined); // pveproxy-ssl.pem is optional
      if (text === undefined) continue;
      const c = certificateInfo(text);
      for (const w of c.warnings) warnings.push(`${file}: ${w}`);
      if (c.data)
        list.push({
          file,
          not_after: c.data.not_after,
          ...(c.data.fingerprint_sha256 ? { fingerprint_sha256: c.data.fingerprint_sha256 } : {}),
        });
    }
    return list.length > 0 ? { certificates: list } : {};
  })();
  const updates = (async (): Promise<NodeHealth> => {
    const text = await tryText(d.pkgUpdatesFile);
    if (text === undefined) return {}; // pveupdate has not run yet
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch {
      warnings.push(`${d.pkgUpdatesFile}: not JSON`);
      return {};
    }
    // nothing pending: none of it is a security update, no need to look at apt's lists
    const sec =
      Array.isArray(list) && list.length === 0 ? new Set<string>() : await d.aptSecurity?.versions();
    const u = summarizeUpdates(list, sec);
    warnings.push(...u.warnings);
    return updatesHealth(u.data);
  })();
  const ceph = (async (): Promise<NodeHealth> => {
    const conf = await cephConf.catch(() => undefined);
    if (conf === undefined) return {}; // no PVE-managed Ceph: nothing to ask, nothing sent
    return cephOutcome(
      await d.cephStatus().then(
        (answer) => ({ answer }),
        (error: unknown) => ({ error }),
      ),
      warnings,
    );
  })();
  const parts = await Promise.all([kernel, certs, updates, ceph]);
  return { data: Object.assign({}, ...parts) as NodeHealth, warnings };
}

/** `/nodes/{node}/certificates/info` entries → the same list the local sources build. */
export function certificatesFromApi(entries: unknown): NodeHealth {
  if (!Array.isArray(entries)) return {};
  const list: NonNullable<NodeHealth['certificates']> = [];
  for (const file of CERT_FILES) {
    const e = (entries as Record<string, unknown>[]).find((x) => x?.['filename'] === file);
    const t = Number(e?.['notafter']);
    if (!e || !Number.isFinite(t)) continue;
    const fp = e['fingerprint'];
    list.push({
      file,
      not_after: new Date(t * 1000).toISOString(),
      ...(typeof fp === 'string' ? { fingerprint_sha256: fp } : {}),
    });
  }
  return list.length > 0 ? { certificates: list } : {};
}

/** `/nodes/{node}/apt/versions` → installed package versions (kernel images among them). */
export function installedFromAptVersions(entries: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(entries)) return out;
  for (const e of entries as Record<string, unknown>[]) {
    const pkg = e?.['Package'];
    const v = e?.['OldVersion'] ?? e?.['Version'];
    if (typeof pkg === 'string' && typeof v === 'string' && e['CurrentState'] === 'Installed') out[pkg] = v;
  }
  return out;
}
