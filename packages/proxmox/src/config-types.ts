/**
 * Which guest config keys the API returns as JSON numbers. Written from the `returns` schema of
 * GET /nodes/{node}/{lxc,qemu}/{vmid}/config (pve-reference/schema-extract.json, PVE 9.1.3):
 * keys typed `integer` or `boolean` come back as JSON numbers (booleans as 0/1). Keys typed
 * `number` (cpulimit, migrate_downtime) and everything else come back as JSON STRINGS because the
 * Perl API passes the stored string through (PVE 6.2 recording: `"cpulimit": "0"`). QEMU `memory`
 * became a string-typed property string in PVE 8.1, so it is a string from then on.
 */
import type { GuestKind } from './types.ts';

/**
 * LXC keys typed integer in the schema. `snaptime` is not in the config answer's schema (only
 * snapshot sections carry it) but pve-container's confdesc types it integer, so check_type makes
 * it a number.
 */
const LXC_INT = ['cores', 'cpuunits', 'memory', 'swap', 'tty', 'snaptime'];
/** LXC keys typed boolean in the schema. */
const LXC_BOOL = ['console', 'debug', 'onboot', 'protection', 'template', 'unprivileged'];

/** QEMU keys typed integer in the schema. */
const QEMU_INT = [
  'balloon',
  'cores',
  'cpuunits',
  'migrate_speed',
  'shares',
  'smp',
  'snaptime',
  'sockets',
  'vcpus',
];
/** QEMU keys typed boolean in the schema. */
const QEMU_BOOL = [
  'acpi',
  'allow-ksm',
  'autostart',
  'ciupgrade',
  'freeze',
  'keephugepages',
  'kvm',
  'localtime',
  'numa',
  'onboot',
  'protection',
  'reboot',
  'tablet',
  'tdf',
  'template',
];

export const INTEGER_KEYS: Readonly<Record<GuestKind, ReadonlySet<string>>> = {
  lxc: new Set(LXC_INT),
  qemu: new Set(QEMU_INT),
};
export const BOOLEAN_KEYS: Readonly<Record<GuestKind, ReadonlySet<string>>> = {
  lxc: new Set(LXC_BOOL),
  qemu: new Set(QEMU_BOOL),
};

/** 'integer' | 'boolean' for keys the API returns as numbers, else 'string'. */
export function configKeyType(kind: GuestKind, key: string): 'integer' | 'boolean' | 'string' {
  if (INTEGER_KEYS[kind].has(key)) return 'integer';
  if (BOOLEAN_KEYS[kind].has(key)) return 'boolean';
  return 'string';
}

/**
 * Keys that change on every write without meaning a change of the guest (the API adds `digest`,
 * SHA-1 of the whole file, to each config answer). Consumers that diff configs may ignore them.
 */
export const CONFIG_VOLATILE_KEYS: readonly string[] = ['digest'];
