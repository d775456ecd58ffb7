/**
 * docs/wire-contract.md stays true: its four bodies are accepted, its "required" columns are the
 * schemas' required fields, and every curl command of "Try it with curl" gets the answer written
 * under it (run in-process against the real app; `$TOKEN` is a freshly registered agent's token).
 */
import { test } from '@nanny/testing';
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PAYLOAD_KINDS, PAYLOAD_SCHEMAS } from '@nanny/schema';
import { makeTestApp, type TestApp } from '@nanny/api/testing';

const doc = readFileSync(new URL('../../docs/wire-contract.md', import.meta.url), 'utf8');

/** The text of the `## …` section whose heading starts with `heading`. */
function section(heading: string): string {
  const start = doc.indexOf(`\n## ${heading}`);
  assert.ok(start >= 0, `docs/wire-contract.md has a section "${heading}"`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}
const blocks = (text: string, lang: string) =>
  [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

let t: TestApp;
after(async () => {
  await t?.app.close();
});

test('the four bodies of the wire contract are accepted as written', async () => {
  t = await makeTestApp();
  const { access } = await t.register('pve-node-01');
  for (const kind of ['cluster', 'node', 'lxc', 'qemu'] as const) {
    const body = JSON.parse(blocks(section(`POST /api/proxmox/${kind}`), 'json')[0]!) as unknown;
    const r = await t.post(`/api/proxmox/${kind}`, access, body);
    assert.deepEqual(
      r,
      { status: 200, json: { success: true, message: 'Data ingested successfully' } },
      kind,
    );
  }
});

test('the "required" column of each body table is what the schema requires', () => {
  for (const kind of PAYLOAD_KINDS) {
    const rows = section(`POST /api/proxmox/${kind}`)
      .split('\n')
      .filter((l) => /^\| `/.test(l));
    const documented = new Set<string>();
    for (const row of rows) {
      const [fields, , required] = row
        .split('|')
        .slice(1, 4)
        .map((c) => c.trim());
      if (required !== 'yes') continue;
      for (const m of fields!.matchAll(/`([a-z_0-9]+)`/g)) documented.add(m[1]!);
    }
    const schemaRequired = new Set((PAYLOAD_SCHEMAS[kind] as { required?: string[] }).required ?? []);
    assert.deepEqual([...documented].sort(), [...schemaRequired].sort(), kind);
  }
});

test('every curl command of "Try it with curl" gets the answer the page prints under it', async () => {
  t ??= await makeTestApp();
  // its own organisation: pve-node-01 of the default one is bound to an earlier test's agent
  const { access } = await t.register('pve-node-01', {}, 'curl-docs');
  const script = blocks(section('Try it with curl'), 'bash')[0]!;
  // one command per curl, continuation lines joined; the "# {...}" line after it is its answer
  const lines = script.replace(/\\\n\s*/g, ' ').split('\n');
  let checked = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('curl ') || !line.includes('$API/api/proxmox/')) continue;
    const path = /\$API(\/\S+)/.exec(line)![1]!;
    const auth = /Authorization: Bearer ([^"']+)["']/.exec(line)![1]!.trim();
    const body = /-d '(.*)'\s*$/.exec(line)![1]!;
    const answer = lines[i + 1]!.replace(/^#\s*/, '');
    const r = await t.post(path, auth === '$TOKEN' ? access : auth, body);
    assert.deepEqual(r.json, JSON.parse(answer), `${path} with ${body.slice(0, 60)}`);
    checked++;
  }
  assert.ok(checked >= 5, `only ${checked} curl commands found`);
});
