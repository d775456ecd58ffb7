/**
 * Conformance over ../shared/pve-reference (real Proxmox data gathered from public sources) and
 * the spec's examples in ../shared/spec. Both folders sit beside the repository (CI clones the repo
 * with `shared/` next to it), so they are resolved relative to this file, never as /work/shared.
 * Absent folders make the tests skip with a plain message.
 */
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validatePayload, type PayloadKind } from '@nanny/schema';
import {
  buildClusterPayload,
  buildLxcPayload,
  buildNodePayload,
  buildQemuPayload,
  clusterFingerprint,
  configFromPending,
  guestDisks,
  guestNetworks,
  normalizeApiConfig,
  parseBoot,
  parseGuestConfigFile,
  parseLxcFeatures,
  parsePropertyString,
  parsePvecmStatus,
  parsePveversion,
  parseQemuAgent,
  parseQemuMemory,
  parseTags,
  unwrapEnvelope,
  type ClusterResource,
  type ClusterStatusEntry,
  type ClusterStatusNode,
  type ConfigMap,
  type GuestKind,
  type NodeStatus,
  type PendingEntry,
  type ReportMeta,
} from './index.ts';

const REF = fileURLToPath(new URL('../../../../shared/pve-reference', import.meta.url));
const SPEC = fileURLToPath(new URL('../../../../shared/spec/PROXMOX_INTEGRATION.md', import.meta.url));
const SCHEMA_FIXTURES = fileURLToPath(new URL('../../schema/fixtures/valid', import.meta.url));
const haveRef = existsSync(REF) && statSync(REF).isDirectory();
const SKIP_REF = '../shared/pve-reference not found: conformance skipped';

const meta: ReportMeta = { collectedAt: '2026-11-25T22:00:00.000Z', agentVersion: '0.1.0' };

/**
 * Warnings we expect, per reference file, each with why. Every entry must actually occur (so the
 * list cannot go stale) and no other warning may appear.
 */
const EXPECTED_WARNINGS: Record<string, { why: string; patterns: RegExp[] }> = {
  'conf-examples/upstream-qemu-server/parse-config-input.duplicate-sections.conf': {
    why: "qemu-server's own test input for the 'duplicate section' warning",
    patterns: [
      /duplicate section \[PENDING\]/,
      /duplicate section \[special:cloudinit\]/,
      /duplicate section \[foo\]/,
    ],
  },
  'conf-examples/upstream-qemu-server/parse-config-input.unknown-sections.conf': {
    why: "qemu-server's own test input for 'skipping unknown section'",
    patterns: [
      /unknown section \[special:unknown123\]/,
      /unknown section \[special:unknown124\]/,
      /unknown section \[special:unknown125\]/,
      /unknown section \[:3\]/,
    ],
  },
  'conf-examples/upstream-qemu-server/parse-config-input.cloudinit-snapshot.conf': {
    why: 'upstream test input with an invalid boolean (numa) in a snapshot section',
    patterns: [/snapshot \[cloudinit\]: numa="verify meee~ :\)" is not a boolean/],
  },
  'conf-examples/upstream-qemu-server/parse-config-input.verify-snapshot.conf': {
    why: 'upstream test input with an invalid boolean (numa) in a snapshot section',
    patterns: [/snapshot \[snap\]: numa="verify meee~ :\)" is not a boolean/],
  },
};

function checkWarnings(rel: string, warnings: string[]): void {
  const allowed = EXPECTED_WARNINGS[rel];
  if (!allowed) {
    assert.deepEqual(warnings, [], `${rel}: unexpected warnings`);
    return;
  }
  const unexpected = warnings.filter((w) => !allowed.patterns.some((p) => p.test(w)));
  assert.deepEqual(unexpected, [], `${rel}: unexpected warnings`);
  for (const p of allowed.patterns)
    assert.ok(
      warnings.some((w) => p.test(w)),
      `${rel}: expected warning ${p} did not occur`,
    );
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else out.push(full);
  }
  return out;
}

const rel = (full: string) => full.slice(REF.length + 1);
const trustOf = (file: string) => (/SYNTHETIC/.test(file) ? 'SYNTHETIC' : 'REAL/REAL?');

// ---------------------------------------------------------------------------------------------
// Property strings, data-driven from the official schema extract (PVE 9.1.3)

interface FormatInfo {
  keys?: Set<string>;
  defaultKey?: string;
  named?: string;
}
type Schema = { property_strings: Record<string, { format?: unknown }> };

/** Default keys of the named (string) formats, from pve-reference/schema-extract.json named_formats_notes. */
const NAMED_DEFAULT_KEY: Record<string, string | undefined> = {
  'pve-qm-hostpci': 'host',
  'pve-startup-order': 'order',
  'pve-vm-cpu-conf': 'cputype',
  'pve-qm-rng': 'source',
  'pve-qm-ipconfig': undefined,
  'pve-qm-smbios1': undefined,
  'pve-qm-cicustom': undefined,
  'pve-hotplug-features': undefined,
};
const HOTPLUG_WORDS = new Set(['network', 'disk', 'cpu', 'memory', 'usb', 'cloudinit']);

function formatTable(): Map<string, { re: RegExp; info: FormatInfo }> {
  const schema = JSON.parse(readFileSync(join(REF, 'schema-extract.json'), 'utf8')) as Schema;
  const table = new Map<string, { re: RegExp; info: FormatInfo }>();
  for (const [name, def] of Object.entries(schema.property_strings)) {
    const dot = name.indexOf('.');
    const kind = name.slice(0, dot);
    const key = name.slice(dot + 1);
    const re = new RegExp(`^${key.replace('[n]', '\\d+')}$`);
    const f = def.format;
    let info: FormatInfo | undefined;
    if (f && typeof f === 'object') {
      const entries = Object.entries(f as Record<string, { default_key?: number }>);
      const dk = entries.find(([, v]) => v && v.default_key)?.[0];
      info = { keys: new Set(entries.map(([k]) => k)), ...(dk ? { defaultKey: dk } : {}) };
    } else if (
      typeof f === 'string' &&
      (f in NAMED_DEFAULT_KEY || f === 'pve-tag-list' || f === 'pve-qm-boot')
    ) {
      const dk = NAMED_DEFAULT_KEY[f];
      info = { named: f, ...(dk ? { defaultKey: dk } : {}) };
    }
    if (info) table.set(`${kind}:${key}`, { re, info });
  }
  return table;
}

/** Parses every property-string value of a config map; returns the problems found and how many were checked. */
function checkPropertyStrings(
  kind: GuestKind,
  config: ConfigMap,
  table: Map<string, { re: RegExp; info: FormatInfo }>,
): { problems: string[]; checked: number } {
  const problems: string[] = [];
  let checked = 0;
  for (const [key, value] of Object.entries(config)) {
    let entry: FormatInfo | undefined;
    for (const [k, v] of table) if (k.startsWith(`${kind}:`) && v.re.test(key)) entry = v.info;
    if (!entry) continue;
    const text = String(value);
    checked++;
    if (entry.named === 'pve-tag-list') {
      if (parseTags(text).length === 0) problems.push(`${key}: no tags in ${JSON.stringify(text)}`);
      continue;
    }
    if (entry.named === 'pve-hotplug-features') {
      // A plain list, not key=value: "network,disk,usb", or 0/1 for none/default (qemu-server).
      const ok = /^[01]$/.test(text) || text.split(',').every((w) => HOTPLUG_WORDS.has(w));
      if (!ok) problems.push(`${key}: ${JSON.stringify(text)} is not a hotplug feature list`);
      continue;
    }
    if (entry.named === 'pve-qm-boot') {
      problems.push(...parseBoot(text).warnings.map((w) => `${key}: ${w}`));
      continue;
    }
    const p = parsePropertyString(text, entry.defaultKey);
    problems.push(...p.warnings.map((w) => `${key}: ${w}`));
    if (entry.keys) {
      for (const k of Object.keys(p.data)) {
        if (!entry.keys.has(k))
          problems.push(`${key}: key ${JSON.stringify(k)} is not in the ${kind} schema`);
      }
    }
  }
  // The typed parsers on top.
  const typed = [...guestNetworks(kind, config).warnings, ...guestDisks(kind, config).warnings];
  if (kind === 'lxc' && typeof config.features === 'string')
    typed.push(...parseLxcFeatures(config.features).warnings);
  if (kind === 'qemu') {
    if (config.agent !== undefined) typed.push(...parseQemuAgent(config.agent).warnings);
    if (config.memory !== undefined) typed.push(...parseQemuMemory(config.memory).warnings);
  }
  problems.push(...typed);
  return { problems, checked };
}

function assertValid(kind: PayloadKind, body: unknown, label: string): void {
  const r = validatePayload(kind, body);
  assert.ok(r.ok, `${label}: ${r.ok ? '' : JSON.stringify(r.issues)}`);
}

const covered = { real: 0, synthetic: 0, conf: 0, cli: 0, propertyStrings: 0 };
function count(file: string): void {
  if (trustOf(file) === 'SYNTHETIC') covered.synthetic++;
  else covered.real++;
}

// ---------------------------------------------------------------------------------------------

test('every recorded config and pending response parses with no warning and builds a valid payload', (t) => {
  if (!requires(t, 'reference', haveRef, SKIP_REF)) return;
  const table = formatTable();
  const files = walk(join(REF, 'fixtures')).filter(
    (f) => f.endsWith('.json') && /(lxc|qemu)-\d+\.(config|pending)/.test(f),
  );
  assert.ok(files.length >= 10, `only ${files.length} config responses found`);
  for (const file of files) {
    const name = rel(file);
    const kind: GuestKind = /lxc-\d+/.test(file) ? 'lxc' : 'qemu';
    const raw = unwrapEnvelope(JSON.parse(readFileSync(file, 'utf8')));
    let config: ConfigMap;
    const warnings: string[] = [];
    let pendingKeys: string[] | undefined;
    if (/\.pending/.test(file)) {
      const r = configFromPending(kind, raw as PendingEntry[]);
      config = r.current;
      pendingKeys = r.pendingKeys;
      warnings.push(...r.warnings);
    } else {
      const r = normalizeApiConfig(kind, raw);
      config = r.data;
      warnings.push(...r.warnings);
    }
    const ps = checkPropertyStrings(kind, config, table);
    covered.propertyStrings += ps.checked;
    checkWarnings(name, [...warnings, ...ps.problems]);
    const vmid = Number(/(?:lxc|qemu)-(\d+)/.exec(file)?.[1]);
    const res: ClusterResource = {
      id: `${kind}/${vmid}`,
      type: kind,
      vmid,
      node: 'node1',
      status: 'running',
    };
    const m = pendingKeys ? { ...meta, pendingKeys } : meta;
    const p = kind === 'lxc' ? buildLxcPayload(res, config, m) : buildQemuPayload(res, config, m);
    checkWarnings(name, p.warnings);
    assertValid(kind, p.data, name);
    if (trustOf(file) === 'SYNTHETIC') covered.synthetic++;
    else covered.real++;
  }
});

test('every recorded /cluster/status, node status and guest list builds valid payloads without warnings', (t) => {
  if (!requires(t, 'reference', haveRef, SKIP_REF)) return;
  const all = walk(join(REF, 'fixtures')).filter((f) => f.endsWith('.json'));
  const statusFiles = all.filter((f) => /cluster-status\./.test(f));
  const nodeStatusFiles = all.filter((f) => /nodes-[^/]*-status|nodes-X-status|nodes-proxmox-status/.test(f));
  const resourceFiles = all.filter((f) => /cluster-resources|nodes-[^/]*-(lxc|qemu)\.list/.test(f));
  assert.ok(statusFiles.length >= 2 && nodeStatusFiles.length >= 4 && resourceFiles.length >= 4);
  for (const file of statusFiles) {
    const name = rel(file);
    const status = unwrapEnvelope(JSON.parse(readFileSync(file, 'utf8'))) as ClusterStatusEntry[];
    const local = status.find((e): e is ClusterStatusNode => e.type === 'node' && Number(e.local) === 1);
    const c = buildClusterPayload(status, { ...meta, reportingNode: local?.name ?? 'x' });
    assert.ok(c, `${name}: a clustered status gives a cluster payload`);
    checkWarnings(name, c.warnings);
    assert.equal(c.data.cluster_id, 'cluster');
    assertValid('cluster', c.data, name);
    for (const e of status) {
      if (e.type !== 'node') continue;
      const n = buildNodePayload({ nodeName: e.name, clusterStatus: status }, meta);
      checkWarnings(name, n.warnings);
      assertValid('node', n.data, `${name} ${e.name}`);
    }
    count(file);
  }
  for (const file of nodeStatusFiles) {
    const name = rel(file);
    const ns = unwrapEnvelope(JSON.parse(readFileSync(file, 'utf8'))) as NodeStatus;
    const n = buildNodePayload({ nodeName: 'node1', nodeStatus: ns }, meta);
    checkWarnings(name, n.warnings);
    assertValid('node', n.data, name);
    assert.equal(typeof n.data.mem_total_bytes, 'number', `${name}: memory read`);
    assert.equal(typeof n.data.uptime_seconds, 'number', `${name}: uptime read`);
    count(file);
  }
  for (const file of resourceFiles) {
    const name = rel(file);
    const list = unwrapEnvelope(JSON.parse(readFileSync(file, 'utf8'))) as ClusterResource[];
    const listKind = /-(lxc|qemu)\.list/.exec(file)?.[1];
    let guests = 0;
    for (const raw of list) {
      // /nodes/{node}/{lxc,qemu} lists carry neither id, type nor node.
      const e: ClusterResource = listKind
        ? { ...raw, type: listKind, id: `${listKind}/${String(raw.vmid)}`, node: raw.node ?? 'testnode' }
        : raw;
      if (e.type !== 'lxc' && e.type !== 'qemu') continue;
      guests++;
      const p = e.type === 'lxc' ? buildLxcPayload(e, {}, meta) : buildQemuPayload(e, {}, meta);
      checkWarnings(name, p.warnings);
      assertValid(e.type, p.data, `${name} ${e.id}`);
      assert.equal(p.data.vmid, Number(e.vmid));
    }
    if (guests > 0) count(file);
  }
});

test('every conf file in conf-examples parses, its property strings included, with no unexpected warning', (t) => {
  if (!requires(t, 'reference', haveRef, SKIP_REF)) return;
  const table = formatTable();
  const files = walk(join(REF, 'conf-examples')).filter((f) => f.endsWith('.conf'));
  assert.ok(files.length >= 30, `only ${files.length} conf files found`);
  for (const file of files) {
    const name = rel(file);
    const kind: GuestKind = /\/lxc\/|pve-container/.test(file) ? 'lxc' : 'qemu';
    const parsed = parseGuestConfigFile(readFileSync(file, 'utf8'), kind);
    const warnings = [...parsed.warnings];
    const sections: ConfigMap[] = [
      parsed.data.current,
      parsed.data.pending,
      ...Object.values(parsed.data.snapshots),
    ];
    for (const s of sections) {
      const ps = checkPropertyStrings(kind, s, table);
      covered.propertyStrings += ps.checked;
      warnings.push(...ps.problems);
    }
    checkWarnings(name, warnings);
    const res: ClusterResource = { id: `${kind}/100`, type: kind, vmid: 100, node: 'n', status: 'stopped' };
    const p =
      kind === 'lxc'
        ? buildLxcPayload(res, parsed.data.current, meta)
        : buildQemuPayload(res, parsed.data.current, meta);
    // Builder warnings come from the same values already checked above.
    assertValid(kind, p.data, name);
    covered.conf++;
  }
});

test('every pveversion and pvecm sample in cli/ parses', (t) => {
  if (!requires(t, 'reference', haveRef, SKIP_REF)) return;
  const dir = join(REF, 'cli');
  for (const f of readdirSync(dir).filter((n) => n.startsWith('pveversion'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    const lines = f.includes('short') ? text.split('\n').filter((l) => l.trim() !== '') : [text];
    for (const l of lines) {
      const r = parsePveversion(l);
      assert.deepEqual(r.warnings, [], f);
      assert.match(r.data?.manager ?? '', /^pve-manager\/[0-9.-]+\/[0-9a-f]{8,16}$/, f);
      assert.match(r.data?.kernel ?? '', /-pve$/, f);
    }
    covered.cli++;
  }
  for (const f of readdirSync(dir).filter((n) => n.startsWith('pvecm-status'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    const r = f.includes('stderr') ? parsePvecmStatus('', text) : parsePvecmStatus(text);
    assert.deepEqual(r.warnings, [], f);
    if (f.includes('standalone')) assert.equal(r.data.standalone, true, f);
    else assert.equal(r.data.quorate, !f.includes('NOT-quorate'), f);
    covered.cli++;
  }
});

// ---------------------------------------------------------------------------------------------
// The spec's examples must build the spec's POST bodies.

const haveSpec = existsSync(SPEC);
const SKIP_SPEC = '../shared/spec/PROXMOX_INTEGRATION.md not found: spec example conformance skipped';

/** The first ```json block after `marker` in the spec. */
function specJson(marker: string): unknown {
  const text = readFileSync(SPEC, 'utf8');
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `spec has no ${marker}`);
  const m = /```json\n([\s\S]*?)\n```/.exec(text.slice(at));
  assert.ok(m, `no json block after ${marker}`);
  return JSON.parse(m[1]!);
}
const specBody = (file: string) =>
  JSON.parse(readFileSync(join(SCHEMA_FIXTURES, file), 'utf8')) as Record<string, unknown>;

test('the spec LXC config example builds spec-lxc.json field for field', (t) => {
  if (!requires(t, 'reference', haveSpec, SKIP_SPEC)) return;
  const config = normalizeApiConfig('lxc', specJson('**LXC Config Output:**'));
  assert.deepEqual(config.warnings, []);
  const expected = specBody('spec-lxc.json');
  const res: ClusterResource = {
    id: `lxc/${String(expected.vmid)}`,
    type: 'lxc',
    vmid: expected.vmid as number,
    node: expected.node as string,
    name: expected.name as string,
    status: expected.status as string,
    uptime: expected.uptime as number,
  };
  const p = buildLxcPayload(res, config.data, meta);
  assert.deepEqual(p.warnings, []);
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(p.data[k as keyof typeof p.data], v, k);
  assertValid('lxc', p.data, 'spec lxc');
});

test('the spec QEMU config example builds spec-qemu.json field for field (config: the shown keys)', (t) => {
  if (!requires(t, 'reference', haveSpec, SKIP_SPEC)) return;
  const config = normalizeApiConfig('qemu', specJson('**QEMU Config Output:**'));
  assert.deepEqual(config.warnings, []);
  const expected = specBody('spec-qemu.json');
  const res: ClusterResource = {
    id: `qemu/${String(expected.vmid)}`,
    type: 'qemu',
    vmid: expected.vmid as number,
    node: expected.node as string,
    name: expected.name as string,
    status: expected.status as string,
    uptime: expected.uptime as number,
  };
  const p = buildQemuPayload(res, config.data, meta);
  assert.deepEqual(p.warnings, []);
  for (const [k, v] of Object.entries(expected)) {
    if (k !== 'config') assert.deepEqual(p.data[k as keyof typeof p.data], v, k);
  }
  // The spec's POST example shows an abbreviated config (11 of the 21 keys of its own config
  // output) and writes its tags with commas although the config output above it has semicolons.
  // We send the full running map as the spec's field description says, with the tags as Proxmox
  // stores them; the comma form is the top-level `tags` field.
  const sent = p.data.config ?? {};
  for (const [k, v] of Object.entries(expected.config as Record<string, unknown>)) {
    if (k === 'tags') {
      assert.equal(sent.tags, 'production;database;postgresql');
      assert.equal(p.data.tags, v);
    } else assert.deepEqual(sent[k], v, `config.${k}`);
  }
  assertValid('qemu', p.data, 'spec qemu');
});

test('the spec /cluster/status and node status examples build spec-cluster.json and spec-node.json', (t) => {
  if (!requires(t, 'reference', haveSpec, SKIP_SPEC)) return;
  const status = specJson(
    'pvesh get /cluster/status --output-format json\n```\n\n**Output:**',
  ) as ClusterStatusEntry[];
  const nodeStatus = specJson('**Node Status Output:**') as NodeStatus;
  const c = buildClusterPayload(status, { ...meta, reportingNode: 'pve-node-01' });
  assert.ok(c);
  assert.deepEqual(c.warnings, []);
  for (const [k, v] of Object.entries(specBody('spec-cluster.json')))
    assert.deepEqual(c.data[k as keyof typeof c.data], v, k);
  const n = buildNodePayload({ nodeName: 'pve-node-01', clusterStatus: status, nodeStatus }, meta);
  assert.deepEqual(n.warnings, []);
  for (const [k, v] of Object.entries(specBody('spec-node.json')))
    assert.deepEqual(n.data[k as keyof typeof n.data], v, k);
  assertValid('cluster', c.data, 'spec cluster');
  assertValid('node', n.data, 'spec node');
});

test('conformance coverage', (t) => {
  if (!requires(t, 'reference', haveRef, SKIP_REF)) return;
  // Runs last in this file: the counters were filled by the tests above.
  t.diagnostic(
    `reference files covered: ${covered.real} REAL/REAL? + ${covered.synthetic} SYNTHETIC JSON responses, ` +
      `${covered.conf} conf files, ${covered.cli} CLI samples; ${covered.propertyStrings} property strings checked; ` +
      `${Object.keys(EXPECTED_WARNINGS).length} files with allowed warnings`,
  );
  assert.ok(covered.real >= 15, `only ${covered.real} REAL/REAL? responses covered`);
  assert.ok(covered.conf >= 30);
  assert.ok(covered.propertyStrings >= 200, `only ${covered.propertyStrings} property strings checked`);
  // Sanity: the fingerprint helper works on what a CA file looks like.
  assert.match(
    clusterFingerprint('-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n'),
    /^[0-9a-f]{64}$/,
  );
});
