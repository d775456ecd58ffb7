/**
 * Issue 15 end to end: simulator events (a failing backup, an HA resource in error, a failing
 * replication) → the real agents → nannyapi → alerts → a real webhook receiver on loopback.
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
const firing = (api: ApiServer, token: string, rule: string) =>
  api.list<Row>(`/api/alerts?rule=${rule}&state=firing`, token);

test('backup failure, HA error, replication failure: alerts and webhooks; recovery resolves', async (t) => {
  if (!requireBundles(t)) return;
  const api = await startApi(t);
  const read = api.cli(['token', 'create', '--name', 'read', '--scope', 'read']);
  const write = api.cli(['token', 'create', '--name', 'write', '--scope', 'write']);
  const hook = await webhookReceiver(t);
  await api.post('/api/notification-channels', write, { type: 'webhook', name: 'e2e', url: hook.url });
  const sim = layoutFlags(t, { nodes: 3, guests: 6, seed: 9, clusterName: 'prod' });
  const names = nodeNames(sim);
  startAgents(t, sim, api, names);
  await waitFor('backups of every guest', async () => {
    const b = (await api.get<{ data: { guests: Row[] } }>('/api/backups', read)).data.guests;
    return b.length === sim.state().guests.length && b.some((g) => g.last_success_at !== null);
  });

  const st = sim.state();
  const guest = st.guests.find((g) => g.node === names[0])!;
  sim.apply({ type: 'backup-run', node: names[0]!, vmids: [guest.vmid], fail: [guest.vmid] });
  const rep = st.ops!.replication[0]!;
  sim.apply({ type: 'replication-fail', vmid: rep.guest, error: 'out of space' });
  const ha = st.ops!.haResources[0]!;
  sim.apply({ type: 'ha-state', vmid: Number(ha.sid.split(':')[1]), state: 'error' });

  for (const rule of ['backup_failed', 'replication_failed', 'ha_error'])
    await waitFor(`${rule} firing and its webhook`, async () => {
      const rows = await firing(api, read, rule);
      return rows.length === 1 && hook.received.some((r) => r.body.rule === rule);
    });
  const failed = await firing(api, read, 'backup_failed');
  assert.equal(failed[0]!.vmid, guest.vmid);
  assert.match(String(failed[0]!.summary), /No space left on device/);

  sim.apply({ type: 'backup-run', node: names[0]!, vmids: [guest.vmid] });
  sim.apply({ type: 'replication-ok', vmid: rep.guest });
  sim.apply({ type: 'ha-state', vmid: Number(ha.sid.split(':')[1]), state: 'started' });
  for (const rule of ['backup_failed', 'replication_failed', 'ha_error'])
    await waitFor(`${rule} resolved`, async () => (await firing(api, read, rule)).length === 0);
});

test('HA master down: another node reports the new manager state and ha_fencing fires', async (t) => {
  if (!requireBundles(t)) return;
  const api = await startApi(t);
  const read = api.cli(['token', 'create', '--name', 'read', '--scope', 'read']);
  const write = api.cli(['token', 'create', '--name', 'write', '--scope', 'write']);
  const hook = await webhookReceiver(t);
  await api.post('/api/notification-channels', write, { type: 'webhook', name: 'e2e', url: hook.url });
  const sim = layoutFlags(t, { nodes: 3, guests: 6, seed: 9, clusterName: 'prod' });
  const [pve1, pve2, pve3] = nodeNames(sim) as [string, string, string];
  // pve1 is the HA master (the first quorate node); pve2, which takes over, runs no agent
  const [a1] = startAgents(t, sim, api, [pve1, pve3]);
  type HaRow = { master_node: string | null; reported_by: string; nodes: { node: string; state: string }[] };
  const haRow = async () => (await api.get<{ data: HaRow[] }>('/api/ha', read)).data[0];
  await waitFor('the HA report', async () => (await haRow())?.master_node === pve1);

  // the master dies: its agent with it, and the CRM of pve2 takes over and fences pve1
  await a1!.kill();
  sim.apply({ type: 'node-offline', node: pve1 });
  sim.apply({ type: 'ha-state', node: pve1, state: 'fence' });
  await waitFor('ha_fencing firing and its webhook', async () => {
    const rows = await firing(api, read, 'ha_fencing');
    return (
      rows.length === 1 && rows[0]!.node === pve1 && hook.received.some((r) => r.body.rule === 'ha_fencing')
    );
  });
  const row = (await haRow())!;
  assert.equal(row.master_node, pve2);
  assert.equal(row.reported_by, pve3, 'a node that is not the master reported it');
  assert.equal(row.nodes.find((n) => n.node === pve1)?.state, 'fence');
});
