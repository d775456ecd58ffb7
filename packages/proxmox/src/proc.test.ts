import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  cpuUsageBetween,
  nodeStatusFromProc,
  parseCpuinfo,
  parseLoadavg,
  parseMeminfo,
  parseProcStat,
  parseProcVersion,
  parseUptime,
} from './proc.ts';

const fixture = (p: string) => readFileSync(new URL(`../fixtures/proc/${p}`, import.meta.url), 'utf8');
const must = <T>(v: T | undefined): T => {
  assert.ok(v !== undefined);
  return v;
};

test('/proc/stat gives aggregate and per-CPU jiffies and the boot time', () => {
  const r = parseProcStat(fixture('stat.t0.txt'));
  assert.deepEqual(r.warnings, []);
  const s = must(r.data);
  assert.deepEqual(s.cpu, {
    user: 1000,
    nice: 50,
    system: 400,
    idle: 8000,
    iowait: 100,
    irq: 10,
    softirq: 20,
    steal: 0,
    guest: 30,
    guestNice: 0,
  });
  assert.equal(s.cpus.length, 2);
  assert.equal(s.bootTime, 1731136000);
});

test('CPU busy and iowait shares come from the delta of two samples', () => {
  const a = must(parseProcStat(fixture('stat.t0.txt')).data).cpu;
  const b = must(parseProcStat(fixture('stat.t1.txt')).data).cpu;
  // delta: user 300, system 100, idle 1400, iowait 60, irq 10, softirq 10 → total 1880
  const u = must(cpuUsageBetween(a, b));
  assert.ok(Math.abs(u.busyRatio - 420 / 1880) < 1e-12);
  assert.ok(Math.abs(u.ioWaitRatio - 60 / 1880) < 1e-12);
});

test('no CPU share is invented when no tick passed or the counters went backwards', () => {
  const a = must(parseProcStat(fixture('stat.t0.txt')).data).cpu;
  const b = must(parseProcStat(fixture('stat.t1.txt')).data).cpu;
  assert.equal(cpuUsageBetween(a, a), undefined);
  assert.equal(cpuUsageBetween(b, a), undefined, 'a reboot between samples');
});

test('a /proc/stat without cpu line is a warning', () => {
  const r = parseProcStat('intr 1\n');
  assert.equal(r.data, undefined);
  assert.equal(r.warnings.length, 1);
  assert.equal(parseProcStat('cpu  1 2 x 4\n').warnings.length, 2);
});

test('/proc/meminfo in bytes, used = total − MemAvailable', () => {
  const r = parseMeminfo(fixture('meminfo.txt'));
  assert.deepEqual(r.warnings, []);
  const m = must(r.data);
  assert.equal(m.totalBytes, 65536000 * 1024);
  assert.equal(m.availableBytes, 53687091 * 1024);
  assert.equal(m.usedBytes, (65536000 - 53687091) * 1024);
  assert.equal(m.swapTotalBytes, 8388604 * 1024);
  assert.equal(m.raw.HugePages_Total, 0, 'unit-less lines stay counts');
});

test('/proc/meminfo without MemAvailable (old kernels) subtracts free, buffers and cache', () => {
  const m = must(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n').data);
  assert.equal(m.usedBytes, 600 * 1024);
  assert.equal(parseMeminfo('MemTotal: lots\n').data, undefined);
});

test('/proc/loadavg, /proc/uptime and /proc/version', () => {
  assert.deepEqual(parseLoadavg(fixture('loadavg.txt')).data, {
    load1: 0.45,
    load5: 0.38,
    load15: 0.35,
    running: 2,
    total: 1234,
    lastPid: 567890,
  });
  assert.deepEqual(parseUptime(fixture('uptime.txt')).data, {
    uptimeSeconds: 1234567,
    idleSeconds: 19234567.12,
  });
  assert.deepEqual(parseProcVersion(fixture('version.txt')).data, {
    sysname: 'Linux',
    release: '6.8.12-4-pve',
    version: '#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)',
    kversion: 'Linux 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)',
  });
  assert.equal(parseLoadavg('garbage').data, undefined);
  assert.equal(parseUptime('').warnings.length, 1);
  assert.equal(parseProcVersion('nope').warnings.length, 1);
});

test('/proc/cpuinfo counts logical CPUs, sockets and physical cores as PVE does', () => {
  const r = parseCpuinfo(fixture('cpuinfo.2sockets.txt'));
  assert.deepEqual(r.warnings, []);
  const c = must(r.data);
  assert.equal(c.cpus, 4);
  assert.equal(c.sockets, 2);
  assert.equal(c.cores, 4);
  assert.equal(c.model, 'Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz');
  assert.equal(c.mhz, '2400.000');
  assert.equal(c.hvm, '1');
  assert.equal(parseCpuinfo('').data, undefined);
});

test('the /proc files make a /nodes/{node}/status shaped object', () => {
  const s = nodeStatusFromProc({
    meminfo: must(parseMeminfo(fixture('meminfo.txt')).data),
    loadavg: must(parseLoadavg(fixture('loadavg.txt')).data),
    uptimeSeconds: 1234567,
    cpuinfo: must(parseCpuinfo(fixture('cpuinfo.2sockets.txt')).data),
    kernel: must(parseProcVersion(fixture('version.txt')).data),
    pveversion: 'pve-manager/8.4.1/2a5fa54a8503f96d',
    rootfs: { total: 100, avail: 40, used: 55, free: 45 },
    cpu: { busyRatio: 0.25, ioWaitRatio: 0.01 },
  });
  assert.deepEqual(s.loadavg, ['0.45', '0.38', '0.35']);
  assert.equal(s.kversion, 'Linux 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)');
  assert.equal(s.cpu, 0.25);
  assert.equal(s.wait, 0.01);
  assert.deepEqual(s.memory, {
    total: 65536000 * 1024,
    used: (65536000 - 53687091) * 1024,
    free: 29360128 * 1024,
    available: 53687091 * 1024,
  });
  assert.deepEqual(s.swap, { total: 8388604 * 1024, free: 8388604 * 1024, used: 0 });
  assert.deepEqual(s.cpuinfo, {
    cpus: 4,
    sockets: 2,
    cores: 4,
    hvm: '1',
    model: 'Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz',
    mhz: '2400.000',
  });
  assert.equal(s.pveversion, 'pve-manager/8.4.1/2a5fa54a8503f96d');
});
