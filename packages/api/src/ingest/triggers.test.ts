import { after, before } from 'node:test';
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp, SPEC, type TestApp } from '../testing.ts';

/**
 * Out-of-cycle node reports (the agent's watch `change` and its `/proc`-only `heartbeat`) are not
 * the start of a cycle: no guest reports follow them, and what they leave out was not measured.
 */
let t: TestApp;
let token: string;
let read: string;
before(async () => {
  t = await makeTestApp();
  token = (await t.register()).access;
  read = await t.pat('read');
});
after(async () => t.app.close());

const node = (extra: Record<string, unknown>) => ({
  ...SPEC.node,
  cluster_name: SPEC.cluster.cluster_name,
  ...extra,
});

test('heartbeats between cycles keep the guests and the root filesystem figures; the next cycle judges them', async () => {
  const post = async (kind: string, body: unknown) =>
    assert.equal((await t.post(`/api/proxmox/${kind}`, token, body)).status, 200);
  await post('cluster', SPEC.cluster);
  await post(
    'node',
    node({ trigger: 'cycle', rootfs_total_bytes: 1000, rootfs_used_bytes: 400, mem_used_bytes: 10 }),
  );
  await post('lxc', SPEC.lxc);
  for (const mem of [20, 30, 40])
    await post('node', node({ trigger: 'heartbeat', mem_used_bytes: mem, pve_version: undefined }));
  await post('node', node({ trigger: 'change', mem_used_bytes: 50 }));

  const guests = (await t.get('/api/guests', read)).json.data as { vmid: number; gone_at?: unknown }[];
  assert.deepEqual(
    guests.map((g) => g.vmid),
    [100],
    'a heartbeat is not a cycle: the guest is not gone',
  );
  const list = (await t.get('/api/nodes', read)).json.data as { id: string }[];
  const one = (await t.get(`/api/nodes/${list[0]!.id}`, read)).json.data as Record<string, unknown>;
  assert.equal(one['pve_version'], SPEC.node.pve_version, 'a field the heartbeat left out is kept');
  const history = (one['history'] as { samples: Record<string, unknown>[] }).samples;
  assert.ok(history.length >= 5, 'every heartbeat is a history sample');

  // The next cycle that leaves the guest out judges it gone, as before.
  await post('node', node({ trigger: 'cycle' }));
  await post('node', node({ trigger: 'cycle' }));
  const after2 = (await t.get('/api/guests', read)).json.data as unknown[];
  assert.equal(after2.length, 0, 'a guest missing from a complete cycle is gone');
});
