// Issue 15: what the simulator renders for storage fill, node certificates, package updates,
// installed kernels and Ceph — the same model behind pvesh, the files and the HTTPS API.
// Formats: ../shared/pve-reference/ops (05 updates, 06 kernel, 07 certificates, 08 Ceph, 09 storage).
import { X509Certificate } from 'node:crypto';
import type { ClusterState, NodeState, SimState } from './model.ts';
import { clusterById } from './model.ts';
import { issueNodeCertPem, nodeKeySpki } from './ca.ts';
import { comparePveVersions } from '@nanny/proxmox';
import { err, type ApiResult } from './answers.ts';

const ok = (data: unknown): ApiResult => ({ ok: true, data });

/** pve-ssl.pem of a node: signed by the cluster CA; lifetime from `cert` (the cert-expire event). */
export function nodeCertPem(state: SimState, n: NodeState): string {
  const c = clusterById(state, n.clusterId);
  const notBefore = n.cert?.notBefore ?? n.bootTime;
  return issueNodeCertPem(
    c.caSeed,
    n.name,
    [n.ip],
    nodeKeySpki(c.caSeed + n.nodeid),
    notBefore,
    n.cert?.days ?? 730,
  );
}

const certCache = new Map<string, string>();
function cachedCert(state: SimState, n: NodeState): string {
  const c = clusterById(state, n.clusterId);
  const k = `${c.caSeed}|${n.name}|${n.ip}|${n.cert?.notBefore ?? n.bootTime}|${n.cert?.days ?? 730}`;
  let pem = certCache.get(k);
  if (!pem) {
    pem = nodeCertPem(state, n);
    if (certCache.size > 1000) certCache.clear();
    certCache.set(k, pem);
  }
  return pem;
}

/** GET /nodes/{node}/certificates/info: pve-root-ca.pem and pve-ssl.pem (no custom certificate). */
export function certificatesInfo(state: SimState, n: NodeState): unknown[] {
  const c = clusterById(state, n.clusterId);
  const info = (filename: string, pem: string) => {
    const x = new X509Certificate(pem);
    const slash = (dn: string) =>
      '/' +
      dn
        .split('\n')
        .filter((l) => l !== '')
        .join('/');
    return {
      filename,
      fingerprint: x.fingerprint256,
      subject: slash(x.subject),
      issuer: slash(x.issuer),
      notbefore: Math.floor(Date.parse(x.validFrom) / 1000),
      notafter: Math.floor(Date.parse(x.validTo) / 1000),
      san: ['127.0.0.1', 'localhost', n.name, n.ip],
      pem,
      'public-key-type': 'ED25519',
      'public-key-bits': 256,
    };
  };
  return [info('pve-root-ca.pem', c.caPem), info('pve-ssl.pem', cachedCert(state, n))];
}

export const pveSslPem = cachedCert;

/** /var/lib/pve-manager/pkgupdates: a one-line JSON array (pve-manager APT.pm, encode_json). */
export function pkgUpdatesJson(n: NodeState): string {
  return JSON.stringify(
    (n.updates ?? []).map((u) => ({
      Package: u.Package,
      Title: `${u.Package} package`,
      Origin: u.Origin,
      Description: `The ${u.Package} package.`,
      Section: 'admin',
      Arch: 'amd64',
      Priority: 'optional',
      Version: u.Version,
      OldVersion: u.OldVersion,
    })),
  );
}

/** Debian release of a PVE major (PVE 9 = trixie … 6 = buster). */
function codenameOf(n: NodeState): string {
  const major = Number(n.pveVersion.split(/[.-]/)[0]);
  return major >= 9 ? 'trixie' : major === 8 ? 'bookworm' : major === 7 ? 'bullseye' : 'buster';
}

/**
 * /var/lib/apt/lists of a node (issue 15): the Release file and amd64 `Packages` index of the
 * Debian main archive, the Debian security archive and Proxmox's repository, as apt names them
 * (the URI with `/` → `_`). Each pending update's candidate is listed by the archive its `Label`
 * names, so only apt's lists tell a security update apart — the cache says `Origin: Debian` for
 * both Debian archives, as on a real node. Layout and fields: Debian repository format; DERIVED
 * (packages/proxmox/fixtures/README.md).
 */
export function aptLists(n: NodeState): Record<string, string> {
  const code = codenameOf(n);
  // buster's security suite was `buster/updates` (list name `…_dists_buster_updates_…`)
  const secSuite = code === 'buster' ? 'buster/updates' : `${code}-security`;
  const repos = [
    {
      base: `deb.debian.org_debian_dists_${code}_`,
      fields: { Origin: 'Debian', Label: 'Debian', Suite: 'stable', Codename: code },
      comp: 'main',
      pick: (u: NonNullable<NodeState['updates']>[number]) =>
        u.Origin === 'Debian' ? u.OldVersion : undefined,
    },
    {
      base: `security.debian.org_debian-security_dists_${secSuite.replace('/', '_')}_`,
      fields: { Origin: 'Debian', Label: 'Debian-Security', Suite: 'stable-security', Codename: secSuite },
      comp: 'main',
      pick: (u: NonNullable<NodeState['updates']>[number]) =>
        u.Label === 'Debian-Security' ? u.Version : undefined,
    },
    {
      base: `download.proxmox.com_debian_pve_dists_${code}_`,
      fields: { Origin: 'Proxmox', Label: 'Proxmox Debian Repository', Suite: 'stable', Codename: code },
      comp: 'pve-no-subscription',
      pick: (u: NonNullable<NodeState['updates']>[number]) =>
        u.Origin === 'Proxmox' ? u.Version : undefined,
    },
  ];
  const out: Record<string, string> = {};
  for (const r of repos) {
    const stanzas = [
      // a package of the archive with no pending update: the index is the whole archive
      {
        Package: r.fields.Label === 'Debian-Security' ? 'openssh-server' : 'base-files',
        Version: '1:10.0p1-7',
      },
      ...(n.updates ?? []).flatMap((u) => {
        const v = r.pick(u);
        return v === undefined ? [] : [{ Package: u.Package, Version: v }];
      }),
    ]
      .map(
        (p) =>
          `Package: ${p.Package}\nVersion: ${p.Version}\nInstalled-Size: 1024\nMaintainer: Debian Maintainers <debian@example.org>\n` +
          `Architecture: amd64\nDescription: ${p.Package} package\nSection: admin\nPriority: optional\n` +
          `Filename: pool/${r.comp}/${p.Package[0]}/${p.Package}/${p.Package}_${p.Version}_amd64.deb\nSize: 4096\n`,
      )
      .join('\n');
    out[`${r.base}${r.comp}_binary-amd64_Packages`] = stanzas;
    out[`${r.base}InRelease`] =
      '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n' +
      Object.entries(r.fields)
        .map(([k, v]) => `${k}: ${v}\n`)
        .join('') +
      `Date: Sat, 01 Nov 2025 10:00:00 UTC\nAcquire-By-Hash: yes\nArchitectures: amd64 arm64\nComponents: ${r.comp}\n` +
      `SHA256:\n ${'0'.repeat(64)} ${Buffer.byteLength(stanzas)} ${r.comp}/binary-amd64/Packages\n` +
      '-----BEGIN PGP SIGNATURE-----\n\niQIzBAEBCgAdFiEE\n-----END PGP SIGNATURE-----\n';
  }
  return out;
}

/** GET /nodes/{node}/apt/update: the same cached array. */
export const aptUpdate = (n: NodeState): unknown[] => JSON.parse(pkgUpdatesJson(n)) as unknown[];

/**
 * GET /nodes/{node}/apt/versions: proxmox-ve (RunningKernel), pve-manager, then every installed
 * `(proxmox|pve)-kernel-*` package, newest first (pve-manager APT.pm `versions`).
 */
export function aptVersions(n: NodeState): unknown[] {
  const prefix = Number(n.pveVersion.split(/[.-]/)[0]) >= 8 ? 'proxmox-kernel' : 'pve-kernel';
  const kernels = [...new Set([n.installedKernel, n.kernel])].sort((a, b) => comparePveVersions(b, a));
  const entry = (Package: string, version: string, extra: Record<string, string> = {}) => ({
    Package,
    Title: Package,
    Description: Package,
    Origin: 'Proxmox',
    Priority: 'optional',
    Section: 'admin',
    Arch: 'amd64',
    Version: version,
    OldVersion: version,
    CurrentState: 'Installed',
    ...extra,
  });
  return [
    entry('proxmox-ve', n.pveVersion, { RunningKernel: n.kernel }),
    entry('pve-manager', n.pveVersion, { ManagerVersion: `${n.pveVersion}/${n.repoid}` }),
    ...kernels.map((k) =>
      entry(prefix === 'proxmox-kernel' ? `${prefix}-${k}-signed` : `${prefix}-${k}`, k.replace(/-pve$/, '')),
    ),
  ];
}

/** /etc/pve/ceph.conf of a PVE-managed Ceph cluster (pveceph init writes it). */
export function cephConf(c: ClusterState): string {
  return `[global]\n\tauth_client_required = cephx\n\tauth_cluster_required = cephx\n\tauth_service_required = cephx\n\tfsid = ${c.id.padEnd(8, '0').slice(0, 8)}-0000-4000-8000-000000000000\n`;
}

/** GET /cluster/ceph/status: Ceph's `status` with `health` replaced by `health detail`; 500 without Ceph. */
export function cephStatus(c: ClusterState, nodes: NodeState[]): ApiResult {
  if (!c.ceph) return err(500, 'binary not installed: /usr/bin/ceph-mon');
  // librados gives up connecting to monitors without quorum (PVE::RADOS dies with its error text;
  // inferred from the code path, no capture: pve-reference ops/08-ceph.md §8.2)
  if (c.ceph.unreachable) return err(500, 'rados_connect failed - Connection timed out');
  const checks = Object.fromEntries(
    Object.entries(c.ceph.checks).map(([code, v]) => [
      code,
      {
        severity: v.severity,
        summary: { message: v.message, count: 1 },
        detail: [{ message: v.message }],
        muted: false,
      },
    ]),
  );
  return ok({
    fsid: `${c.id.padEnd(8, '0').slice(0, 8)}-0000-4000-8000-000000000000`,
    health: { status: c.ceph.status, checks, mutes: [] },
    quorum_names: nodes.map((n) => n.name),
    osdmap: { epoch: 40, num_osds: nodes.length, num_up_osds: nodes.length, num_in_osds: nodes.length },
    pgmap: { pgs_by_state: [{ state_name: 'active+clean', count: 128 }], num_pgs: 128, num_pools: 2 },
    mgrmap: { available: true },
  });
}
