/**
 * The `Package Version` pairs that apt's security archives offer (issue 15), from the lists in
 * `/var/lib/apt/lists` (`NANNYAGENT_APT_LISTS`): the mark PVE's update cache does not carry
 * (@nanny/proxmox apt.ts). No process: a cycle costs one readdir and a stat per Release file and per
 * security index (plain, or `.gz` read with zlib); a file is read again only when its mtime or size changed (apt-get update, daily by
 * pveupdate). The lists live as long as the source (the daemon).
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  packagesIndexKind,
  isSecurityRelease,
  parsePackagesIndex,
  parseReleaseHeader,
  releasePrefix,
} from '@nanny/proxmox';

/** The Release fields sit in the first lines; the checksum lists after them can be hundreds of KiB. */
const RELEASE_HEAD_BYTES = 8192;

async function head(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(RELEASE_HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

const stamp = (s: { mtimeMs: number; size: number }) => `${s.mtimeMs}:${s.size}`;

export interface AptSecurityIndex {
  /** the security archives' package versions; undefined when apt's lists cannot be read */
  versions(): Promise<ReadonlySet<string> | undefined>;
}

export function createAptSecurityIndex(listsDir: string): AptSecurityIndex {
  const releases = new Map<string, { stamp: string; security: boolean }>();
  const indexes = new Map<string, { stamp: string; pairs: Set<string> }>();
  let union: { key: string; set: Set<string> } | undefined;

  return {
    async versions() {
      let names: string[];
      try {
        names = await readdir(listsDir);
      } catch {
        return undefined; // no apt lists: whether an update is a security one is unknown
      }
      const prefixes: string[] = [];
      for (const name of names) {
        const prefix = releasePrefix(name);
        if (prefix === undefined) continue;
        const path = join(listsDir, name);
        const st = await stat(path).catch(() => undefined);
        if (!st) continue;
        let r = releases.get(path);
        if (r?.stamp !== stamp(st)) {
          r = { stamp: stamp(st), security: isSecurityRelease(parseReleaseHeader(await head(path))) };
          releases.set(path, r);
        }
        if (r.security) prefixes.push(prefix);
      }
      const security = names.filter((n) => prefixes.some((p) => n.startsWith(p)));
      // apt keeps indexes uncompressed unless told otherwise (Acquire::GzipIndexes: .gz, read with
      // zlib); an index only in another compression cannot be read without a process: unknown
      if (security.some((n) => packagesIndexKind(n) === 'other')) {
        const readable = new Set(
          security.filter((n) => packagesIndexKind(n) === 'plain' || packagesIndexKind(n) === 'gz'),
        );
        if (readable.size === 0) return undefined;
      }
      const wanted = security
        .filter((n) => packagesIndexKind(n) === 'plain' || packagesIndexKind(n) === 'gz')
        .sort();
      const parts: string[] = [];
      for (const name of wanted) {
        const path = join(listsDir, name);
        const st = await stat(path).catch(() => undefined);
        if (!st) continue;
        let ix = indexes.get(path);
        if (ix?.stamp !== stamp(st)) {
          const raw = await readFile(path);
          const text = (packagesIndexKind(name) === 'gz' ? gunzipSync(raw) : raw).toString('utf8');
          ix = { stamp: stamp(st), pairs: parsePackagesIndex(text) };
          indexes.set(path, ix);
        }
        parts.push(`${name}@${ix.stamp}`);
      }
      for (const p of [...indexes.keys()])
        if (!wanted.some((n) => join(listsDir, n) === p)) indexes.delete(p);
      const key = parts.join('|');
      if (union?.key !== key) {
        const set = new Set<string>();
        for (const ix of indexes.values()) for (const x of ix.pairs) set.add(x);
        union = { key, set };
      }
      return union.set;
    },
  };
}
