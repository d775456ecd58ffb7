/**
 * docs/api.md's walk and claims stay true: its ingest curl commands succeed in the order written,
 * the list answers have the shape it describes, and the token families get the statuses it names.
 */
import { test } from '@nanny/testing';
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makeTestApp, type TestApp } from '@nanny/api/testing';

const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');

let t: TestApp | undefined;
after(async () => {
  await t?.app.close();
});

test("api.md's ingest curl commands succeed as written, and the read API then shows one cluster with one node", async () => {
  t = await makeTestApp();
  const { access } = await t.register('pve-node-01');
  const walk = doc.slice(doc.indexOf('### Post the spec'), doc.indexOf('### Read it back'));
  const commands = [
    ...walk.matchAll(/curl -X POST http:\/\/127\.0\.0\.1:8080(\S+) \\[\s\S]*?-d '([\s\S]*?)'\n/g),
  ];
  assert.deepEqual(
    commands.map((c) => c[1]),
    ['/api/proxmox/cluster', '/api/proxmox/node', '/api/proxmox/qemu', '/api/proxmox/lxc'],
  );
  for (const [, path, body] of commands) {
    const r = await t.post(path!, access, body);
    assert.deepEqual(r.json, { success: true, message: 'Data ingested successfully' }, path);
  }
  const read = await t.pat('read');
  const clusters = (await t.get('/api/clusters', read)).json.data as unknown[];
  const nodes = (await t.get('/api/nodes', read)).json.data as Array<{ name: string; cluster_name: string }>;
  assert.equal(clusters.length, 1);
  assert.deepEqual(
    nodes.map((n) => [n.name, n.cluster_name]),
    [['pve-node-01', 'production-cluster']],
  );
});

test('lists answer the shapes api.md describes', async () => {
  t ??= await makeTestApp();
  assert.match(doc, /The two paged lists, `\/api\/guests` and `\/api\/events`/);
  const read = await t.pat('read');
  for (const path of ['/api/clusters', '/api/nodes', '/api/alerts'])
    assert.deepEqual(Object.keys((await t.get(path, read)).json).sort(), ['data', 'success'], path);
  for (const path of ['/api/guests', '/api/events'])
    assert.deepEqual(
      Object.keys((await t.get(path, read)).json).sort(),
      ['data', 'limit', 'offset', 'success', 'total'],
      path,
    );
});

test('a personal token on ingest is 401, a read token on a write route 403, as api.md says', async () => {
  t ??= await makeTestApp();
  assert.match(doc, /a personal\s+token of either scope gets \*\*401\*\* `unauthorized` there/);
  assert.match(doc, /gets \*\*403\*\* `forbidden`/);
  for (const scope of ['read', 'write'] as const)
    assert.equal((await t.post('/api/proxmox/node', await t.pat(scope), { name: 'n' })).status, 401, scope);
  assert.equal((await t.post('/api/enrollment-tokens', await t.pat('read'), {})).status, 403);
});
