/**
 * Issue 15 through HTTP: backups, HA and replication reports in, the read API out, the rules firing
 * and resolving, and a webhook for the firing backup alert.
 */
import { after, before } from 'node:test';
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp, type TestApp } from '../testing.ts';
import { startHttpReceiver, type HttpReceiver } from '../notify/testing.ts';
import type { Notification } from '../notify/types.ts';
import { alertServiceOf } from './module.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');
let clock = T0;
const FP = 'b1b2c3d4e5f60718293a4b5c6d7e8f90';
const s = (ms: number) => Math.floor(ms / 1000);

let hook: HttpReceiver;
before(async () => {
  hook = await startHttpReceiver();
});
after(async () => {
  await hook.close();
});

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  clock = T0;
  const app = await makeTestApp({ allowedChannelNetworks: ['127.0.0.0/8'] }, { now: () => new Date(clock) });
  t.after(() => app.app.close());
  await app.app.ready();
  const agents: Record<string, string> = {};
  for (const n of ['pve1', 'pve2'])
    agents[n] = (await app.register(n, { cluster_name: 'prod', cluster_fingerprint: FP })).access;
  return { app, agents, read: await app.pat('read'), write: await app.pat('write') };
}

async function post(a: TestApp, token: string, kind: string, body: Record<string, unknown>) {
  const r = await a.post(`/api/proxmox/${kind}`, token, {
    cluster_name: 'prod',
    cluster_fingerprint: FP,
    ...body,
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  await a.app.nanny.committer.drain();
  await alertServiceOf(a.app.nanny.modules)?.flush();
}

async function firing(a: TestApp, read: string) {
  const r = await a.get('/api/alerts?state=firing', read);
  assert.equal(r.status, 200);
  return (r.json.data as { rule: string; summary: string; node: string | null }[]).map(
    (x) => `${x.rule}: ${x.summary}`,
  );
}

const backups = (guests: unknown[], failed: unknown[] = []) => ({
  node: 'pve1',
  collected_at: new Date(clock).toISOString(),
  history_since: s(T0) - 30 * 86400,
  guests,
  failed_tasks: failed,
});

test('backups: a failed backup fires backup_failed (webhook), an old success backup_missing, an uncovered guest info; a new success resolves', async (t) => {
  const { app, agents, read, write } = await setup(t);
  const ch = await app.post('/api/notification-channels', write, {
    type: 'webhook',
    name: 'ops',
    url: `${hook.url}/b`,
  });
  assert.equal(ch.status, 201, JSON.stringify(ch.json));
  const start = hook.received.length;
  const upid = 'UPID:pve1:0004C5D2:002D11E0:69F53070:vzdump::root@pam:';
  await post(
    app,
    agents.pve1!,
    'backups',
    backups(
      [
        {
          vmid: 100,
          type: 'qemu',
          name: 'web',
          covered: true,
          last_success: { at: s(T0) - 3600, upid, size_bytes: 1000, storage: 'nas' },
          last_failure: { at: s(T0) - 600, upid, error: 'unable to create temporary directory' },
        },
        { vmid: 101, type: 'lxc', covered: true, last_success: { at: s(T0) - 5 * 86400, upid } },
        { vmid: 102, type: 'lxc', covered: false },
      ],
      [{ upid, starttime: s(T0) - 700, endtime: s(T0) - 600, status: 'job errors' }],
    ),
  );
  const f = await firing(app, read);
  assert.ok(
    f.some((x) =>
      x.startsWith('backup_failed: Backup of guest 100 (web) failed on node pve1 (prod): unable to create'),
    ),
    f.join('\n'),
  );
  assert.ok(
    f.some((x) => x.startsWith('backup_missing: No successful backup of guest 101')),
    f.join('\n'),
  );
  assert.ok(
    f.some((x) => x.startsWith('backup_not_covered: guest 102 on node pve1 is not covered')),
    f.join('\n'),
  );
  assert.ok(
    !f.some((x) => x.includes('A backup job failed')),
    'job errors named its guests: no job-level alert',
  );
  const got = (await hook.waitFor(start + 1)).slice(start).map((r) => JSON.parse(r.body) as Notification);
  assert.ok(got.some((n) => JSON.stringify(n).includes('backup_failed')));

  const r = await app.get('/api/backups', read);
  assert.equal(r.status, 200);
  const rows = r.json.data as { guests: Record<string, unknown>[]; failed_tasks: Record<string, unknown>[] };
  const g100 = rows.guests.find((g) => g.vmid === 100)!;
  assert.equal(g100.failing, true);
  assert.equal(g100.last_success_storage, 'nas');
  assert.equal(g100.last_success_size_bytes, 1000);
  assert.equal(g100.cluster_name, 'prod');
  assert.equal(rows.failed_tasks[0]!.status, 'job errors');

  clock += 60_000;
  await post(
    app,
    agents.pve1!,
    'backups',
    backups(
      [
        { vmid: 100, covered: true, last_success: { at: s(clock) - 10, upid } },
        { vmid: 101, covered: true, last_success: { at: s(clock) - 10, upid } },
        { vmid: 102, covered: true, last_success: { at: s(clock) - 10, upid } },
      ],
      [{ upid, starttime: s(clock) - 5, endtime: s(clock), status: "could not activate storage 'nas'" }],
    ),
  );
  const f2 = await firing(app, read);
  assert.deepEqual(
    f2,
    ["backup_failed: A backup job failed on node pve1 (prod): could not activate storage 'nas'"],
    'guest alerts resolved; a job that failed as a whole after the last success fires per node',
  );
});

test('backup_missing waits for evidence: no success in a short history is not judged', async (t) => {
  const { app, agents, read } = await setup(t);
  await post(app, agents.pve1!, 'backups', {
    ...backups([{ vmid: 100, covered: true }]),
    history_since: s(T0) - 3600,
  });
  assert.deepEqual(await firing(app, read), []);
});

test('HA: error and fence fire per resource and node, the newest manager state wins, recovery resolves', async (t) => {
  const { app, agents, read } = await setup(t);
  const ha = (ts: number, vm101: string, pve2: string) => ({
    node: 'pve1',
    master_node: 'pve1',
    manager_timestamp: ts,
    nodes: [
      { node: 'pve1', state: 'online' },
      { node: 'pve2', state: pve2 },
    ],
    resources: [
      { sid: 'vm:101', vmid: 101, node: 'pve2', state: vm101, request_state: 'started' },
      { sid: 'ct:102', vmid: 102, node: 'pve1', state: 'started' },
    ],
  });
  await post(app, agents.pve1!, 'ha', ha(1000, 'fence', 'fence'));
  assert.deepEqual((await firing(app, read)).sort(), [
    'ha_error: HA resource vm:101 is in state fence on node pve2 (prod)',
    'ha_fencing: HA is fencing node pve2 (prod)',
  ]);
  // an older view (a node that has not seen the master's latest write) changes nothing
  await post(app, agents.pve2!, 'ha', { ...ha(900, 'started', 'online'), node: 'pve2' });
  assert.equal((await firing(app, read)).length, 2);
  await post(app, agents.pve1!, 'ha', ha(1010, 'error', 'online'));
  assert.deepEqual(await firing(app, read), [
    'ha_error: HA resource vm:101 is in state fence on node pve2 (prod)',
  ]);
  await post(app, agents.pve1!, 'ha', ha(1020, 'started', 'online'));
  assert.deepEqual(await firing(app, read), []);
  const r = await app.get('/api/ha', read);
  const rows = r.json.data as { master_node: string; resources: { sid: string; state: string }[] }[];
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.master_node, 'pve1');
  assert.equal(rows[0]!.resources[0]!.state, 'started');
});

test('replication: a failing enabled job fires with its error, a disabled one does not; a sync resolves', async (t) => {
  const { app, agents, read } = await setup(t);
  const job = (fail: number, enabled = true, id = '100-0') => ({
    id,
    guest: Number(id.split('-')[0]),
    target: 'pve2',
    enabled,
    schedule: '*/15',
    last_sync: s(T0) - 3600,
    fail_count: fail,
    ...(fail > 0 ? { error: 'zfs error: out of space' } : {}),
  });
  await post(app, agents.pve1!, 'replication', { node: 'pve1', jobs: [job(2), job(4, false, '101-0')] });
  assert.deepEqual(await firing(app, read), [
    'replication_failed: Replication job 100-0 (guest 100 → pve2) failed 2 time(s) on node pve1 (prod): zfs error: out of space',
  ]);
  const r = await app.get('/api/replication?node=pve1', read);
  assert.equal((r.json.data as unknown[]).length, 2);
  await post(app, agents.pve1!, 'replication', { node: 'pve1', jobs: [job(0)] });
  assert.deepEqual(await firing(app, read), []);
});

test('an ops report for another node is refused like any report (agent binding)', async (t) => {
  const { app, agents } = await setup(t);
  await post(app, agents.pve1!, 'replication', { node: 'pve1', jobs: [] });
  const r = await app.post('/api/proxmox/replication', agents.pve1!, {
    cluster_name: 'prod',
    cluster_fingerprint: FP,
    node: 'pve2',
    jobs: [],
  });
  assert.equal(r.status, 403, JSON.stringify(r.json));
  const bad = await app.post('/api/proxmox/backups', agents.pve1!, { node: 'pve1', guests: 'x' });
  assert.equal(bad.status, 400);
});
