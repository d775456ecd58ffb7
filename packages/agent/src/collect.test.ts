// Cycle behaviour on the simulator: detection without Proxmox, one failing guest, CPU from
// /proc/stat deltas between cycles.
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSource } from './agent.ts';
import { createCollector, type CycleItem } from './collect.ts';
import { loadConfig } from './config.ts';
import { httpRequest } from './http.ts';
import { memoryLogger } from './log.ts';
import { createLightProcReader, readCpuTimes, readNetCounters } from './sources/local.ts';
import { dryRun, makeSim, requireSim } from './testing/sim.ts';

test('without Proxmox VE the agent says so, sends nothing and exits 0', async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(t, { nodes: 1, standalone: true, guests: 1, seed: 1, clock: 'frozen' });
  const empty = join(f.dir, 'empty');
  mkdirSync(empty);
  const r = await dryRun({
    ...f.env('pve'),
    PATH: `${empty}:/usr/bin:/bin`,
    NANNYAGENT_PVE_ROOT: join(f.dir, 'no-pve'),
  });
  assert.equal(r.code, 0);
  assert.deepEqual(r.items, []);
  assert.match(r.log, /\[WARN\] Proxmox VE not detected .*checking again every cycle/);
});

test('one failing guest is logged with the command stderr and the cycle goes on', async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(t, { nodes: 1, standalone: true, guests: 6, seed: 8, clock: 'frozen' }, process.env.PATH);
  const victim = f.sim.state().guests[2]!;
  const kind = victim.kind;
  // a pvesh that fails for one guest, as a real one does when the config is locked or unreadable
  const bin = join(f.dir, 'wrap');
  mkdirSync(bin);
  const real = join(f.sim.paths('pve').bin, 'pvesh');
  writeFileSync(
    join(bin, 'pvesh'),
    `#!/bin/sh\ncase "$2" in */${kind}/${victim.vmid}/pending) echo "unable to open file - Permission denied" >&2; exit 2;; esac\nexec '${real}' "$@"\n`,
  );
  chmodSync(join(bin, 'pvesh'), 0o755);
  const env = f.env('pve');
  const r = await dryRun({ ...env, PATH: `${bin}:${env.PATH!}` }, ['--source', 'pvesh']);
  assert.equal(r.code, 0);
  assert.equal(r.items.length, 1 + 1 + 5); // node, storage, the five guests left
  assert.ok(!r.items.some((i) => i.body.vmid === victim.vmid));
  assert.match(
    r.log,
    new RegExp(`\\[ERROR\\] ${kind} ${victim.vmid}: .*exit 2: unable to open file - Permission denied`),
  );
});

test('node CPU comes from /proc/stat deltas between cycles', async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(t, { nodes: 1, standalone: true, guests: 1, seed: 6, clock: 'frozen' });
  // a /proc of our own whose counters we move by hand between the cycles
  const proc = join(f.dir, 'proc');
  cpSync(f.sim.paths('pve').proc, proc, { recursive: true });
  const stat = (user: number, system: number, idle: number, iowait: number) =>
    writeFileSync(
      join(proc, 'stat'),
      `cpu  ${user} 0 ${system} ${idle} ${iowait} 0 0 0 0 0\ncpu0 ${user} 0 ${system} ${idle} ${iowait} 0 0 0 0 0\nbtime 1700000000\n`,
    );
  const env = f.env('pve', { NANNYAGENT_SOURCE: 'files', NANNYAGENT_PROC_ROOT: proc });
  const config = loadConfig({ env });
  const log = memoryLogger();
  const items: CycleItem[] = [];
  const c = createCollector({
    source: createSource(config, log, httpRequest, {}, env),
    log,
    agentVersion: 'test',
    intervalSeconds: 1,
    readCpuTimes: () => readCpuTimes(config.procRoot),
    hostname: () => 'pve',
    emit: (b) => {
      items.push(...b);
    },
  });
  stat(100, 100, 800, 0);
  await c.runCycle();
  const first = items.find((i) => i.kind === 'node')!.body;
  // before two samples exist: pvestatd's value from .rrd, as /nodes/{node}/status reports it
  assert.equal(typeof first.cpu_usage_ratio, 'number');
  items.length = 0;
  stat(150, 150, 880, 20); // +50 user +50 system +80 idle +20 iowait = 200 ticks
  await c.runCycle();
  const node = items.find((i) => i.kind === 'node')!.body;
  assert.equal(node.cpu_usage_ratio, 0.5);
  assert.equal(node.io_wait_ratio, 0.1);
});

test("cycle and heartbeat node reports carry the physical NICs' bytes from /proc/net/dev", async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(t, { nodes: 1, standalone: true, guests: 1, seed: 6, clock: 'frozen' });
  const proc = join(f.dir, 'proc');
  cpSync(f.sim.paths('pve').proc, proc, { recursive: true });
  cpSync(new URL('../../proxmox/fixtures/proc/net-dev.txt', import.meta.url), join(proc, 'net', 'dev'));
  const env = f.env('pve', { NANNYAGENT_SOURCE: 'files', NANNYAGENT_PROC_ROOT: proc });
  const config = loadConfig({ env });
  const log = memoryLogger();
  const items: CycleItem[] = [];
  const light = createLightProcReader(proc);
  const c = createCollector({
    source: createSource(config, log, httpRequest, {}, env),
    log,
    agentVersion: 'test',
    intervalSeconds: 1,
    readNetCounters: () => readNetCounters(proc, []),
    readProcLight: () => light([]),
    hostname: () => 'pve',
    emit: (b) => {
      items.push(...b);
    },
  });
  await c.runCycle();
  assert.equal(await c.outOfCycle('heartbeat'), 1);
  const nodes = items.filter((i) => i.kind === 'node').map((i) => i.body);
  assert.deepEqual(
    nodes.map((b) => [b.trigger, b.net_in_bytes, b.net_out_bytes]),
    [
      // eno1 + eno2; not lo, bond0 (= eno1 + eno2), vmbr0, the VLAN, tap, veth and firewall pairs
      ['cycle', 81235567890, 7125456789],
      ['heartbeat', 81235567890, 7125456789],
    ],
  );
});

test('auto uses the files when /etc/pve is readable and falls back to pvesh when it is not', async (t) => {
  if (!requireSim(t)) return;
  const f = makeSim(
    t,
    { nodes: 1, standalone: true, guests: 3, seed: 12, clock: 'frozen' },
    process.env.PATH,
  );
  const env = f.env('pve', { NANNYAGENT_SOURCE: 'auto' });
  const viaFiles = await dryRun(env);
  assert.equal(viaFiles.code, 0, viaFiles.log);
  assert.equal(
    JSON.parse(readFileSync(join(env.NANNYAGENT_STATE_DIR!, 'last-cycle.json'), 'utf8')).source,
    'files',
  );
  const viaPvesh = await dryRun({ ...env, NANNYAGENT_PVE_ROOT: join(f.dir, 'not-mounted') });
  assert.equal(viaPvesh.code, 0, viaPvesh.log);
  assert.match(viaPvesh.log, /\/etc\/pve not readable .*: using pvesh/);
  assert.equal(
    JSON.parse(readFileSync(join(env.NANNYAGENT_STATE_DIR!, 'last-cycle.json'), 'utf8')).source,
    'pvesh',
  );
  assert.equal(viaPvesh.items.length, viaFiles.items.length);
});
