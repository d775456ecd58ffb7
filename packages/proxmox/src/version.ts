/**
 * PVE version strings: `pve-manager` versions (`7.4-3` up to 7.x, `8.4.11` from 8.0 on), release
 * `x.y`, kernel versions (`6.8.12-15-pve`). The one comparison of them for the whole repository.
 */

/**
 * -1, 0 or 1. Parts split on `.` and `-` compare numerically when both are numbers, else as text;
 * a missing part counts as 0, so `7.4-3` < `7.4-16` < `8.0.3` and `8.4` = `8.4.0`.
 */
export function comparePveVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const nx = Number(x);
    const ny = Number(y);
    const d = x === '' || y === '' || Number.isNaN(nx) || Number.isNaN(ny) ? x.localeCompare(y) : nx - ny;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Major release of a version (`8.4.11` → 8, `7.4-3` → 7); NaN when it does not start with one. */
export function pveMajor(version: string): number {
  return Number(version.split(/[.-]/)[0]);
}

/** `x.y` release of a version (`8.4.11` → `8.4`, `7.4-3` → `7.4`, `9` → `9.0`). */
export function pveRelease(version: string): string {
  const [maj, min] = version.split(/[.-]/);
  return `${maj}.${min ?? '0'}`;
}
