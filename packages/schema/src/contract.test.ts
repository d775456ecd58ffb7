import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeIssues, normalizePayload, validatePayload, type PayloadKind } from './index.ts';

const dir = new URL('../fixtures/', import.meta.url).pathname;
const read = (p: string): unknown => JSON.parse(readFileSync(join(dir, p), 'utf8'));
const kindOf = (file: string): PayloadKind =>
  file.replace(/^(spec|upstream)-/, '').replace('.json', '') as PayloadKind;

for (const file of readdirSync(join(dir, 'valid')).filter((f) => /^(spec|upstream)-/.test(f))) {
  test(`valid body ${file} passes validation`, () => {
    const r = validatePayload(kindOf(file), read(`valid/${file}`));
    assert.ok(r.ok, r.ok ? '' : describeIssues(r.issues));
  });
}

test('extra and unknown fields are accepted', () => {
  const r = validatePayload('node', read('valid/standalone-node-extras.json'));
  assert.ok(r.ok, r.ok ? '' : describeIssues(r.issues));
});

for (const file of readdirSync(join(dir, 'invalid')).filter((f) => f.endsWith('.json'))) {
  const c = read(`invalid/${file}`) as { kind: PayloadKind; reason: string; field: string; body: unknown };
  test(`invalid body ${file} is rejected naming ${c.field} (${c.reason})`, () => {
    const r = validatePayload(c.kind, c.body);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.ok(
      r.issues.some((i) => i.path === c.field || i.path.startsWith(`${c.field}/`)),
      `issues ${JSON.stringify(r.issues)} do not name ${c.field}`,
    );
    assert.match(describeIssues(r.issues), new RegExp(c.field.slice(1).split('/')[0]!));
  });
}

test('non-object bodies are rejected', () => {
  for (const body of [null, [], 'x', 3]) assert.equal(validatePayload('lxc', body).ok, false);
});

test('upstream aliases are mapped to canonical names', () => {
  const cluster = normalizePayload('cluster', read('valid/upstream-cluster.json'));
  assert.deepEqual(cluster.body, {
    cluster_name: 'production-cluster',
    cluster_id: 'cluster',
    nodes: 3,
    quorate: 0,
    version: 7,
  });
  const node = normalizePayload('node', read('valid/upstream-node.json')).body as Record<string, unknown>;
  assert.equal(node.node_id, 2);
  assert.equal(node.pve_version, 'pve-manager/8.4.1/2a5fa54a8503f96d');
  assert.equal('nodeid' in node, false);
  const qemu = normalizePayload('qemu', read('valid/upstream-qemu.json')).body as Record<string, unknown>;
  assert.equal(qemu.cpu_cores, 2);
});

test('canonical field wins over its alias and input is not mutated', () => {
  const input = { name: 'pve1', node_id: 5, nodeid: 9 };
  const r = normalizePayload('node', input);
  assert.equal((r.body as { node_id: number }).node_id, 5);
  assert.deepEqual(input, { name: 'pve1', node_id: 5, nodeid: 9 });
});

test('a fractional guest cpu is a usage ratio, not a core count', () => {
  const r = normalizePayload('lxc', { vmid: 1, node: 'a', status: 'running', cpu: 0.25 });
  assert.equal((r.body as Record<string, unknown>).cpu_cores, undefined);
});

test('quorate 0, online 0 and empty strings are valid data', () => {
  assert.ok(validatePayload('cluster', { cluster_name: 'c', nodes: 2, quorate: 0 }).ok);
  assert.ok(validatePayload('node', { name: 'n', online: 0, level: '', ip: '' }).ok);
});
