/**
 * Which pending updates are security updates (issue 15). pve-manager's cache
 * (`/var/lib/pve-manager/pkgupdates`, APT.pm `assemble_pkginfo`) copies only the `Origin` of the
 * candidate's repository, and Debian's security archive has `Origin: Debian` like the main archive
 * (pve-reference ops/05-updates.md §5.4): the mark has to come from apt's own lists. apt keeps, per
 * configured repository, its `Release`/`InRelease` file and one `Packages` index per component and
 * architecture in `/var/lib/apt/lists/`, named after the URI with `/` → `_`
 * (`security.debian.org_debian-security_dists_trixie-security_InRelease`,
 * `…_dists_trixie-security_main_binary-amd64_Packages`). Formats: Debian repository format
 * (wiki.debian.org/DebianRepository/Format): deb822 stanzas of `Field: value` lines.
 */

export interface ReleaseHeader {
  origin?: string;
  label?: string;
  suite?: string;
  codename?: string;
}

/**
 * The single-line fields of a `Release` or clear-signed `InRelease` file. Only the head is needed:
 * the checksum lists that follow are multi-line fields (continuation lines start with a space).
 */
export function parseReleaseHeader(text: string): ReleaseHeader {
  const out: ReleaseHeader = {};
  for (const line of text.split('\n')) {
    const m = /^(Origin|Label|Suite|Codename):[ \t]*(\S.*?)\s*$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase() as keyof ReleaseHeader;
    out[key] ??= m[2]!;
  }
  return out;
}

/**
 * A security archive: Debian labels it `Debian-Security` (its suite is `<codename>-security` since
 * bullseye, `<codename>/updates` before); Ubuntu-style archives only say it in the suite.
 */
export function isSecurityRelease(h: ReleaseHeader): boolean {
  if (h.label !== undefined && /-security$/i.test(h.label)) return true;
  return [h.suite, h.codename].some((s) => s !== undefined && /-security$/i.test(s));
}

/** `Package Version` pairs of a `Packages` index (one stanza per binary package version). */
export function parsePackagesIndex(text: string): Set<string> {
  const out = new Set<string>();
  let pkg: string | undefined;
  let version: string | undefined;
  const flush = () => {
    if (pkg !== undefined && version !== undefined) out.add(`${pkg} ${version}`);
    pkg = version = undefined;
  };
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith('Package:')) pkg = line.slice(8).trim();
    else if (line.startsWith('Version:')) version = line.slice(8).trim();
  }
  flush();
  return out;
}

/** The list file names of one repository's indexes: everything after `<prefix>` of its Release file. */
export function releasePrefix(fileName: string): string | undefined {
  const m = /^(.*_)(?:In)?Release$/.exec(fileName);
  return m ? m[1] : undefined;
}

/**
 * A binary `Packages` index: uncompressed (apt's default), `.gz` (`Acquire::GzipIndexes`), or in
 * another compression (`.lz4`, `.xz`…) that the caller may not be able to read.
 */
export function packagesIndexKind(fileName: string): 'plain' | 'gz' | 'other' | undefined {
  const m = /_Packages(\.[a-z0-9]+)?$/.exec(fileName);
  if (!m) return undefined;
  return m[1] === undefined ? 'plain' : m[1] === '.gz' ? 'gz' : 'other';
}
