import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { apiGet, type ApiResult } from './api.ts';
import { applyEvent } from './events.ts';
import { buildState, scenarioFromFlags } from './generate.ts';

const NOW = 1_700_000_100;
function fleet() {
  return buildState(scenarioFromFlags({ nodes: 3, guests: 6, seed: 5 }), NOW * 1000);
}
const status = (r: ApiResult) => (r.ok === true ? 200 : r.ok === false ? r.status : 'blocked');

test('a path no route matches still resolves its node and guest first, as Proxmox does', () => {
  const s = fleet();
  const g = s.guests.find((x) => x.node === 'pve1')!;
  const get = (p: string) => apiGet(s, 'pve1', p, {}, NOW);
  assert.equal(status(get('/nodes/ghost/bogus')), 500, 'an unknown node is a hostname error');
  assert.equal(status(get('/nodes/pve1/bogus')), 501);
  assert.equal(status(get(`/nodes/pve1/${g.kind}/999999/bogus`)), 500, 'an unknown guest is a config error');
  assert.equal(status(get(`/nodes/pve1/${g.kind}/${g.vmid}/bogus`)), 501);
  assert.equal(status(get(`/nodes/pve1/${g.kind}/${g.vmid}/status/current`)), 200);
  assert.equal(status(get('/cluster/bogus')), 501);
  assert.equal(status(get('/')), 501);
});

test('another node outside the partition is unreachable and a hung one blocks, before any sub-path', () => {
  const s = fleet();
  applyEvent(s, { type: 'node-offline', node: 'pve3' }, NOW);
  applyEvent(s, { type: 'pmxcfs-hang', node: 'pve2' }, NOW);
  assert.equal(status(apiGet(s, 'pve1', '/nodes/pve3/bogus', {}, NOW)), 595);
  assert.deepEqual(apiGet(s, 'pve1', '/nodes/pve2/status', {}, NOW), { ok: 'blocked', node: 'pve2' });
  assert.deepEqual(apiGet(s, 'pve2', '/version', {}, NOW), { ok: 'blocked', node: 'pve2' });
  assert.equal(status(apiGet(s, 'pve1', '/nodes/pve1/status', {}, NOW)), 200);
});

test('each route answers from the node and guest its path names', () => {
  const s = fleet();
  const g = s.guests.find((x) => x.node === 'pve2')!;
  const r = apiGet(s, 'pve1', `/nodes/pve2/${g.kind}/${g.vmid}/status/current`, {}, NOW);
  assert.equal(r.ok, true);
  assert.equal((r as { data: { vmid: number } }).data.vmid, g.vmid);
  const v = apiGet(s, 'pve1', '/nodes/pve2/version', {}, NOW) as { data: { version: string } };
  assert.equal(v.data.version, s.nodes.find((n) => n.name === 'pve2')!.pveVersion);
  const list = apiGet(s, 'pve1', `/nodes/pve2/${g.kind}`, {}, NOW) as { data: Array<{ vmid: number }> };
  assert.ok(list.data.some((e) => e.vmid === g.vmid));
});
