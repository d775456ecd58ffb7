/**
 * Proxmox property strings (`key=value,key=value` with an optional bare value for the schema's
 * default key), sizes and tag lists. Rules from pve-common PVE::JSONSchema (parse_property_string,
 * parse_size) and PVE::Tools split_list, as summarised in pve-reference/schema-extract.json.
 */
import type { Parsed } from './types.ts';
import { show } from './scalars.ts';

/**
 * Splits a property string into its keys. Parts are separated by `,` (values never contain a
 * comma: sub-lists use `;`, e.g. `order=scsi0;ide2;net0`). A part without `=` is the value of
 * `defaultKey` (e.g. `local-lvm:vm-100-disk-0` → `volume`/`file`, `virtio` → `model`); only one
 * such part is allowed. Empty parts are skipped; a repeated key is a warning and the first wins.
 * Values are kept verbatim (no trimming: Proxmox does not trim either).
 */
export function parsePropertyString(value: string, defaultKey?: string): Parsed<Record<string, string>> {
  const data: Record<string, string> = {};
  const warnings: string[] = [];
  if (typeof value !== 'string') {
    return { data, warnings: [`property string expected, got ${show(value)}`] };
  }
  for (const part of value.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let key: string;
    let val: string;
    if (eq === -1) {
      if (defaultKey === undefined) {
        warnings.push(`property string ${show(value)}: part ${show(part)} has no key`);
        continue;
      }
      key = defaultKey;
      val = part;
    } else {
      key = part.slice(0, eq);
      val = part.slice(eq + 1);
      if (key === '') {
        warnings.push(`property string ${show(value)}: part ${show(part)} has an empty key`);
        continue;
      }
    }
    if (Object.hasOwn(data, key)) {
      warnings.push(`property string ${show(value)}: duplicate key ${show(key)}`);
      continue;
    }
    data[key] = val;
  }
  return { data, warnings };
}

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([KMGTP])?(?:i?B)?$/i;
const UNIT: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

/**
 * A Proxmox `disk-size` (`512M`, `32G`, `1T`, `1.5G`, `688658K`) in bytes. Units are binary
 * (K = 1024). A bare number is BYTES, as pve-common parse_size reads `size=`; note that the
 * `STORAGE:SIZE` allocation syntax of `pct create`/`qm create` means GiB, but that form never
 * survives into a stored config. Returns `undefined` for anything else (caller warns).
 */
export function parseSizeToBytes(value: string | number): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const m = SIZE_RE.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ? UNIT[m[2].toUpperCase()] : 1;
  if (unit === undefined || !Number.isFinite(n)) return undefined;
  const bytes = Math.round(n * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * Tags as a list. PVE writes `;`-separated tags (configs and /cluster/resources), but split_list
 * also accepts `,` and whitespace, and old or hand-edited configs hold `one, two, three`.
 * Order and spelling are kept; empties and duplicates dropped, duplicates compared as PVE does by
 * default (see tagKey).
 */
export function parseTags(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  const out: string[] = [];
  const seen = new Set<string>();
  for (const t of value.split(/[;,\s]+/)) {
    if (t === '' || seen.has(tagKey(t))) continue;
    seen.add(tagKey(t));
    out.push(t);
  }
  return out;
}

/**
 * The form in which two tags are "the same": lower case. The pve-tag format is case-insensitive
 * (`(?^i:[a-z0-9_][a-z0-9_\-\+\.]*)`) and datacenter.cfg `tag-style` has `case-sensitive`
 * defaulting to 0 (PVE 7.3 and later, still so in 9.x), so a default PVE treats `Prod` and `prod`
 * as one tag. nanny matches tags this way everywhere: stored guest tags, the read API's `?tag=`
 * filter and tag-scoped alert settings.
 */
export function tagKey(tag: string): string {
  return tag.toLowerCase();
}

/** Tags in their matching form (tagKey): parsed, lower-cased, unique, in order. */
export function tagKeys(value: unknown): string[] {
  return parseTags(value).map(tagKey);
}

/** The spec's wire form of tags: comma-separated (configs use `;`). */
export function tagsToWire(value: unknown): string {
  return parseTags(value).join(',');
}

/** Tags as PVE writes them into a guest config: `;`-separated (PVE 7.3+ also sorts them by default). */
export function tagsToConfig(tags: readonly string[]): string {
  return tags.join(';');
}
