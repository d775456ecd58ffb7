import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { validateOps } from '@nanny/schema';
import {
  BackupHistory,
  notBackedUp,
  parseBackupJobsCfg,
  parsePools,
  parseVzdumpCron,
  vzdumpNeedsLog,
} from './backups.ts';
import { haResourcesFromApi, haStatusOf, parseHaResourcesCfg } from './ha.ts';
import { buildBackupsPayload, buildHaPayload, buildReplicationPayload } from './ops-payloads.ts';
import {
  parseReplicationCfg,
  parseReplicationState,
  replicationJobsFromApi,
  replicationJobsFromFiles,
} from './replication.ts';
import {
  parseActiveTasks,
  parseTaskIndex,
  parseUpid,
  parseVzdumpLog,
  taskFromApi,
  taskLogPath,
  taskStatusClass,
} from './tasks.ts';

const fixture = (p: string) => readFileSync(new URL(`../fixtures/ops/${p}`, import.meta.url), 'utf8');
const meta = { node: 'pve1', collectedAt: '2026-05-02T00:00:00.000Z' };

test('UPID: fields decoded from hex, 9-digit pstart and empty id accepted, spaces refused', () => {
  const u = parseUpid('UPID:pve1:0004C5D2:002D11E0:69F53070:vzdump::root@pam:');
  assert.deepEqual(u && { ...u, upid: '' }, {
    upid: '',
    node: 'pve1',
    pid: 0x4c5d2,
    pstart: 0x2d11e0,
    starttime: 0x69f53070,
    type: 'vzdump',
    id: '',
    user: 'root@pam',
  });
  assert.equal(parseUpid('UPID:n:000934AF:FFFFFFFFF:68BF3A41:hastart:100:root@pam:')?.pstart, 0xfffffffff);
  assert.equal(parseUpid('UPID:n:000934AF:0D015579:68BF3A41:vzdump:100:u@pam!tok:')?.user, 'u@pam!tok');
  assert.equal(parseUpid('UPID:n:000934AF:0D015579:68BF3A41:broken type:100:root@pam:'), undefined);
  assert.equal(
    parseUpid('UPID:n:000934AF:0D015579:68BF3A41:vzdump:100:root@pam'),
    undefined,
    'trailing colon',
  );
  assert.equal(
    taskLogPath('UPID:pve1:0004C5D2:002D11E0:69F53070:vzdump::root@pam:'),
    '0/UPID:pve1:0004C5D2:002D11E0:69F53070:vzdump::root@pam:',
  );
});

test('task index and active: endtime and status (with spaces) parsed, running entries marked', () => {
  const idx = parseTaskIndex(fixture('task-index.txt') + 'garbage line\n');
  assert.equal(idx.data.length, 5);
  assert.equal(idx.warnings.length, 1);
  assert.equal(
    idx.data[3]!.status,
    "could not activate storage 'nas-dump': storage 'nas-dump' is not online",
  );
  assert.equal(idx.data[3]!.endtime, idx.data[3]!.starttime);
  const act = parseActiveTasks(fixture('task-active.txt'));
  assert.deepEqual(act.warnings, []);
  assert.equal(act.data[0]!.status, 'RUNNING');
  assert.equal(act.data[0]!.saved, false);
  assert.equal(act.data[1]!.saved, true);
  assert.equal(act.data[1]!.status, 'WARNINGS: 1');
});

test('task status classes follow PVE: any unknown text is an error, WARNINGS is a success', () => {
  assert.equal(taskStatusClass('OK'), 'ok');
  assert.equal(taskStatusClass('WARNINGS: 3'), 'warning');
  assert.equal(taskStatusClass('job errors'), 'error');
  assert.equal(taskStatusClass('unexpected status'), 'unknown');
  assert.equal(taskStatusClass(undefined), 'unknown');
  assert.equal(taskStatusClass('RUNNING'), 'running');
});

test('vzdump log: per-guest results, the error line, archive size and target storage', () => {
  const log = parseVzdumpLog(fixture('task-log.vzdump-job-failed.txt'));
  assert.equal(log.storage, 'nas-dump');
  assert.equal(log.status, 'job errors');
  assert.deepEqual(log.guests[0], { vmid: 210, ok: true, sizeBytes: Math.round(1.52 * 1024 ** 3) });
  assert.equal(log.guests[1]!.vmid, 211);
  assert.equal(log.guests[1]!.ok, false);
  assert.match(log.guests[1]!.error!, /^unable to create temporary directory/);
  // a PBS log: `transferred` is the size; a truncated log ends "unexpected status"
  const pbs = parseVzdumpLog(
    'INFO: Starting Backup of VM 109 (qemu)\nINFO: transferred 20.00 GiB in 23 seconds (890.4 MiB/s)\nINFO: Finished Backup of VM 109 (00:00:25)\nINFO: Backup job finished successfully\nTASK OK\n',
  );
  assert.deepEqual(pbs, { guests: [{ vmid: 109, ok: true, sizeBytes: 20 * 1024 ** 3 }], status: 'OK' });
  assert.equal(parseVzdumpLog('INFO: Starting Backup of VM 1 (lxc)\n').status, 'unexpected status');
});

test('backup history: last success/failure per guest from single-guest tasks and job logs; failed tasks newest first', () => {
  const h = new BackupHistory();
  const tasks = parseTaskIndex(fixture('task-index.txt')).data;
  const log = parseVzdumpLog(fixture('task-log.vzdump-job-failed.txt'));
  for (const t of tasks) h.add(t, vzdumpNeedsLog(t) && t.status === 'job errors' ? log : undefined);
  h.add(tasks[0]!); // the same task twice counts once
  assert.equal(h.guests.get(101)?.lastSuccess?.at, tasks[0]!.endtime);
  assert.equal(h.guests.get(102)?.lastSuccess?.at, tasks[4]!.endtime, 'WARNINGS counts as success');
  assert.equal(h.guests.get(210)?.lastSuccess?.storage, 'nas-dump');
  assert.match(h.guests.get(211)?.lastFailure?.error ?? '', /unable to create temporary directory/);
  assert.deepEqual(
    h.failed.map((f) => f.status),
    ["could not activate storage 'nas-dump': storage 'nas-dump' is not online", 'job errors'],
  );
  assert.equal(h.since, tasks[0]!.starttime);
  assert.equal(vzdumpNeedsLog(tasks[0]!), false, 'a single-guest OK needs no log');
  assert.equal(vzdumpNeedsLog(tasks[2]!), true);
});

test('job coverage: all minus exclude, vmid lists, node restriction, pools, disabled jobs still cover', () => {
  const jobs = [...parseBackupJobsCfg(fixture('jobs.cfg')), ...parseVzdumpCron(fixture('vzdump.cron'))];
  assert.deepEqual(
    jobs.map((j) => [j.id, j.enabled]),
    [
      ['backup-3c1f9a20-51de', true],
      ['backup-nightly', false],
      ['cron:1', true],
      ['cron:2', false],
    ],
  );
  assert.deepEqual(jobs[2]!.vmids, [400, 401]);
  const pools = parsePools(fixture('user.cfg'));
  const g = (vmid: number, node = 'pve1') => ({ vmid, type: 'qemu' as const, node });
  // all-job: only the excluded 9000 is left; without it the node restriction and the pool decide
  assert.deepEqual(notBackedUp([g(100), g(9000)], jobs, pools), [{ vmid: 9000, type: 'qemu' }]);
  const noAll = jobs.filter((j) => !j.all);
  assert.deepEqual(
    notBackedUp([g(300, 'pve1'), g(300, 'pve2'), g(401), g(500), g(600)], noAll, pools).map((x) => x.vmid),
    [300, 600],
  );
});

test('HA: manager_status + resources.cfg; the API answer gives the same status', () => {
  const cfg = parseHaResourcesCfg(fixture('resources.cfg'));
  assert.deepEqual(
    [...cfg],
    [
      ['vm:101', 'started'],
      ['ct:102', 'started'],
      ['vm:103', 'disabled'],
    ],
  );
  const ms: unknown = JSON.parse(fixture('manager_status.fence.json'));
  const s = haStatusOf(ms, cfg);
  assert.equal(s.masterNode, 'pve2');
  assert.equal(s.nodes.pve1, 'fence');
  assert.deepEqual(
    s.resources.map((r) => [r.sid, r.state, r.node, r.vmid]),
    [
      ['ct:102', 'started', 'pve2', 102],
      ['vm:101', 'fence', 'pve1', 101],
      ['vm:103', 'queued', undefined, 103],
    ],
  );
  const api = haResourcesFromApi([
    { sid: 'vm:101', type: 'vm', state: 'started', max_relocate: 2, digest: 'x' },
    { sid: 'ct:102', type: 'ct', digest: 'x' },
    { sid: 'vm:103', type: 'vm', state: 'disabled', digest: 'x' },
  ]);
  assert.deepEqual(haStatusOf(ms, api), s);
  assert.deepEqual(haStatusOf({}, new Map()), { nodes: {}, resources: [] });
  const body = buildHaPayload(meta, s);
  assert.ok(validateOps('ha', body).ok);
});

test('replication: cfg + state file equals the API rows; broken state files are a warning', () => {
  const cfg = parseReplicationCfg(fixture('replication.cfg'));
  const state = parseReplicationState(fixture('pve-replication-state.json'));
  assert.deepEqual(state.warnings, []);
  const files = replicationJobsFromFiles(cfg, state.data, new Set([100, 101]));
  assert.deepEqual(
    files.map((j) => [j.id, j.failCount, j.lastSync, j.error !== undefined]),
    [
      ['100-0', 0, 1777680000, false],
      ['101-0', 3, 1777676100, true],
    ],
  );
  const rows = files.map((j) => ({
    id: j.id,
    type: 'local',
    guest: j.guest,
    jobnum: 0,
    target: j.target,
    source: 'pve1',
    vmtype: 'qemu',
    next_sync: 0,
    ...(j.schedule !== '*/15' ? { schedule: j.schedule } : {}),
    ...state.data[String(j.guest)]![`local/${j.target}`],
  }));
  assert.deepEqual(replicationJobsFromApi(rows), files);
  assert.deepEqual(parseReplicationState('\0\0').data, {});
  assert.equal(parseReplicationState('{"broken"').warnings.length, 1);
  assert.equal(cfg.find((j) => j.id === '300-1')?.disable, true);
  assert.ok(validateOps('replication', buildReplicationPayload(meta, files)).ok);
});

test('backups payload validates, names coverage, and the API task entry equals the index line', () => {
  const tasks = parseTaskIndex(fixture('task-index.txt')).data;
  const h = new BackupHistory();
  for (const t of tasks) h.add(t);
  const body = buildBackupsPayload(
    meta,
    [
      { vmid: 101, type: 'qemu', node: 'pve1', name: 'app' },
      { vmid: 9000, type: 'qemu', node: 'pve1' },
    ],
    new Set([9000]),
    h,
  );
  const v = validateOps('backups', body);
  assert.ok(v.ok, JSON.stringify(v));
  assert.equal(body.guests[0]!.covered, true);
  assert.equal(body.guests[1]!.covered, false);
  assert.equal(body.guests[0]!.last_success?.at, tasks[0]!.endtime);
  const t = tasks[2]!;
  assert.deepEqual(
    taskFromApi({
      upid: t.upid,
      node: 'pve1',
      pid: t.pid,
      pstart: t.pstart,
      starttime: String(t.starttime),
      type: 'vzdump',
      id: '',
      user: 'root@pam',
      endtime: t.endtime,
      status: t.status,
    }),
    t,
  );
});
