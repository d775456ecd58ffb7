// PVE release profiles: what `pveversion`, /version and /nodes/{node}/status report for a version.
// Package names, the order rules and the version styles follow pve-manager's bin/pveversion and
// PVE/API2/APT.pm (see ../shared/pve-reference/cli/SOURCES.md): 7.x uses "7.4-16" and 8-hex repoids,
// 8.x/9.x use "8.4.14" and 16-hex repoids; 7.x kernels are pve-kernel-*, 8.x/9.x proxmox-kernel-*.
import { comparePveVersions, pveMajor, pveRelease } from '@nanny/proxmox';
import { hashSeed, createRng } from './rng.ts';

export interface ReleaseProfile {
  version: string;
  release: string;
  repoid: string;
  proxmoxVe: string;
  /** default running kernel (uname -r) and its build string (uname -v) */
  kernel: string;
  kernelBuild: string;
  /** fixed package list (name → version), printed sorted after the kernel packages */
  packages: Record<string, string>;
  kernelHelper: string;
}

const PKG9: Record<string, string> = {
  'ceph-fuse': '19.2.3-pve1',
  corosync: '3.1.9-pve2',
  criu: '4.1.1-1',
  'frr-pythontools': '10.3.1-1+pve4',
  ifupdown2: '3.3.0-1+pmx11',
  'ksm-control-daemon': '1.5-1',
  'libjs-extjs': '7.0.0-5',
  'libproxmox-acme-perl': '1.7.0',
  'libproxmox-backup-qemu0': '2.0.1',
  'libproxmox-rs-perl': '0.4.1',
  'libpve-access-control': '9.0.4',
  'libpve-apiclient-perl': '3.4.2',
  'libpve-cluster-api-perl': '9.0.7',
  'libpve-cluster-perl': '9.0.7',
  'libpve-common-perl': '9.0.15',
  'libpve-guest-common-perl': '6.0.2',
  'libpve-http-server-perl': '6.0.5',
  'libpve-network-perl': '1.2.3',
  'libpve-rs-perl': '0.11.3',
  'libpve-storage-perl': '9.1.0',
  'libspice-server1': '0.15.2-1+b1',
  lvm2: '2.03.31-2+pmx1',
  'lxc-pve': '6.0.5-3',
  lxcfs: '6.0.4-pve1',
  'novnc-pve': '1.6.0-3',
  'proxmox-backup-client': '4.1.0-1',
  'proxmox-backup-file-restore': '4.1.0-1',
  'proxmox-backup-restore-image': '1.0.0',
  'proxmox-firewall': '1.2.1',
  'proxmox-mail-forward': '1.0.2',
  'proxmox-mini-journalreader': '1.6',
  'proxmox-offline-mirror-helper': '0.7.3',
  'proxmox-widget-toolkit': '5.1.2',
  'pve-cluster': '9.0.7',
  'pve-container': '6.0.18',
  'pve-docs': '9.1.1',
  'pve-edk2-firmware': '4.2025.05-2',
  'pve-esxi-import-tools': '1.0.1',
  'pve-firewall': '6.0.4',
  'pve-firmware': '3.17-2',
  'pve-ha-manager': '5.0.8',
  'pve-i18n': '3.6.4',
  'pve-qemu-kvm': '10.1.2-4',
  'pve-xtermjs': '5.5.0-3',
  'qemu-server': '9.1.0',
  smartmontools: '7.4-pve1',
  spiceterm: '3.4.1',
  swtpm: '0.8.0+pve3',
  vncterm: '1.9.1',
  'zfsutils-linux': '2.3.4-pve1',
};

const PKG8: Record<string, string> = {
  'ceph-fuse': '17.2.8-pve2',
  corosync: '3.1.9-pve1',
  criu: '3.17.1-2+deb12u1',
  'glusterfs-client': '10.3-5',
  ifupdown2: '3.2.0-1+pmx11',
  'ksm-control-daemon': '1.5-1',
  'libjs-extjs': '7.0.0-5',
  libknet1: '1.30-pve2',
  'libproxmox-acme-perl': '1.6.0',
  'libproxmox-backup-qemu0': '1.5.2',
  'libproxmox-rs-perl': '0.3.5',
  'libpve-access-control': '8.2.2',
  'libpve-apiclient-perl': '3.3.2',
  'libpve-cluster-api-perl': '8.1.2',
  'libpve-cluster-perl': '8.1.2',
  'libpve-common-perl': '8.3.4',
  'libpve-guest-common-perl': '5.2.2',
  'libpve-http-server-perl': '5.2.2',
  'libpve-network-perl': '0.11.2',
  'libpve-rs-perl': '0.9.4',
  'libpve-storage-perl': '8.3.7',
  'libspice-server1': '0.15.1-1',
  lvm2: '2.03.16-2',
  'lxc-pve': '6.0.0-1',
  lxcfs: '6.0.0-pve2',
  'novnc-pve': '1.6.0-2',
  'proxmox-backup-client': '3.4.7-1',
  'proxmox-backup-file-restore': '3.4.7-1',
  'proxmox-firewall': '0.7.1',
  'proxmox-mail-forward': '0.3.3',
  'proxmox-mini-journalreader': '1.5',
  'proxmox-offline-mirror-helper': '0.6.7',
  'proxmox-widget-toolkit': '4.3.13',
  'pve-cluster': '8.1.2',
  'pve-container': '5.3.3',
  'pve-docs': '8.4.1',
  'pve-edk2-firmware': '4.2025.02-4~bpo12+1',
  'pve-esxi-import-tools': '0.7.4',
  'pve-firewall': '5.1.2',
  'pve-firmware': '3.16-3',
  'pve-ha-manager': '4.0.7',
  'pve-i18n': '3.4.5',
  'pve-qemu-kvm': '9.2.0-7',
  'pve-xtermjs': '5.5.0-2',
  'qemu-server': '8.4.4',
  smartmontools: '7.3-pve1',
  spiceterm: '3.3.1',
  swtpm: '0.8.0+pve1',
  vncterm: '1.8.1',
  'zfsutils-linux': '2.2.8-pve1',
};

const PKG7: Record<string, string> = {
  'ceph-fuse': '15.2.17-pve1',
  corosync: '3.1.7-pve1',
  criu: '3.15-1+pve-1',
  'glusterfs-client': '9.2-1',
  ifupdown2: '3.1.0-1+pmx4',
  'ksm-control-daemon': '1.4-1',
  'libjs-extjs': '7.0.0-1',
  libknet1: '1.24-pve2',
  'libproxmox-acme-perl': '1.4.4',
  'libproxmox-backup-qemu0': '1.3.1-1',
  'libpve-access-control': '7.4.1',
  'libpve-apiclient-perl': '3.2-1',
  'libpve-common-perl': '7.4-2',
  'libpve-guest-common-perl': '4.2-4',
  'libpve-http-server-perl': '4.2-3',
  'libpve-storage-perl': '7.4-3',
  'libspice-server1': '0.14.3-2.1',
  lvm2: '2.03.11-2.1',
  'lxc-pve': '5.0.2-2',
  lxcfs: '5.0.3-pve1',
  'novnc-pve': '1.4.0-1',
  'proxmox-backup-client': '2.4.3-1',
  'proxmox-backup-file-restore': '2.4.3-1',
  'proxmox-mini-journalreader': '1.3-1',
  'proxmox-widget-toolkit': '3.7.3',
  'pve-cluster': '7.3-3',
  'pve-container': '4.4-6',
  'pve-docs': '7.4-2',
  'pve-edk2-firmware': '3.20230228-4~bpo11+1',
  'pve-firewall': '4.3-5',
  'pve-firmware': '3.6-5',
  'pve-ha-manager': '3.6.1',
  'pve-i18n': '2.12-1',
  'pve-qemu-kvm': '7.2.0-8',
  'pve-xtermjs': '4.16.0-2',
  'qemu-server': '7.4-4',
  smartmontools: '7.2-pve3',
  spiceterm: '3.2-2',
  swtpm: '0.8.0~bpo11+3',
  vncterm: '1.7-1',
  'zfsutils-linux': '2.1.11-pve1',
};

const KNOWN: Record<string, Omit<ReleaseProfile, 'packages' | 'version' | 'release'>> = {
  '9.1.1': {
    repoid: '42db4a6cf33dac83',
    proxmoxVe: '9.1.0',
    kernel: '6.17.2-2-pve',
    kernelBuild: '#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-2 (2025-11-26T12:33Z)',
    kernelHelper: '9.0.4',
  },
  '8.4.14': {
    repoid: 'b502d23c55afcba1',
    proxmoxVe: '8.4.0',
    kernel: '6.8.12-15-pve',
    kernelBuild: '#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-15 (2025-09-12T11:02Z)',
    kernelHelper: '8.1.4',
  },
  '7.4-16': {
    repoid: '0f39f621',
    proxmoxVe: '7.4-1',
    kernel: '5.15.108-1-pve',
    kernelBuild: '#1 SMP PVE 5.15.108-2 (2023-07-20T10:06Z)',
    kernelHelper: '7.2-14',
  },
};

export const DEFAULT_PVE_VERSION = '9.1.1';

// The one version arithmetic of the repository lives in @nanny/proxmox; these names stay for the
// simulator's callers.
export const majorOf = pveMajor;
export const releaseOf = pveRelease;

/** Profile of a PVE version; versions not in the table borrow the package set of their major release. */
export function releaseProfile(version: string): ReleaseProfile {
  if (!/^\d+\.\d+([.-]\d+)?$/.test(version)) throw new Error(`not a PVE version: '${version}'`);
  const major = majorOf(version);
  const known = KNOWN[version];
  const rng = createRng(hashSeed('repoid', version));
  const base =
    known ??
    (major >= 9
      ? { ...KNOWN['9.1.1']!, repoid: rng.hex(16) }
      : major === 8
        ? { ...KNOWN['8.4.14']!, repoid: rng.hex(16) }
        : { ...KNOWN['7.4-16']!, repoid: rng.hex(8) });
  const packages = major >= 9 ? PKG9 : major === 8 ? PKG8 : PKG7;
  // proxmox-ve (the meta package) follows the release: 9.2.1 → 9.2.0; 7.x style 7.4-16 → 7.4-1
  const proxmoxVe = known
    ? base.proxmoxVe
    : major >= 8
      ? `${releaseOf(version)}.0`
      : `${releaseOf(version)}-1`;
  return { ...base, proxmoxVe, version, release: releaseOf(version), packages };
}

/** `pveversion` (short): pve-manager/<version>/<repoid> (running kernel: <uname -r>) */
export function pveversionShort(version: string, repoid: string, kernel: string): string {
  return `pve-manager/${version}/${repoid} (running kernel: ${kernel})\n`;
}

/** Kernel package name and series for the kernel list of `pveversion -v`. */
function kernelLines(major: number, running: string, installed: string, helper: string): string[] {
  const prefix = major >= 8 ? 'proxmox-kernel' : 'pve-kernel';
  const series = (k: string): string => k.split('.').slice(0, 2).join('.');
  const pkgVer = (k: string): string => k.replace(/-pve$/, '');
  const kernels = [...new Set([installed, running])].sort((a, b) => comparePveVersions(b, a));
  // The real tool lists every package matching ^(pve|proxmox)-kernel- sorted by version (descending),
  // which also matches the kernel helper package (8.x/9.x: printed first, and again in the fixed list).
  const lines: string[] = [];
  if (major >= 8) lines.push(`${prefix}-helper: ${helper}`);
  const seenSeries = new Set<string>();
  for (const k of kernels) {
    const s = series(k);
    if (major >= 8) lines.push(`${prefix}-${k}-signed: ${pkgVer(k)}`);
    if (!seenSeries.has(s)) {
      seenSeries.add(s);
      lines.push(`${prefix}-${s}: ${major >= 8 ? pkgVer(k) : helper}`);
      if (major < 8 && seenSeries.size === 1) lines.push(`${prefix}-helper: ${helper}`);
    }
    if (major < 8) lines.push(`${prefix}-${k}: ${pkgVer(k)}`);
  }
  return lines;
}

/** `pveversion --verbose`: "pkg: version" lines in the real order. */
export function pveversionVerbose(
  version: string,
  repoid: string,
  runningKernel: string,
  installedKernel: string,
): string {
  const p = releaseProfile(version);
  const major = majorOf(version);
  const lines = [
    `proxmox-ve: ${p.proxmoxVe} (running kernel: ${runningKernel})`,
    `pve-manager: ${version} (running version: ${version}/${repoid})`,
    ...kernelLines(major, runningKernel, installedKernel, p.kernelHelper),
  ];
  const fixed: Record<string, string> = { ...p.packages };
  if (major >= 8) fixed['proxmox-kernel-helper'] = p.kernelHelper;
  for (const name of Object.keys(fixed).sort()) lines.push(`${name}: ${fixed[name]}`);
  return lines.join('\n') + '\n';
}
