/**
 * Cluster events end to end: the simulator changes the cluster, the real agents report it, nannyapi
 * stores events, raises alerts and calls a real webhook receiver on loopback.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import {
  requireBundles,
  layoutFlags,
  nodeNames,
  startAgents,
  startApi,
  waitFor,
  webhookReceiver,
  type ApiServer,
} from './harness.ts';

type Row = Record<string, unknown>;

async function alerts(api: ApiServer, token: string, rule: string, state?: string): Promise<Row[]> {
  return api.list<Row>(`/api/alerts?rule=${rule}${state ? `&state=${state}` : ''}`, token);
}
async function events(api: ApiServer, token: string, type: string): Promise<Row[]> {
  return api.list<Row>(`/api/events?type=${type}&limit=1000`, token);
}

test('cluster events: quorum, upgrade and mismatch, reboot, migration, destruction, node offline', async (t) => {
  if (!requireBundles(t)) return;
  const api = await startApi(t);
  const read = api.cli(['token', 'create', '--name', 'read', '--scope', 'read']);
  const write = api.cli(['token', 'create', '--name', 'write', '--scope', 'write']);
  const hook = await webhookReceiver(t);
  await api.post('/api/notification-channels', write, {
    type: 'webhook',
    name: 'e2e',
    url: hook.url,
    secret: 's3cret',
  });
  // A short grace so the mismatch after one upgraded node shows within the test.
  await fetch(`${api.url}/api/alerts/settings`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${write}`, 'content-type': 'application/json' },
    body: JSON.stringify({ rules: { version_mismatch: { graceSeconds: 2 } } }),
  }).then(async (r) => assert.equal(r.status, 200, await r.text()));

  const sim = layoutFlags(t, { nodes: 3, guests: 6, seed: 9, clusterName: 'prod' });
  const names = nodeNames(sim);
  const [pve1, pve2, pve3] = names as [string, string, string];
  startAgents(t, sim, api, names);
  await waitFor('three nodes and every guest', async () => {
    const nodes = await api.list('/api/nodes', read);
    const guests = await api.list('/api/guests?limit=1000', read);
    return nodes.length === 3 && guests.length === sim.state().guests.length;
  });

  await t.test(
    'quorum lost → one quorum_lost alert and one webhook; regained → resolved and one resolve call',
    async () => {
      sim.apply({ type: 'quorum-lost' });
      await waitFor(
        'quorum_lost firing',
        async () => (await alerts(api, read, 'quorum_lost', 'firing')).length === 1,
      );
      await waitFor('the firing webhook', () => hook.received.some((r) => r.body.rule === 'quorum_lost'));
      sim.apply({ type: 'quorum-regained' });
      await waitFor(
        'quorum_lost resolved',
        async () => (await alerts(api, read, 'quorum_lost', 'resolved')).length === 1,
      );
      await waitFor('the resolve webhook', () =>
        hook.received.some((r) => r.body.rule === 'quorum_lost' && r.body.state === 'resolved'),
      );
      const calls = hook.received.filter((r) => r.body.rule === 'quorum_lost');
      assert.deepEqual(
        calls.map((c) => c.body.state),
        ['firing', 'resolved'],
        'exactly one call on fire and one on resolve, although three agents report the cluster',
      );
      assert.match(String(calls[0]!.headers['x-nanny-signature']), /^sha256=[0-9a-f]{64}$/);
      assert.equal((await alerts(api, read, 'quorum_lost')).length, 1);
    },
  );

  await t.test(
    'a version upgrade on one node → version_upgraded, then version_mismatch after the grace',
    async () => {
      sim.apply({ type: 'version-upgrade', node: pve1, version: '9.2.1' });
      await waitFor(
        'version_upgraded',
        async () => (await alerts(api, read, 'version_upgraded')).length === 1,
      );
      await waitFor(
        'version_mismatch firing',
        async () => (await alerts(api, read, 'version_mismatch', 'firing')).length === 1,
      );
      const up = await events(api, read, 'upgraded');
      assert.equal(up.length, 1);
      assert.match(JSON.stringify(up[0]), /9\.2\.1/);
    },
  );

  await t.test('a reboot → a rebooted event and a node_rebooted alert', async () => {
    sim.apply({ type: 'node-reboot', node: pve2 });
    await waitFor('node_rebooted', async () => (await alerts(api, read, 'node_rebooted')).length >= 1);
    assert.ok((await events(api, read, 'rebooted')).length >= 1);
  });

  await t.test('a guest migrates → still one guest, on the new node, with a migration event', async () => {
    const g = sim.state().guests.find((x) => x.node === pve1 || x.node === pve2)!;
    const target = g.node === pve1 ? pve2 : pve1;
    sim.apply({ type: 'guest-migrate', vmid: g.vmid, target });
    await waitFor(`guest ${g.vmid} on ${target}`, async () => {
      const rows = await api.list<Row>(`/api/guests?q=${g.vmid}`, read);
      return rows.length === 1 && rows[0]!.node === target;
    });
    const migrated = await waitFor('the migration event', async () => {
      const rows = await events(api, read, 'migrated');
      return rows.length === 1 ? rows : undefined;
    });
    assert.match(JSON.stringify(migrated[0]), new RegExp(target));
    const all = await api.list<Row>('/api/guests?limit=1000', read);
    assert.equal(all.filter((r) => r.vmid === g.vmid).length, 1);
  });

  await t.test('a destroyed guest is gone after its node next reports', async () => {
    const g = sim.state().guests.find((x) => x.node === pve3)!;
    sim.apply({ type: 'guest-destroy', vmid: g.vmid });
    await waitFor(`guest ${g.vmid} gone`, async () => {
      const rows = await api.list<Row>('/api/guests?limit=1000', read);
      return !rows.some((r) => r.vmid === g.vmid);
    });
    assert.ok((await events(api, read, 'gone')).some((e) => JSON.stringify(e).includes(String(g.vmid))));
  });

  await t.test('a node goes offline → node_offline once its peers confirm it twice', async () => {
    sim.apply({ type: 'node-offline', node: pve3 });
    const firing = await waitFor('node_offline firing', async () => {
      const rows = await alerts(api, read, 'node_offline', 'firing');
      return rows.length === 1 ? rows : undefined;
    });
    assert.equal(firing[0]!.node, pve3);
    await waitFor('the node shown offline', async () => {
      const nodes = await api.list<Row>('/api/nodes', read);
      return nodes.find((n) => n.name === pve3)?.online === 0;
    });
  });
});
