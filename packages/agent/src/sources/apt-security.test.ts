import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createAptSecurityIndex } from './apt-security.ts';

const release = (label: string, suite: string) =>
  `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\nLabel: ${label}\nSuite: ${suite}\n`;
const pkgs = (...pv: [string, string][]) => pv.map(([p, v]) => `Package: ${p}\nVersion: ${v}\n`).join('\n');

function lists(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'apt-lists-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sec = 'security.debian.org_debian-security_dists_trixie-security_';
  const main = 'deb.debian.org_debian_dists_trixie_';
  writeFileSync(join(dir, `${sec}InRelease`), release('Debian-Security', 'stable-security'));
  writeFileSync(join(dir, `${sec}main_binary-amd64_Packages`), pkgs(['libssl3t64', '3.5.1-1+deb13u1']));
  writeFileSync(join(dir, `${main}InRelease`), release('Debian', 'stable'));
  writeFileSync(join(dir, `${main}main_binary-amd64_Packages`), pkgs(['tzdata', '2025b-4+deb13u1']));
  writeFileSync(join(dir, 'lock'), '');
  return dir;
}

test("apt's security indexes give their package versions; the main archive's are not among them", async (t) => {
  const dir = lists(t);
  const ix = createAptSecurityIndex(dir);
  assert.deepEqual([...((await ix.versions()) ?? [])], ['libssl3t64 3.5.1-1+deb13u1']);
  // apt-get update brought a new security index: read again
  writeFileSync(
    join(dir, 'security.debian.org_debian-security_dists_trixie-security_main_binary-amd64_Packages'),
    pkgs(['libssl3t64', '3.5.1-1+deb13u2'], ['openssh-server', '1:10.0p1-7+deb13u1']),
  );
  assert.deepEqual([...((await ix.versions()) ?? [])].sort(), [
    'libssl3t64 3.5.1-1+deb13u2',
    'openssh-server 1:10.0p1-7+deb13u1',
  ]);
});

test('without apt lists the security versions are unknown', async () => {
  const ix = createAptSecurityIndex('/nonexistent/apt/lists');
  assert.equal(await ix.versions(), undefined);
});

test('gzip-compressed indexes (Acquire::GzipIndexes) are read; an index only in lz4 makes the count unknown', async (t) => {
  const dir = lists(t);
  const sec = 'security.debian.org_debian-security_dists_trixie-security_';
  rmSync(join(dir, `${sec}main_binary-amd64_Packages`));
  writeFileSync(
    join(dir, `${sec}main_binary-amd64_Packages.gz`),
    gzipSync(pkgs(['libssl3t64', '3.5.1-1+deb13u1'])),
  );
  assert.deepEqual(
    [...((await createAptSecurityIndex(dir).versions()) ?? [])],
    ['libssl3t64 3.5.1-1+deb13u1'],
  );
  rmSync(join(dir, `${sec}main_binary-amd64_Packages.gz`));
  writeFileSync(join(dir, `${sec}main_binary-amd64_Packages.lz4`), 'not readable here');
  assert.equal(await createAptSecurityIndex(dir).versions(), undefined);
});
