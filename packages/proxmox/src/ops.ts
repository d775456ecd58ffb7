/**
 * Operations data (issue 15), pure: storage pools from storage.cfg + the `.rrd` storage lines or
 * from `/nodes/{node}/storage`; the newest installed kernel from `pveversion -v`; certificate
 * expiry from a PEM; the pending updates of pve-manager's cache; Ceph health from
 * `/cluster/ceph/status`. Formats: ../shared/pve-reference/ops/ (05 updates, 06 kernel, 07
 * certificates, 08 Ceph, 09 storage).
 */
import { X509Certificate } from 'node:crypto';
import type { RrdDump } from './pmxcfs.ts';
import { toInt } from './scalars.ts';
import type { Parsed } from './types.ts';
import { comparePveVersions } from './version.ts';

/** What the agent sends for one storage (the wire's StoragePool). */
export interface StorageReport {
  storage: string;
  type: string;
  shared: 0 | 1;
  enabled: 0 | 1;
  active: 0 | 1;
  content?: string;
  total_bytes?: number;
  used_bytes?: number;
}

export interface StorageCfgEntry {
  id: string;
  type: string;
  disable: boolean;
  /** restricted to these nodes; undefined = all */
  nodes?: string[];
  shared: boolean;
  content?: string;
}

/**
 * Storage types pve-storage always treats as shared (network storages: the plugin forces `shared`),
 * whatever storage.cfg says.
 */
const NETWORK_TYPES = new Set([
  'nfs',
  'cifs',
  'cephfs',
  'rbd',
  'pbs',
  'glusterfs',
  'iscsi',
  'iscsidirect',
  'zfs',
]);

/** Content types are a set; PVE writes them in hash order (09-storage.md). Sorted, so sources agree. */
export const normalizeContent = (c: string | undefined): string | undefined =>
  c === undefined
    ? undefined
    : c
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '')
        .sort()
        .join(',');

/**
 * `/etc/pve/storage.cfg` (SectionConfig: `<type>: <id>`, then indented `key value` lines; a bare
 * key means 1). PVE injects `dir: local` (/var/lib/vz) when the file lacks it, so it is added here.
 */
export function parseStorageCfg(text: string): Parsed<StorageCfgEntry[]> {
  const warnings: string[] = [];
  const out: StorageCfgEntry[] = [];
  let cur: StorageCfgEntry | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const head = /^([a-z][a-z0-9_-]*):\s*(\S+)\s*$/.exec(line);
    if (head && !/^\s/.test(line)) {
      cur = { id: head[2]!, type: head[1]!, disable: false, shared: NETWORK_TYPES.has(head[1]!) };
      out.push(cur);
      continue;
    }
    const kv = /^\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (!kv || !cur) {
      warnings.push(`storage.cfg: cannot read line ${JSON.stringify(line.slice(0, 80))}`);
      continue;
    }
    const key = kv[1]!;
    const value = (kv[2] ?? '1').trim();
    if (key === 'disable') cur.disable = value !== '0';
    else if (key === 'shared') cur.shared = cur.shared || value === '1';
    else if (key === 'content') cur.content = value;
    else if (key === 'nodes')
      cur.nodes = value
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n !== '');
  }
  const local = out.find((s) => s.id === 'local');
  if (!local)
    out.unshift({
      id: 'local',
      type: 'dir',
      disable: false,
      shared: false,
      content: 'backup,images,iso,rootdir,snippets,vztmpl',
    });
  else delete local.nodes; // PVE removes `nodes` from `local`
  return { data: out, warnings };
}

/**
 * The files source's storages of `node`: storage.cfg says which exist, whether they are enabled
 * for this node and shared; the `.rrd` line (pvestatd writes one per *active* storage, every ~10 s)
 * says it is active and gives total and used. No line for an enabled storage = not active.
 */
export function storagesFromFiles(cfg: StorageCfgEntry[], rrd: RrdDump, node: string): StorageReport[] {
  const out = cfg.map((s) => {
    const enabled = !s.disable && (s.nodes === undefined || s.nodes.includes(node));
    const line = enabled ? rrd.storages[`${node}/${s.id}`] : undefined;
    const active = line !== undefined && line.total !== undefined && line.used !== undefined;
    const r: StorageReport = {
      storage: s.id,
      type: s.type,
      shared: s.shared ? 1 : 0,
      enabled: enabled ? 1 : 0,
      active: active ? 1 : 0,
    };
    const content = normalizeContent(s.content);
    if (content !== undefined) r.content = content;
    if (active) {
      r.total_bytes = line.total!;
      r.used_bytes = line.used!;
    }
    return r;
  });
  return out.sort((a, b) => a.storage.localeCompare(b.storage));
}

/** `/nodes/{node}/storage` entries (pvesh and api sources); numbers of an inactive storage dropped. */
export function storagesFromApi(entries: readonly Record<string, unknown>[]): Parsed<StorageReport[]> {
  const warnings: string[] = [];
  const out: StorageReport[] = [];
  for (const e of entries) {
    const storage = typeof e['storage'] === 'string' ? e['storage'] : undefined;
    const type = typeof e['type'] === 'string' ? e['type'] : undefined;
    if (!storage || !type) {
      warnings.push('/nodes/{node}/storage: an entry without storage or type');
      continue;
    }
    const active = toInt(e['active']) === 1;
    const r: StorageReport = {
      storage,
      type,
      shared: toInt(e['shared']) === 1 || NETWORK_TYPES.has(type) ? 1 : 0,
      enabled: toInt(e['enabled']) === 1 ? 1 : 0,
      active: active ? 1 : 0,
    };
    const content = normalizeContent(typeof e['content'] === 'string' ? e['content'] : undefined);
    if (content !== undefined) r.content = content;
    const total = toInt(e['total']);
    const used = toInt(e['used']);
    if (active && total !== undefined && used !== undefined) {
      r.total_bytes = total;
      r.used_bytes = used;
    }
    out.push(r);
  }
  // pve-storage lists storages in hash order: sort so every source sends the same list
  out.sort((a, b) => a.storage.localeCompare(b.storage));
  return { data: out, warnings };
}

/**
 * The newest installed kernel image in `pveversion -v`'s package list, as `uname -r` would print
 * it: `proxmox-kernel-6.17.2-2-pve-signed` / `proxmox-kernel-6.8.12-15-pve` (8.x/9.x) or
 * `pve-kernel-5.15.108-1-pve` (≤ 7.x) → `6.17.2-2-pve`. Series meta packages (`proxmox-kernel-6.17`)
 * and the helper have no `-pve` and are skipped.
 */
export function newestInstalledKernel(packages: Record<string, string>): string | undefined {
  let best: string | undefined;
  for (const [pkg, version] of Object.entries(packages)) {
    const m = /^(?:proxmox|pve)-kernel-(\d+\.\d+\.\d+-\d+-pve)(?:-signed)?$/.exec(pkg);
    if (!m) continue;
    // "not correctly installed" and the like: not an installed image
    if (!/^\d/.test(version)) continue;
    if (best === undefined || comparePveVersions(m[1]!, best) > 0) best = m[1]!;
  }
  return best;
}

/** running vs newest installed: PVE has no flag for it (06-kernel-reboot.md §6.3). */
export function rebootRequired(
  running: string | undefined,
  installed: string | undefined,
): boolean | undefined {
  if (running === undefined || installed === undefined) return undefined;
  return comparePveVersions(installed, running) > 0;
}

export interface CertificateInfo {
  not_after: string;
  subject?: string;
  fingerprint_sha256?: string;
}

/** The first certificate of a PEM file (a chain file: the leaf, as PVE's certificates/info does). */
export function certificateInfo(pem: string): Parsed<CertificateInfo | undefined> {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!m) return { data: undefined, warnings: ['no certificate in the PEM'] };
  try {
    const c = new X509Certificate(m[0]);
    const t = Date.parse(c.validTo);
    if (Number.isNaN(t)) return { data: undefined, warnings: [`unreadable notAfter ${c.validTo}`] };
    const info: CertificateInfo = {
      not_after: new Date(t).toISOString(),
      fingerprint_sha256: c.fingerprint256,
    };
    const subject = c.subject
      .split('\n')
      .filter((x) => x !== '')
      .join(', ');
    if (subject !== '') info.subject = subject.slice(0, 256);
    return { data: info, warnings: [] };
  } catch (e) {
    return {
      data: undefined,
      warnings: [`certificate not readable: ${e instanceof Error ? e.message : String(e)}`],
    };
  }
}

export interface UpdatesSummary {
  count: number;
  /** absent when apt's security lists were not read (the API source: nothing to read them with) */
  security?: number;
}

/**
 * `/var/lib/pve-manager/pkgupdates` (pve-manager APT.pm: a one-line JSON array, one element per
 * package with an update) or the same array from `GET /nodes/{node}/apt/update`. PVE marks no
 * security updates (it copies only `Origin`, `Debian` for the security archive too): an element is
 * one when its `Package Version` is in `securityVersions`, the indexes of apt's security archives
 * (apt.ts). Without them the security count is unknown, not 0.
 */
export function summarizeUpdates(
  list: unknown,
  securityVersions?: ReadonlySet<string>,
): Parsed<UpdatesSummary | undefined> {
  if (!Array.isArray(list)) return { data: undefined, warnings: ['updates list is not a JSON array'] };
  const out: UpdatesSummary = { count: list.length };
  if (securityVersions !== undefined) {
    let security = 0;
    for (const p of list as Record<string, unknown>[])
      if (securityVersions.has(`${String(p?.['Package'] ?? '')} ${String(p?.['Version'] ?? '')}`)) security++;
    out.security = security;
  }
  return { data: out, warnings: [] };
}

/**
 * The errors of `/cluster/ceph/status` that mean "no Ceph here" (pve-manager Ceph/Tools.pm
 * `check_ceph_installed`/`check_ceph_inited`, every wording since PVE 4: pve-reference
 * ops/08-ceph.md §8.2). Any other failure (a timeout, a librados error when the monitors have no
 * quorum, a refused permission) is a Ceph whose state is unknown, which must not read as no Ceph.
 */
export function cephAbsentError(text: string): boolean {
  return /binary not installed: \/usr\/bin\/ceph|ceph binaries not installed|pveceph configuration not initialized/.test(
    text,
  );
}

export interface CephHealth {
  status: 'HEALTH_OK' | 'HEALTH_WARN' | 'HEALTH_ERR';
  checks: { code: string; severity: string; message?: string }[];
}

/** `health` of /cluster/ceph/status (Luminous and later: `status` + `checks`). */
export function cephHealthOf(answer: unknown): Parsed<CephHealth | undefined> {
  const h = (answer as { health?: { status?: unknown; checks?: unknown } } | null)?.health;
  const status = h?.status;
  if (status !== 'HEALTH_OK' && status !== 'HEALTH_WARN' && status !== 'HEALTH_ERR')
    return { data: undefined, warnings: ['Ceph status without health.status'] };
  const checks: CephHealth['checks'] = [];
  if (h?.checks && typeof h.checks === 'object')
    for (const [code, c] of Object.entries(h.checks as Record<string, Record<string, unknown>>)) {
      const msg = (c?.['summary'] as { message?: unknown } | undefined)?.message;
      const check: CephHealth['checks'][number] = { code, severity: String(c?.['severity'] ?? '') };
      if (typeof msg === 'string') check.message = msg.slice(0, 256);
      checks.push(check);
    }
  return { data: { status, checks: checks.slice(0, 64) }, warnings: [] };
}
