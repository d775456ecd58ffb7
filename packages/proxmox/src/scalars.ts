/**
 * Lenient scalar helpers. Proxmox sends integers as numbers in current releases but as
 * numeric-looking strings in older ones (PVE 6.2/7.x lists: `"vmid": "106"`), 0/1 for booleans,
 * and `template: ""` for "no" on PVE 6.2. These return `undefined` for anything they cannot read,
 * so the caller can turn it into a warning instead of a silent 0.
 */

const INT_RE = /^[+-]?\d+$/;
const NUM_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** An integer from a number or a decimal string; `undefined` for fractions, garbage, null. */
export function toInt(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v === 'string') {
    const s = v.trim();
    if (!INT_RE.test(s)) return undefined;
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

/** A finite number from a number or a numeric string ("0.16", "1e3"). */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') {
    const s = v.trim();
    if (!NUM_RE.test(s)) return undefined;
    const n = Number(s);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/**
 * A boolean from what Proxmox uses for one: true/false, 0/1, "0"/"1", the property-string words
 * on/off, yes/no, true/false (pve-common parse_boolean), and `""` — PVE 6.2 sent `template: ""`
 * for non-templates.
 */
export function toBool01(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : undefined;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === '1' || s === 'on' || s === 'yes' || s === 'true') return true;
    if (s === '0' || s === 'off' || s === 'no' || s === 'false' || s === '') return false;
  }
  return undefined;
}

/** 0/1 integer form of {@link toBool01}, for fields the spec sends as 0/1. */
export function toFlag01(v: unknown): 0 | 1 | undefined {
  const b = toBool01(v);
  return b === undefined ? undefined : b ? 1 : 0;
}

/** Short printable form of a value for warnings (bounded, JSON-quoted). */
export function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
