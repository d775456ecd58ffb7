import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import {
  packagesIndexKind,
  isSecurityRelease,
  parsePackagesIndex,
  parseReleaseHeader,
  releasePrefix,
} from './apt.ts';
import { summarizeUpdates } from './ops.ts';

// Head of a clear-signed InRelease of Debian's security archive (Debian repository format).
const SECURITY_INRELEASE = `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

Origin: Debian
Label: Debian-Security
Suite: stable-security
Version: 13
Codename: trixie-security
Date: Sat, 01 Nov 2025 10:00:00 UTC
Components: updates/main updates/contrib
SHA256:
 0000000000000000000000000000000000000000000000000000000000000000 1234 main/binary-amd64/Packages
`;

test('a Release head gives origin, label, suite and codename; the security archive is told by label or suite', () => {
  const h = parseReleaseHeader(SECURITY_INRELEASE);
  assert.deepEqual(h, {
    origin: 'Debian',
    label: 'Debian-Security',
    suite: 'stable-security',
    codename: 'trixie-security',
  });
  assert.equal(isSecurityRelease(h), true);
  // buster's security suite was `buster/updates`: only the label says it
  assert.equal(
    isSecurityRelease({ origin: 'Debian', label: 'Debian-Security', suite: 'oldoldstable' }),
    true,
  );
  // an archive that marks it only in the suite
  assert.equal(isSecurityRelease({ origin: 'Ubuntu', label: 'Ubuntu', suite: 'noble-security' }), true);
  assert.equal(
    isSecurityRelease({ origin: 'Debian', label: 'Debian', suite: 'stable', codename: 'trixie' }),
    false,
  );
  assert.equal(
    isSecurityRelease(parseReleaseHeader('Origin: Proxmox\nLabel: Proxmox Debian Repository\n')),
    false,
  );
});

test('a Packages index gives its package/version pairs; list file names tie indexes to their Release', () => {
  const pairs = parsePackagesIndex(
    'Package: libssl3t64\nSource: openssl\nVersion: 3.5.1-1+deb13u1\nArchitecture: amd64\n\nPackage: openssh-server\r\nVersion: 1:10.0p1-7\r\n',
  );
  assert.deepEqual([...pairs].sort(), ['libssl3t64 3.5.1-1+deb13u1', 'openssh-server 1:10.0p1-7']);
  assert.equal(
    releasePrefix('security.debian.org_debian-security_dists_trixie-security_InRelease'),
    'security.debian.org_debian-security_dists_trixie-security_',
  );
  assert.equal(
    releasePrefix('deb.debian.org_debian_dists_trixie_Release'),
    'deb.debian.org_debian_dists_trixie_',
  );
  assert.equal(releasePrefix('deb.debian.org_debian_dists_trixie_Release.gpg'), undefined);
  assert.equal(packagesIndexKind('x_dists_trixie-security_main_binary-amd64_Packages'), 'plain');
  assert.equal(packagesIndexKind('x_dists_trixie-security_main_binary-amd64_Packages.gz'), 'gz');
  assert.equal(packagesIndexKind('x_dists_trixie-security_main_binary-amd64_Packages.lz4'), 'other');
  assert.equal(packagesIndexKind('x_dists_trixie-security_main_i18n_Translation-en'), undefined);
});

test('security updates are the cached entries whose version a security index offers', () => {
  const list = [
    { Package: 'pve-manager', Origin: 'Proxmox', Version: '9.1.2', OldVersion: '9.1.1' },
    // PVE copies only Origin: the security archive's entry says Debian, like the main archive's
    { Package: 'libssl3t64', Origin: 'Debian', Version: '3.5.1-1+deb13u1', OldVersion: '3.5.1-1' },
    { Package: 'tzdata', Origin: 'Debian', Version: '2025b-4+deb13u1', OldVersion: '2025b-4' },
  ];
  const sec = new Set(['libssl3t64 3.5.1-1+deb13u1', 'tzdata 2025a-0+deb13u1']);
  assert.deepEqual(summarizeUpdates(list, sec).data, { count: 3, security: 1 });
  // without apt's lists the count of security updates is unknown, not 0
  assert.deepEqual(summarizeUpdates(list).data, { count: 3 });
  assert.equal(summarizeUpdates({}).data, undefined);
});
