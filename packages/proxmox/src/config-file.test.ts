import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import {
  configFromPending,
  decodeDescriptionLine,
  encodeDescription,
  normalizeApiConfig,
  parseGuestConfigFile,
  pendingKeysOf,
  typedConfig,
  type PendingEntry,
} from './config-file.ts';

const fixture = (p: string) => readFileSync(new URL(`../fixtures/${p}`, import.meta.url), 'utf8');
const withoutDigest = <T extends Record<string, unknown>>(m: T) => {
  const { digest: _d, ...rest } = m;
  return rest;
};

test('the LXC file main section equals the API answer of config?current=1, types included', () => {
  const file = parseGuestConfigFile(fixture('conf/lxc-101.conf'), 'lxc');
  assert.deepEqual(file.warnings, []);
  const api = normalizeApiConfig('lxc', JSON.parse(fixture('api/lxc-101.config-current.json')));
  assert.deepEqual(api.warnings, []);
  assert.deepEqual(withoutDigest(file.data.current), api.data);
  assert.equal(file.data.current.memory, 2048);
  assert.equal(file.data.current.protection, 1, '`protection:1` without a space');
  assert.equal(file.data.current.unprivileged, 1);
  assert.equal(typeof file.data.current.rootfs, 'string');
});

test('the QEMU file main section equals the API answer, cdrom renamed to ide2 and memory a string', () => {
  const file = parseGuestConfigFile(fixture('conf/qemu-201.conf'), 'qemu');
  assert.deepEqual(file.warnings, []);
  const api = normalizeApiConfig('qemu', JSON.parse(fixture('api/qemu-201.config-current.json')));
  assert.deepEqual(api.warnings, []);
  assert.deepEqual(withoutDigest(file.data.current), withoutDigest(api.data));
  assert.equal(file.data.current.ide2, 'local:iso/debian-12.8.0-amd64-netinst.iso,media=cdrom');
  assert.equal(file.data.current.cdrom, undefined);
  assert.equal(file.data.current.memory, '16384', 'PVE ≥ 8.1 returns memory as a string');
  assert.equal(file.data.current.hotplug, 'disk,network,usb');
  assert.equal(file.data.current.tablet, 0);
  assert.equal(file.data.current.sockets, 2);
});

test('digest is the SHA-1 of the whole file, as the API reports it', () => {
  const text = fixture('conf/qemu-201.conf');
  const file = parseGuestConfigFile(text, 'qemu');
  const sha1 = createHash('sha1').update(text).digest('hex');
  assert.equal(file.data.digest, sha1);
  assert.equal(file.data.current.digest, sha1);
});

test('percent-encoded # lines become the description: %3A, %25 and UTF-8 bytes decoded', () => {
  const file = parseGuestConfigFile(fixture('conf/lxc-101.conf'), 'lxc');
  assert.equal(
    file.data.current.description,
    'Reverse proxy for the intranet: nginx + certbot\n\nOwner: ops % on-call, café team\n',
  );
  const q = parseGuestConfigFile(fixture('conf/qemu-201.conf'), 'qemu');
  assert.equal(q.data.current.description, 'Primary PostgreSQL: do not migrate during business hours');
});

test('description encoding round-trips and a bad escape stays literal', () => {
  const text = 'a: b %\ncafé #1';
  const lines = encodeDescription(text);
  assert.deepEqual(lines, ['#a%3A b %25', '#caf%C3%A9 #1']);
  assert.equal(lines.map((l) => decodeDescriptionLine(l.slice(1)).text).join('\n'), text);
  assert.deepEqual(decodeDescriptionLine('100%zz'), { text: '100%zz', ok: true });
  assert.equal(decodeDescriptionLine('%FF').ok, false);
});

test('a lone # keeps an empty QEMU description and a `description:` line appends without newline', () => {
  assert.equal(parseGuestConfigFile('#\nname: a\n', 'qemu').data.current.description, '');
  assert.equal(parseGuestConfigFile('name: a\n', 'qemu').data.current.description, undefined);
  assert.equal(
    parseGuestConfigFile('#one\ndescription: two%3A\n', 'qemu').data.current.description,
    'one\ntwo:',
  );
  assert.equal(parseGuestConfigFile('hostname: a\n', 'lxc').data.current.description, undefined);
});

test('LXC pending section, pending delete with force marker and snapshot sections are separated', () => {
  const file = parseGuestConfigFile(fixture('conf/lxc-101.conf'), 'lxc');
  assert.deepEqual(file.data.pending, { cores: 4, memory: 4096 });
  assert.deepEqual(file.data.pendingDelete, ['net1', 'tags']);
  assert.deepEqual(pendingKeysOf(file.data), ['cores', 'memory', 'net1', 'tags']);
  assert.deepEqual(Object.keys(file.data.snapshots), ['before-upgrade']);
  const snap = file.data.snapshots['before-upgrade']!;
  assert.equal(snap.memory, 1024);
  assert.equal(snap.snaptime, 1732000000);
  assert.equal(snap.description, 'snapshot before the nginx upgrade\n');
  assert.equal(file.data.current.memory, 2048, 'pending values do not leak into the current map');
});

test('QEMU [PENDING], [special:cloudinit] and snapshot with vmstate are separated', () => {
  const file = parseGuestConfigFile(fixture('conf/qemu-201.conf'), 'qemu');
  assert.deepEqual(file.data.pending, { memory: '32768' });
  assert.deepEqual(file.data.pendingDelete, ['balloon']);
  assert.deepEqual(file.data.special, { cloudinit: { name: 'db01' } });
  const snap = file.data.snapshots['pre-17']!;
  assert.equal(snap.vmstate, 'local-lvm:vm-201-state-pre-17');
  assert.equal(snap.snaptime, 1730000000);
  assert.equal(file.data.current.balloon, 8192);
});

test('repeatable lxc.* raw keys keep file order in both the `key: value` and `key = value` forms', () => {
  const file = parseGuestConfigFile(fixture('conf/lxc-101.conf'), 'lxc');
  assert.equal(
    file.data.current.lxc,
    'lxc.cgroup2.devices.allow: c 10:200 rwm\nlxc.mount.entry: /dev/net dev/net none bind,create=dir\nlxc.cgroup2.devices.allow: c 226:128 rwm',
  );
  const empty = parseGuestConfigFile('lxc.cap.drop: \nhostname: x\n', 'lxc');
  assert.deepEqual(empty.warnings, []);
  assert.equal(empty.data.current.lxc, 'lxc.cap.drop: ');
});

test('unparseable lines, delete outside pending, unknown and duplicate sections are warnings', () => {
  const r = parseGuestConfigFile(
    'name: a\nthis is not a config line\ndelete: name\ncores: many\n\n[PENDING]\ncores: 2\n\n[PENDING]\ncores: 3\n\n[special:nope]\nx: 1\n\n[:3]\n',
    'qemu',
  );
  assert.equal(r.data.current.name, 'a');
  assert.equal(r.data.current.cores, 'many', 'kept as read, with a warning');
  assert.deepEqual(r.data.pending, { cores: 3 });
  const w = r.warnings.join('\n');
  assert.match(w, /cannot parse "this is not a config line"/);
  assert.match(w, /'delete' outside the pending section/);
  assert.match(w, /cores="many" is not an integer/);
  assert.match(w, /duplicate section \[PENDING\]/);
  assert.match(w, /unknown section \[special:nope\]/);
  assert.match(w, /unknown section \[:3\]/);
  assert.equal(r.warnings.length, 6);
});

test('CRLF line ends, blank lines with spaces and trailing whitespace are tolerated', () => {
  const r = parseGuestConfigFile('name: a  \r\n   \r\ncores:2\r\n', 'qemu');
  assert.deepEqual(r.warnings, []);
  assert.equal(r.data.current.name, 'a');
  assert.equal(r.data.current.cores, 2);
});

test('typedConfig types integer and boolean keys per guest kind and leaves the rest as strings', () => {
  assert.deepEqual(typedConfig('lxc', { memory: '2048', cpulimit: '0', onboot: 'yes', hostname: 'a' }), {
    memory: 2048,
    cpulimit: '0',
    onboot: 1,
    hostname: 'a',
  });
  assert.deepEqual(typedConfig('qemu', { memory: '2048', numa: '0', cores: '2' }), {
    memory: '2048',
    numa: 0,
    cores: 2,
  });
});

test('normalizeApiConfig accepts pvesh (bare) and API (enveloped) answers and numbers as strings', () => {
  const bare = normalizeApiConfig('lxc', {
    memory: '2048',
    swap: 512,
    unprivileged: true,
    lxc: [['lxc.a', 'b']],
  });
  assert.deepEqual(bare, {
    data: { memory: 2048, swap: 512, unprivileged: 1, lxc: 'lxc.a: b' },
    warnings: [],
  });
  const env = normalizeApiConfig('qemu', { data: { cores: '4' } });
  assert.deepEqual(env.data, { cores: 4 });
  assert.equal(normalizeApiConfig('qemu', [1]).warnings.length, 1);
  assert.equal(normalizeApiConfig('qemu', { nested: { a: 1 } }).warnings.length, 1);
});

test('GET …/pending gives the running values and the pending keys in one call', () => {
  const entries = JSON.parse(fixture('api/lxc-101.pending.json')).data as PendingEntry[];
  const r = configFromPending('lxc', entries);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.pendingKeys, ['cores', 'memory', 'net1', 'tags']);
  const api = normalizeApiConfig('lxc', JSON.parse(fixture('api/lxc-101.config-current.json')));
  // The pending endpoint adds `digest` and leaves out the raw lxc.* keys (array values are skipped
  // by pve-guest-common config_with_pending_array).
  const { digest, ...rest } = r.current;
  assert.equal(digest, '3f786850e387550fdab836ed7e6dc881de23001b');
  const { lxc, ...apiWithoutRaw } = api.data;
  assert.equal(typeof lxc, 'string');
  assert.deepEqual(rest, apiWithoutRaw);
  const file = parseGuestConfigFile(fixture('conf/lxc-101.conf'), 'lxc');
  assert.deepEqual(r.pendingKeys, pendingKeysOf(file.data));
});

test('a pending entry only added as pending has no current value', () => {
  const r = configFromPending('qemu', [
    { key: 'cores', value: 2 },
    { key: 'bios', pending: 'ovmf' },
    { key: 'numa', value: 0, delete: 0 },
  ]);
  assert.deepEqual(r.current, { cores: 2, numa: 0 });
  assert.deepEqual(r.pendingKeys, ['bios']);
});
