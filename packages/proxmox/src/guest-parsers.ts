/**
 * Typed parsers for the property strings of guest configs: networks, disks/mount points, LXC
 * features, QEMU agent/boot/memory. Formats: pve-reference/schema-extract.json (PVE 9.1.3 schema).
 * Each returns `{ data, warnings }`: a value it cannot read is left out of `data` and named in a
 * warning, never turned into 0, false or ''.
 */
import type { GuestDisk, GuestNetwork } from '@nanny/schema';
import type { ConfigMap, GuestKind, Parsed } from './types.ts';
import { parsePropertyString, parseSizeToBytes } from './property-string.ts';
import { show, toBool01, toInt, toNumber } from './scalars.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** QEMU NIC models: each also works as a key whose value is the MAC (`virtio=BC:24:…`). */
export const QEMU_NIC_MODELS: readonly string[] = [
  'e1000',
  'e1000-82540em',
  'e1000-82544gc',
  'e1000-82545em',
  'e1000e',
  'i82551',
  'i82557b',
  'i82559er',
  'ne2k_isa',
  'ne2k_pci',
  'pcnet',
  'rtl8139',
  'virtio',
  'vmxnet3',
];

class Fields {
  readonly warnings: string[];
  constructor(
    private readonly where: string,
    private readonly map: Record<string, string>,
    warnings: string[],
  ) {
    this.warnings = warnings;
  }
  str(k: string): string | undefined {
    return this.map[k];
  }
  bool(k: string): boolean | undefined {
    const v = this.map[k];
    if (v === undefined) return undefined;
    const b = toBool01(v);
    if (b === undefined || v === '') this.warnings.push(`${this.where}: ${k}=${show(v)} is not a boolean`);
    return v === '' ? undefined : b;
  }
  int(k: string): number | undefined {
    const v = this.map[k];
    if (v === undefined) return undefined;
    const n = toInt(v);
    if (n === undefined || n < 0) {
      this.warnings.push(`${this.where}: ${k}=${show(v)} is not a non-negative integer`);
      return undefined;
    }
    return n;
  }
  num(k: string): number | undefined {
    const v = this.map[k];
    if (v === undefined) return undefined;
    const n = toNumber(v);
    if (n === undefined || n < 0) {
      this.warnings.push(`${this.where}: ${k}=${show(v)} is not a non-negative number`);
      return undefined;
    }
    return n;
  }
  size(k: string): number | undefined {
    const v = this.map[k];
    if (v === undefined) return undefined;
    const n = parseSizeToBytes(v);
    if (n === undefined) this.warnings.push(`${this.where}: ${k}=${show(v)} is not a disk size`);
    return n;
  }
}

/** Sets `o[k] = v` only when v is defined (exactOptionalPropertyTypes-friendly). */
function put<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
}

const IP4_RE = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;
const IP6_RE = /^[0-9a-fA-F:.]+\/\d{1,3}$/;

function checkIp(f: Fields, where: string, key: 'ip' | 'ip6', v: string | undefined): void {
  if (v === undefined) return;
  const words = key === 'ip' ? ['dhcp', 'manual'] : ['dhcp', 'manual', 'auto'];
  const ok = words.includes(v) || (key === 'ip' ? IP4_RE.test(v) : IP6_RE.test(v));
  if (!ok) f.warnings.push(`${where}: ${key}=${show(v)} is neither a CIDR nor ${words.join('/')}`);
}

/**
 * LXC `net[n]`: `name=eth0,bridge=vmbr0,firewall=1,gw=10.0.1.1,hwaddr=BC:24:…,ip=10.0.1.100/24,type=veth`.
 * `ip` may be CIDR, `dhcp` or `manual`; `ip6` also `auto`.
 */
export function parseLxcNet(key: string, value: string): Parsed<GuestNetwork> {
  const p = parsePropertyString(value, 'name');
  const f = new Fields(key, p.data, [...p.warnings]);
  const net: Mutable<GuestNetwork> = { key };
  put(net, 'name', f.str('name'));
  put(net, 'type', f.str('type'));
  put(net, 'hwaddr', f.str('hwaddr'));
  put(net, 'bridge', f.str('bridge'));
  put(net, 'ip', f.str('ip'));
  put(net, 'gw', f.str('gw'));
  put(net, 'ip6', f.str('ip6'));
  put(net, 'gw6', f.str('gw6'));
  checkIp(f, key, 'ip', net.ip);
  checkIp(f, key, 'ip6', net.ip6);
  put(net, 'firewall', f.bool('firewall'));
  put(net, 'vlan_tag', f.int('tag'));
  put(net, 'mtu', f.int('mtu'));
  put(net, 'rate_mbytes_per_s', f.num('rate'));
  put(net, 'link_down', f.bool('link_down'));
  if (net.name === undefined) f.warnings.push(`${key}: no interface name (name=)`);
  return { data: net, warnings: f.warnings };
}

/**
 * QEMU `net[n]`: `virtio=BC:24:11:AB:CD:EF,bridge=vmbr0,firewall=1,tag=10,queues=4`. The model is
 * written as a key whose value is the MAC (schema keyAlias), or as `model=…,macaddr=…`, or bare.
 */
export function parseQemuNet(key: string, value: string): Parsed<GuestNetwork> {
  const p = parsePropertyString(value, 'model');
  const map = { ...p.data };
  const warnings = [...p.warnings];
  for (const m of QEMU_NIC_MODELS) {
    if (map[m] === undefined) continue;
    if (map.model !== undefined) warnings.push(`${key}: NIC model given twice (${map.model}, ${m})`);
    else map.model = m;
    if (map.macaddr === undefined) map.macaddr = map[m];
    delete map[m];
  }
  const f = new Fields(key, map, warnings);
  const net: Mutable<GuestNetwork> = { key };
  put(net, 'model', f.str('model'));
  put(net, 'hwaddr', f.str('macaddr'));
  put(net, 'bridge', f.str('bridge'));
  put(net, 'firewall', f.bool('firewall'));
  put(net, 'vlan_tag', f.int('tag'));
  put(net, 'mtu', f.int('mtu'));
  put(net, 'rate_mbytes_per_s', f.num('rate'));
  put(net, 'queues', f.int('queues'));
  put(net, 'link_down', f.bool('link_down'));
  if (net.model === undefined) f.warnings.push(`${key}: no NIC model in ${show(value)}`);
  return { data: net, warnings: f.warnings };
}

const STORAGE_VOL_RE = /^([a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]|[a-zA-Z]):(.+)$/;

/** `local-lvm:vm-100-disk-0` → `local-lvm`; host paths, `none`, `cdrom` → undefined. */
export function storageOfVolume(volume: string): string | undefined {
  if (volume.startsWith('/')) return undefined;
  const m = STORAGE_VOL_RE.exec(volume);
  return m ? m[1] : undefined;
}

/**
 * LXC `rootfs` / `mp[n]` / `unused[n]`: `local-lvm:vm-100-disk-0,size=32G`,
 * `/mnt/storage,mp=/data,backup=1` (bind mount: no storage).
 */
export function parseLxcMount(key: string, value: string): Parsed<GuestDisk> {
  const p = parsePropertyString(value, 'volume');
  const f = new Fields(key, p.data, [...p.warnings]);
  const volume = f.str('volume');
  if (volume === undefined || volume === '') {
    f.warnings.push(`${key}: no volume in ${show(value)}`);
  }
  const disk: Mutable<GuestDisk> & { acl?: boolean; quota?: boolean } = { key, volume: volume ?? '' };
  put(disk, 'storage', volume ? storageOfVolume(volume) : undefined);
  put(disk, 'size_bytes', f.size('size'));
  if (key === 'rootfs') disk.mount_path = '/';
  else put(disk, 'mount_path', f.str('mp'));
  if (/^mp\d+$/.test(key) && disk.mount_path === undefined) f.warnings.push(`${key}: no mount path (mp=)`);
  put(disk, 'backup', f.bool('backup'));
  put(disk, 'read_only', f.bool('ro'));
  put(disk, 'acl', f.bool('acl'));
  put(disk, 'quota', f.bool('quota'));
  put(disk, 'replicate', f.bool('replicate'));
  put(disk, 'shared', f.bool('shared'));
  return { data: disk, warnings: f.warnings };
}

/**
 * QEMU drives `ide[n]`/`sata[n]`/`scsi[n]`/`virtio[n]`/`efidisk0`/`tpmstate0`/`unused[n]`:
 * `local-lvm:vm-200-disk-0,iothread=1,size=500G`, `local:iso/x.iso,media=cdrom`, `none,media=cdrom`.
 * `media` defaults to "disk" for bus drives (schema default).
 */
export function parseQemuDisk(key: string, value: string): Parsed<GuestDisk> {
  const p = parsePropertyString(value, 'file');
  const map = { ...p.data };
  // efidisk/tpmstate accept `volume=` as an alias of `file=`.
  if (map.file === undefined && map.volume !== undefined) map.file = map.volume;
  const f = new Fields(key, map, [...p.warnings]);
  const volume = f.str('file');
  if (volume === undefined || volume === '') f.warnings.push(`${key}: no volume in ${show(value)}`);
  const disk: Mutable<GuestDisk> = { key, volume: volume ?? '' };
  put(disk, 'storage', volume ? storageOfVolume(volume) : undefined);
  put(disk, 'size_bytes', f.size('size'));
  if (/^(ide|sata|scsi|virtio)\d+$/.test(key)) {
    const media = f.str('media') ?? 'disk';
    if (media !== 'disk' && media !== 'cdrom') f.warnings.push(`${key}: media=${show(media)} is unknown`);
    disk.media = media;
  }
  put(disk, 'iothread', f.bool('iothread'));
  put(disk, 'cache', f.str('cache'));
  put(disk, 'discard', f.str('discard'));
  put(disk, 'ssd', f.bool('ssd'));
  put(disk, 'backup', f.bool('backup'));
  put(disk, 'read_only', f.bool('ro'));
  put(disk, 'replicate', f.bool('replicate'));
  put(disk, 'shared', f.bool('shared'));
  return { data: disk, warnings: f.warnings };
}

const LXC_BOOL_FEATURES = new Set(['nesting', 'keyctl', 'fuse', 'mknod', 'force_rw_sys']);

/** LXC `features`: `nesting=1,keyctl=1,mount=nfs;cifs` → `{nesting: true, keyctl: true, mount: "nfs;cifs"}`. */
export function parseLxcFeatures(value: string): Parsed<Record<string, boolean | string>> {
  const p = parsePropertyString(value);
  const warnings = [...p.warnings];
  const data: Record<string, boolean | string> = {};
  for (const [k, v] of Object.entries(p.data)) {
    if (LXC_BOOL_FEATURES.has(k)) {
      const b = v === '' ? undefined : toBool01(v);
      if (b === undefined) warnings.push(`features: ${k}=${show(v)} is not a boolean`);
      else data[k] = b;
    } else {
      // `mount` and features newer than this table stay strings.
      data[k] = v;
    }
  }
  return { data, warnings };
}

/** QEMU `agent`: `1`, `0`, `enabled=1,fstrim_cloned_disks=1`, `1,type=isa`. Absent `enabled` = 0. */
export function parseQemuAgent(
  value: string | number,
): Parsed<{ enabled: boolean; fstrimClonedDisks?: boolean; type?: string; freezeFs?: boolean }> {
  const p = parsePropertyString(String(value), 'enabled');
  const f = new Fields('agent', p.data, [...p.warnings]);
  const enabled = f.bool('enabled');
  const data: { enabled: boolean; fstrimClonedDisks?: boolean; type?: string; freezeFs?: boolean } = {
    enabled: enabled ?? false,
  };
  put(data, 'fstrimClonedDisks', f.bool('fstrim_cloned_disks'));
  put(data, 'type', f.str('type'));
  // `freeze-fs-on-backup` / `guest-fsfreeze` are older aliases of `freeze-fs` (schema 9.1).
  put(data, 'freezeFs', f.bool('freeze-fs') ?? f.bool('freeze-fs-on-backup') ?? f.bool('guest-fsfreeze'));
  return { data, warnings: f.warnings };
}

/**
 * QEMU `boot`: `order=scsi0;ide2;net0` (PVE ≥ 6.3) or the legacy letters `cdn` (c = disk,
 * d = cdrom, n = network, a = floppy), bare or as `legacy=cdn`. Legacy `order` is the letters.
 */
export function parseBoot(value: string): Parsed<{ order: string[]; legacy: boolean }> {
  const p = parsePropertyString(value, 'legacy');
  const warnings = [...p.warnings];
  const order = p.data.order;
  if (order !== undefined) {
    const list = order.split(';').filter((d) => d !== '');
    return { data: { order: list, legacy: false }, warnings };
  }
  const legacy = p.data.legacy;
  if (legacy !== undefined) {
    if (!/^[acdn]{1,4}$/.test(legacy)) warnings.push(`boot: legacy order ${show(legacy)} is not [acdn]{1,4}`);
    return { data: { order: legacy.split(''), legacy: true }, warnings };
  }
  if (value.trim() === '') return { data: { order: [], legacy: false }, warnings };
  warnings.push(`boot: ${show(value)} has neither order= nor legacy letters`);
  return { data: { order: [], legacy: false }, warnings };
}

/**
 * QEMU `memory` in MiB: a number (up to PVE 8.0), or since PVE 8.1 (qemu-server 8.0.8) a property
 * string `[current=]<MiB>` that the API returns as a string ("4096"). The balloon target lives in
 * the separate `balloon` key; pass it to get `balloonMb`.
 */
export function parseQemuMemory(
  value: string | number,
  balloon?: string | number,
): Parsed<{ currentMb: number; balloonMb?: number }> {
  const warnings: string[] = [];
  let current: number | undefined;
  if (typeof value === 'number') current = toInt(value);
  else {
    const p = parsePropertyString(value, 'current');
    warnings.push(...p.warnings);
    current = toInt(p.data.current);
  }
  const data: { currentMb: number; balloonMb?: number } = { currentMb: current ?? 0 };
  if (current === undefined || current < 0) {
    warnings.push(`memory: ${show(value)} is not a MiB count`);
  }
  if (balloon !== undefined) {
    const b = toInt(balloon);
    if (b === undefined || b < 0) warnings.push(`balloon: ${show(balloon)} is not a MiB count`);
    else data.balloonMb = b;
  }
  return { data, warnings };
}

function indexOf(key: string): number {
  const m = /(\d+)$/.exec(key);
  return m ? Number(m[1]) : -1;
}

/** Config keys matching `re`, in a stable order: by the given prefix order, then numeric index. */
function keysIn(config: ConfigMap, prefixes: readonly string[], re: RegExp): string[] {
  const rank = (k: string) => prefixes.findIndex((p) => k.startsWith(p));
  return Object.keys(config)
    .filter((k) => re.test(k))
    .sort((a, b) => rank(a) - rank(b) || indexOf(a) - indexOf(b) || a.localeCompare(b));
}

/** Every `net[n]` of a config, parsed, in index order. */
export function guestNetworks(kind: GuestKind, config: ConfigMap): Parsed<GuestNetwork[]> {
  const data: GuestNetwork[] = [];
  const warnings: string[] = [];
  for (const key of keysIn(config, ['net'], /^net\d+$/)) {
    const raw = config[key];
    if (typeof raw !== 'string') {
      warnings.push(`${key}: property string expected, got ${show(raw)}`);
      continue;
    }
    const r = kind === 'lxc' ? parseLxcNet(key, raw) : parseQemuNet(key, raw);
    data.push(r.data);
    warnings.push(...r.warnings);
  }
  return { data, warnings };
}

const LXC_DISK_PREFIXES = ['rootfs', 'mp', 'unused'] as const;
const QEMU_DISK_PREFIXES = ['ide', 'sata', 'scsi', 'virtio', 'efidisk', 'tpmstate', 'unused'] as const;

/** Every disk of a config: LXC rootfs/mp[n]/unused[n]; QEMU ide/sata/scsi/virtio/efidisk/tpmstate/unused. */
export function guestDisks(kind: GuestKind, config: ConfigMap): Parsed<GuestDisk[]> {
  const data: GuestDisk[] = [];
  const warnings: string[] = [];
  const keys =
    kind === 'lxc'
      ? keysIn(config, LXC_DISK_PREFIXES, /^(rootfs|mp\d+|unused\d+)$/)
      : keysIn(config, QEMU_DISK_PREFIXES, /^((ide|sata|scsi|virtio|unused)\d+|efidisk0|tpmstate0)$/);
  for (const key of keys) {
    const raw = config[key];
    if (typeof raw !== 'string') {
      warnings.push(`${key}: property string expected, got ${show(raw)}`);
      continue;
    }
    const r = kind === 'lxc' ? parseLxcMount(key, raw) : parseQemuDisk(key, raw);
    data.push(r.data);
    warnings.push(...r.warnings);
  }
  return { data, warnings };
}
