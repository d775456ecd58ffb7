/**
 * The on-disk guest configs `/etc/pve/lxc/<vmid>.conf` and `/etc/pve/qemu-server/<vmid>.conf`, and
 * the API's config/pending answers, brought to one ConfigMap shape.
 *
 * Format rules (pve-reference/conf-examples/FORMAT.md, read from qemu-server 9.2.6 and
 * pve-container parse_*_config): `key: value` lines (the space after the colon is optional:
 * `hotplug:0` appears in real files), `#` lines are the percent-encoded description, the main
 * section ends at the first `[section]` header: `[PENDING]` (qemu) / `[pve:pending]` (lxc),
 * `[special:cloudinit]`, `[special:fleecing]`, or a snapshot `[name]`. LXC keeps `lxc.*` raw keys
 * (repeatable, `key: value` or `key = value`) in order.
 */
import { createHash } from 'node:crypto';
import type { ConfigMap, ConfigValue, GuestKind, Parsed } from './types.ts';
import { configKeyType } from './config-types.ts';
import { show, toBool01, toInt } from './scalars.ts';
import { unwrapEnvelope } from './envelope.ts';

export interface GuestConfigFile {
  /** main section, with the value types the API's GET .../config?current=1 returns (incl. `digest`) */
  current: ConfigMap;
  /** [PENDING] (qemu) / [pve:pending] (lxc) values, same typing */
  pending: ConfigMap;
  /** keys of the pending `delete:` line (a leading `!` = force is stripped) */
  pendingDelete: string[];
  /** snapshot sections by name */
  snapshots: Record<string, ConfigMap>;
  /** e.g. `cloudinit` for [special:cloudinit], `fleecing` for [special:fleecing] */
  special: Record<string, ConfigMap>;
  /** SHA-1 hex of the whole file, as the API's `digest` */
  digest: string;
}

/** qemu-server's key pattern; LXC's has no '-' (FORMAT.md). */
const QEMU_LINE = /^([a-z][a-z_-]*\d*):\s*(.+?)\s*$/;
const LXC_LINE = /^([a-z][a-z_]*\d*):\s*(.+?)\s*$/;
const LXC_RAW_LINE = /^(lxc\.[a-zA-Z0-9_.-]+)(?:\s*:|\s*=)\s*(.*?)\s*$/;
const HEADER = /^\[([^\]]*)\]\s*$/;
const SNAPNAME = /^[a-z][a-z0-9_-]+$/i;
/** qemu-server 9.x knows these special sections; any other `[special:…]` is skipped with a warning. */
const SPECIAL_SECTIONS = new Set(['special:cloudinit', 'special:fleecing']);

/** The key the API returns the `lxc.environment.runtime` lines under (NUL-joined), FORMAT.md. */
const LXC_ENV_RAW = 'lxc.environment.runtime';

/**
 * decode_text of pve-common: URI-unescape `%XX` byte escapes, then read the bytes as UTF-8.
 * A `%` not followed by two hex digits stays as it is (uri_unescape does the same).
 */
export function decodeDescriptionLine(line: string): { text: string; ok: boolean } {
  if (!line.includes('%')) return { text: line, ok: true };
  const src = Buffer.from(line, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    if (b === 0x25 && i + 2 < src.length && isHex(src[i + 1]) && isHex(src[i + 2])) {
      out.push(parseInt(String.fromCharCode(src[i + 1]!, src[i + 2]!), 16));
      i += 2;
    } else out.push(b);
  }
  const bytes = Buffer.from(out);
  const text = bytes.toString('utf8');
  // Buffer decoding replaces invalid sequences with U+FFFD; re-encoding shows whether that happened.
  return { text, ok: Buffer.from(text, 'utf8').equals(bytes) };
}

function isHex(b: number | undefined): boolean {
  return (
    b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66))
  );
}

/** Encodes a description for `#` lines the way pve-common encode_text does (used by tests and the simulator). */
export function encodeDescription(text: string): string[] {
  return text.split('\n').map((line) => {
    let out = '#';
    for (const byte of Buffer.from(line, 'utf8')) {
      const keep =
        (byte >= 0x20 && byte <= 0x24) || (byte >= 0x26 && byte <= 0x39) || (byte >= 0x3b && byte <= 0x7e);
      out += keep ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
    return out;
  });
}

interface Section {
  raw: Record<string, string>;
  lxcRaw: Array<[string, string]>;
  description: string | undefined;
  deleteLine: string | undefined;
}

const newSection = (): Section => ({ raw: {}, lxcRaw: [], description: undefined, deleteLine: undefined });

/**
 * Parses a guest config file. `current` is the main section typed like the API's config answer
 * with `current=1`; a value of an integer/boolean key that does not parse stays a string and is
 * warned about (the API would refuse such a file anyway).
 */
export function parseGuestConfigFile(text: string, kind: GuestKind): Parsed<GuestConfigFile> {
  const warnings: string[] = [];
  const lineRe = kind === 'lxc' ? LXC_LINE : QEMU_LINE;
  const main = newSection();
  let pendingSec: Section | undefined;
  const snaps = new Map<string, Section>();
  const specials = new Map<string, Section>();
  let cur: Section = main;
  let where = 'main section';

  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '');
    if (/^\s*$/.test(line)) continue;
    const at = `line ${n + 1}`;

    const h = HEADER.exec(line);
    if (h) {
      const name = h[1]!;
      const lower = name.toLowerCase();
      const pendingHeader = kind === 'qemu' ? 'pending' : 'pve:pending';
      const otherPending = kind === 'qemu' ? 'pve:pending' : 'pending';
      if (lower === pendingHeader || lower === otherPending) {
        if (lower === otherPending)
          warnings.push(`${at}: [${name}] is the pending header of the other guest kind`);
        if (pendingSec) warnings.push(`${at}: duplicate section [${name}], the later one wins`);
        pendingSec = newSection();
        cur = pendingSec;
        where = 'pending section';
      } else if (kind === 'qemu' && SPECIAL_SECTIONS.has(lower)) {
        const sname = lower.slice('special:'.length);
        if (specials.has(sname)) warnings.push(`${at}: duplicate section [${name}], the later one wins`);
        cur = newSection();
        specials.set(sname, cur);
        where = `section [${name}]`;
      } else if (SNAPNAME.test(name)) {
        if (snaps.has(name)) warnings.push(`${at}: duplicate section [${name}], the later one wins`);
        cur = newSection();
        snaps.set(name, cur);
        where = `snapshot [${name}]`;
      } else {
        // qemu-server skips unknown sections with a warning; we do the same for both kinds.
        warnings.push(`${at}: unknown section [${name}] skipped`);
        cur = newSection();
        where = `skipped section [${name}]`;
      }
      continue;
    }

    if (line.startsWith('#')) {
      const d = decodeDescriptionLine(line.slice(1));
      if (!d.ok) warnings.push(`${at}: description line is not valid UTF-8 after %-decoding`);
      cur.description = (cur.description ?? '') + d.text + '\n';
      continue;
    }

    if (kind === 'lxc') {
      const r = LXC_RAW_LINE.exec(line);
      if (r) {
        cur.lxcRaw.push([r[1]!, r[2]!]);
        continue;
      }
    }

    const m = lineRe.exec(line);
    if (!m) {
      warnings.push(`${at} (${where}): cannot parse ${show(line)}`);
      continue;
    }
    let key = m[1]!;
    const value = m[2]!;
    if (key === 'description') {
      // A `description:` line is appended decoded but, unlike `#` lines, without a newline
      // (qemu-server / pve-container parse_*_config).
      const d = decodeDescriptionLine(value);
      if (!d.ok) warnings.push(`${at}: description is not valid UTF-8 after %-decoding`);
      cur.description = (cur.description ?? '') + d.text;
      continue;
    }
    if (key === 'delete') {
      if (cur !== pendingSec) warnings.push(`${at}: 'delete' outside the pending section ignored`);
      else cur.deleteLine = value;
      continue;
    }
    // qemu-server renames the old `cdrom` key to ide2 on read.
    if (kind === 'qemu' && key === 'cdrom') key = 'ide2';
    if (Object.hasOwn(cur.raw, key))
      warnings.push(`${at} (${where}): key ${key} repeated, the later value wins`);
    cur.raw[key] = value;
  }

  const toMap = (s: Section, label: string, typed = true): ConfigMap => {
    const raw: Record<string, string | number> = { ...s.raw };
    if (s.description !== undefined) {
      // qemu-server trims trailing whitespace and keeps even an empty description (a lone `#`);
      // pve-container keeps the text as read (ending in "\n") but drops an empty one.
      if (kind === 'qemu') raw.description = s.description.replace(/\s+$/, '');
      else if (s.description !== '') raw.description = s.description;
    }
    if (s.lxcRaw.length > 0) {
      const env = s.lxcRaw.filter(([k]) => k === LXC_ENV_RAW).map(([, v]) => v);
      const rest = s.lxcRaw.filter(([k]) => k !== LXC_ENV_RAW);
      if (env.length > 0) raw.env = env.join('\0');
      if (rest.length > 0) raw.lxc = lxcRawToString(rest);
    }
    if (!typed) return raw as ConfigMap;
    const t = typeConfig(kind, raw);
    warnings.push(...t.warnings.map((w) => `${label}: ${w}`));
    return t.data;
  };

  const current = toMap(main, 'main section');
  const digest = createHash('sha1').update(text, 'utf8').digest('hex');
  current.digest = digest;
  const pending = pendingSec ? toMap(pendingSec, 'pending section') : {};
  const pendingDelete = pendingSec?.deleteLine
    ? pendingSec.deleteLine
        .split(/[,;\s]+/)
        .map((k) => k.replace(/^!/, ''))
        .filter((k) => k !== '')
    : [];
  const snapshots: Record<string, ConfigMap> = {};
  for (const [name, s] of snaps) snapshots[name] = toMap(s, `snapshot [${name}]`);
  const special: Record<string, ConfigMap> = {};
  // qemu-server stores special sections without type checks ("only used for informative purpose").
  for (const [name, s] of specials) special[name] = toMap(s, `section [special:${name}]`, false);

  return { data: { current, pending, pendingDelete, snapshots, special, digest }, warnings };
}

/**
 * The scalar form of LXC raw keys in a ConfigMap: one `key: value` line per entry, in file order.
 * The API answers them as `"lxc": [["lxc.cgroup2.devices.allow", "c 226:0 rwm"], …]`, but a config
 * map (and the wire contract's `config`) holds scalars only, and both sources must give the same map.
 */
export function lxcRawToString(entries: ReadonlyArray<readonly [string, string]>): string {
  return entries.map(([k, v]) => `${k}: ${v}`).join('\n');
}

function typeConfig(kind: GuestKind, raw: Record<string, unknown>): Parsed<ConfigMap> {
  const data: ConfigMap = {};
  const warnings: string[] = [];
  for (const [key, v] of Object.entries(raw)) {
    if (v === undefined || v === null) continue;
    const t = configKeyType(kind, key);
    if (t === 'integer') {
      const n = toInt(v);
      if (n === undefined) {
        warnings.push(`${key}=${show(v)} is not an integer`);
        data[key] = String(v);
      } else data[key] = n;
    } else if (t === 'boolean') {
      const b = v === '' ? undefined : toBool01(v);
      if (b === undefined) {
        warnings.push(`${key}=${show(v)} is not a boolean`);
        data[key] = String(v);
      } else data[key] = b ? 1 : 0;
    } else if (typeof v === 'string') {
      data[key] = v;
    } else if (typeof v === 'number' || typeof v === 'boolean') {
      // The API sends string-typed keys as strings; a number here came from an older release
      // (pre-8.1 qemu `memory`) or a hand-built map: keep it, the builders read both.
      data[key] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
    } else if (key === 'lxc' && Array.isArray(v)) {
      const pairs = v.filter(
        (e): e is [string, string] =>
          Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'string',
      );
      if (pairs.length !== v.length)
        warnings.push(`lxc: ${v.length - pairs.length} raw entries are not [key, value]`);
      data[key] = lxcRawToString(pairs);
    } else {
      warnings.push(`${key}: unexpected ${Array.isArray(v) ? 'array' : typeof v} value ${show(v)} dropped`);
    }
  }
  return { data, warnings };
}

/**
 * Types a raw key→string map (e.g. a parsed file section) like the API's config answer: integer
 * and boolean keys as numbers, everything else as strings. Unparseable values stay strings; use
 * {@link normalizeApiConfig} to get the warnings too.
 */
export function typedConfig(kind: GuestKind, raw: Record<string, string | number>): ConfigMap {
  return typeConfig(kind, raw).data;
}

/**
 * An API config answer (pvesh output, or the `data` of /api2/json) as a ConfigMap: numbers sent
 * as strings by older releases become numbers where the schema says integer/boolean, `true`/`false`
 * become 1/0, and the LXC `lxc` array becomes its scalar form ({@link lxcRawToString}).
 */
export function normalizeApiConfig(kind: GuestKind, raw: unknown): Parsed<ConfigMap> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { data: {}, warnings: [`config answer is not an object: ${show(raw)}`] };
  }
  // Accept the /api2/json envelope too.
  const inner = unwrapEnvelope(raw);
  if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) {
    return { data: {}, warnings: [`config answer is not an object: ${show(raw)}`] };
  }
  return typeConfig(kind, inner as Record<string, unknown>);
}

/** Keys with a pending change: pending values plus pending deletes, sorted. */
export function pendingKeysOf(file: Pick<GuestConfigFile, 'pending' | 'pendingDelete'>): string[] {
  return [...new Set([...Object.keys(file.pending), ...file.pendingDelete])].sort();
}

/** One element of GET /nodes/{node}/{lxc|qemu}/{vmid}/pending. */
export interface PendingEntry {
  key: string;
  /** the current (running) value; absent for a key only added as pending */
  value?: ConfigValue | Array<[string, string]>;
  /** the pending new value */
  pending?: ConfigValue | Array<[string, string]>;
  /** 1 = delete pending, 2 = forced delete */
  delete?: number;
}

/**
 * GET …/pending gives running values AND pending keys in one call: `current` is every entry's
 * `value` (typed like the config answer), `pendingKeys` every key with `pending` or `delete`.
 * Two differences from `config?current=1` (pve-guest-common config_with_pending_array): the
 * answer includes `digest` as an entry, and it has NO raw `lxc.*` keys (array values are skipped),
 * so a container's `lxc` key is only available from the config endpoint or the file.
 */
export function configFromPending(
  kind: GuestKind,
  entries: PendingEntry[],
): { current: ConfigMap; pendingKeys: string[]; warnings: string[] } {
  const raw: Record<string, unknown> = {};
  const pendingKeys = new Set<string>();
  const warnings: string[] = [];
  for (const e of entries) {
    if (!e || typeof e.key !== 'string') {
      warnings.push(`pending entry without key: ${show(e)}`);
      continue;
    }
    if (e.value !== undefined) raw[e.key] = e.value;
    if (e.pending !== undefined || (e.delete !== undefined && e.delete !== 0)) pendingKeys.add(e.key);
  }
  const typed = typeConfig(kind, raw);
  return {
    current: typed.data,
    pendingKeys: [...pendingKeys].sort(),
    warnings: [...warnings, ...typed.warnings],
  };
}

/** Whether a config map describes a template (`template: 1`). */
export function isTemplateConfig(config: ConfigMap): boolean {
  return toBool01(config.template) === true;
}
