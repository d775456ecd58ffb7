// The daemon (`run`) against the simulator and a fake nannyapi on loopback: outages, token expiry,
// restarts, registration and bad configuration, with sub-second intervals.
import { budgets, test, waitFor, within } from '@nanny/testing';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createAgent } from './agent.ts';
import { main } from './cli.ts';
import { loadConfig } from './config.ts';
import { memoryLogger } from './log.ts';
import { startFakeApi, type FakeApi } from './testing/fake-api.ts';
import { dryRun, makeSim, requireSim } from './testing/sim.ts';

// 'long': each cycle runs the collectors and spools to disk; on a crowded 2-core machine four
// cycles of 0.15 s took over 15 s (issue 10)
const wait = (what: string, cond: () => boolean): Promise<true> =>
  waitFor(() => cond() || undefined, { what, budget: 'long' });

/** Starts the daemon loop and registers its stop at once; the returned stop() is safe to call again. */
function startAgent(t: { after(fn: () => unknown): void }, agent: ReturnType<typeof createAgent>) {
  const running = agent.run();
  const stop = async (): Promise<void> => {
    agent.stop();
    // the cycle in flight finishes first; on a crowded machine that took over 5 s
    await within(running, { what: 'the agent loop to end after stop()', budget: 'medium' });
  };
  t.after(stop);
  return stop;
}

async function cli(
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      err += s;
    },
    env,
  });
  return { code, out, err };
}

function fastEnv(api: FakeApi, env: Record<string, string>): Record<string, string> {
  return {
    ...env,
    NANNYAPI_URL: api.url,
    PROXMOX_INTERVAL: '0.15',
    NANNYAGENT_RETRY_BASE: '0.01',
    NANNYAGENT_RETRY_MAX: '0.05',
    NANNYAGENT_SOURCE: 'files',
    NANNYAGENT_LOG_LEVEL: 'info',
  };
}

/** Received items grouped by cycle (collected_at), each group checked against one cycle's sequence. */
function assertWholeCyclesInOrder(api: FakeApi, sequence: string[]): number {
  const stamps: string[] = [];
  const groups = new Map<string, string[]>();
  for (const r of api.received) {
    const at = String(r.body.collected_at);
    if (!groups.has(at)) {
      stamps.push(at);
      groups.set(at, []);
    }
    groups.get(at)!.push(`${r.kind}:${String(r.body.vmid ?? r.body.name ?? r.body.cluster_name)}`);
  }
  assert.deepEqual(stamps, [...stamps].sort(), 'cycles arrive in order');
  stamps.forEach((s, i) => {
    const g = groups.get(s)!;
    if (i < stamps.length - 1) assert.deepEqual(g, sequence, `cycle ${i} complete and in order`);
    else assert.deepEqual(g, sequence.slice(0, g.length), 'last cycle in order');
  });
  return stamps.length;
}

test('register stores the credentials with mode 0600; status shows identity, reachability, spool and last cycle', async (t) => {
  if (!requireSim(t)) return;
  const api = await startFakeApi();
  t.after(() => api.close());
  const f = makeSim(t, { nodes: 1, standalone: true, guests: 3, seed: 1, clock: 'frozen' }, process.env.PATH);
  const env = fastEnv(api, f.env('pve'));
  const bad = await cli(['register', '--url', api.url, '--enroll-token', 'wrong'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /Invalid enrollment token/);
  const ok = await cli(['register', '--url', api.url, '--enroll-token', api.enrollToken], env);
  assert.equal(ok.code, 0, ok.err);
  const reg = api.registrations.at(-1)!;
  assert.equal(reg.hostname, 'pve', 'the Proxmox node name, not the host name');
  assert.match(String(reg.cluster_fingerprint), /^[0-9a-f]{64}$/);
  assert.match(String(reg.pve_version), /^pve-manager\//);
  const creds = join(env.NANNYAGENT_STATE_DIR!, 'credentials.json');
  assert.equal(statSync(creds).mode & 0o777, 0o600);
  const once = await cli(['collect', '--once'], env);
  assert.equal(once.code, 0, once.err);
  // node, storage + 3 guests, then the backups and replication reports (a standalone node has no HA)
  assert.equal(api.received.length, 7);
  assert.deepEqual(
    api.ops.map((r) => r.kind),
    ['backups', 'replication'],
  );
  const st = await cli(['status'], env);
  assert.equal(st.code, 0, st.out + st.err);
  assert.match(st.out, /agent:\s+agent-1/);
  assert.match(st.out, /reachable:\s+yes/);
  assert.match(st.out, /spool:\s+0 undelivered/);
  assert.match(st.out, /last cycle:.*via files.*7 report\(s\), 0 error\(s\)/);
});

test('collect --once exits non-zero when reports cannot be delivered', async (t) => {
  if (!requireSim(t)) return;
  const api = await startFakeApi();
  t.after(() => api.close());
  const f = makeSim(t, { nodes: 1, standalone: true, guests: 2, seed: 1, clock: 'frozen' }, process.env.PATH);
  const env = fastEnv(api, f.env('pve'));
  assert.equal((await cli(['register', '--enroll-token', api.enrollToken], env)).code, 0);
  api.mode = 'down';
  const r = await cli(['collect', '--once'], env);
  assert.equal(r.code, 1);
  assert.match(r.err, /unavailable: down for maintenance/);
});

test('API down for several cycles, then back: everything spooled arrives, in order, none lost; a 401 mid-run refreshes and continues', async (t) => {
  if (!requireSim(t)) return;
  const api = await startFakeApi();
  t.after(() => api.close());
  const f = makeSim(t, { nodes: 3, guests: 9, seed: 4, clock: 'frozen' }, process.env.PATH);
  const env = fastEnv(api, f.env('pve1'));
  const run = await dryRun(env);
  const sequence = [...run.items, ...run.ops].map((i) => {
    const b = i.body;
    return `${i.endpoint.replace('/api/proxmox/', '')}:${String(b.vmid ?? b.name ?? b.cluster_name)}`;
  });
  assert.equal((await cli(['register', '--enroll-token', api.enrollToken], env)).code, 0);
  const config = loadConfig({ env });
  const log = memoryLogger();
  const agent = createAgent({ config, log, env });
  const stopAgent = startAgent(t, agent);
  await wait('first cycle delivered', () => api.received.length >= sequence.length);
  api.mode = 'down';
  const depthAtOutage = agent.spool.depth();
  await wait('four cycles spooled', () => agent.spool.depth() >= depthAtOutage + 4 * sequence.length);
  // What was queued when the API came back must all arrive; the agent keeps collecting meanwhile,
  // so "depth 0" would be a moving target on a loaded machine.
  const queuedAtRecovery = agent.spool.depth();
  const receivedAtRecovery = api.received.length;
  api.mode = 'ok';
  api.expireAccessToken(); // the token "expires" during the outage: 401 → refresh → resend
  await wait(
    'everything queued during the outage delivered',
    () => api.received.length >= receivedAtRecovery + queuedAtRecovery,
  );
  const refreshesBefore = api.hits['/api/agent/refresh'] ?? 0;
  assert.ok(refreshesBefore >= 1);
  api.expireAccessToken(); // and once more while everything is healthy
  const n = api.received.length;
  await wait('delivery continues after the second 401', () => api.received.length >= n + sequence.length);
  assert.equal(api.hits['/api/agent/refresh'], refreshesBefore + 1);
  await stopAgent();
  const cycles = assertWholeCyclesInOrder(api, sequence);
  assert.ok(cycles >= 6, `${cycles} cycles`);
  // Whatever was collected is delivered or still spooled, whole cycles only.
  const total = api.received.length + agent.spool.depth();
  assert.equal(total % sequence.length, 0);
  assert.ok(total >= cycles * sequence.length);
  assert.ok(!log.lines.some((l) => l.includes('dropped')), 'nothing dropped');
  assert.ok(log.lines.some((l) => l === '[INFO] access token refreshed'));
});

test('the spool survives a restart: reports queued while the API was down arrive after the agent restarts', async (t) => {
  if (!requireSim(t)) return;
  const api = await startFakeApi();
  t.after(() => api.close());
  const f = makeSim(t, { nodes: 1, standalone: true, guests: 4, seed: 2, clock: 'frozen' }, process.env.PATH);
  const env = fastEnv(api, f.env('pve'));
  assert.equal((await cli(['register', '--enroll-token', api.enrollToken], env)).code, 0);
  api.mode = 'down';
  const config = loadConfig({ env });
  const a = createAgent({ config, log: memoryLogger(), env });
  const stopA = startAgent(t, a);
  await wait('three cycles spooled', () => a.spool.depth() >= 24);
  await stopA();
  const queued = a.spool.depth();
  api.mode = 'ok';
  const b = createAgent({ config, log: memoryLogger(), env });
  const stopB = startAgent(t, b);
  await wait('all queued delivered', () => api.received.length >= queued);
  await stopB();
  // node, storage + 4 guests (no cluster report on a standalone node), backups, replication (no HA)
  const perCycle = 8;
  assert.equal(queued % perCycle, 0);
  const firstStamps = new Set(api.received.slice(0, queued).map((r) => r.body.collected_at));
  assert.equal(firstStamps.size * perCycle, queued, 'whole cycles, none lost');
  assert.equal(api.received[0]!.kind, 'node');
});

test('bad configuration: every error listed, non-zero exit, nothing started', async () => {
  const r = await cli(['run'], {
    NANNYAGENT_CONFIG: '/dev/null',
    PROXMOX_INTERVAL: 'often',
    NANNYAGENT_SOURCE: 'magic',
    NANNYAPI_URL: 'ftp://x',
  });
  assert.equal(r.code, 2);
  assert.match(r.err, /invalid configuration/);
  assert.match(r.err, /PROXMOX_INTERVAL/);
  assert.match(r.err, /NANNYAGENT_SOURCE/);
  assert.match(r.err, /NANNYAPI_URL/);
});

test('the entry point exits non-zero with the errors on stderr (real process)', () => {
  const main = new URL('./main.ts', import.meta.url).pathname;
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'run', '--interval', '0'], {
    env: { PATH: process.env.PATH, NANNYAGENT_CONFIG: '/nonexistent/config.env' },
    encoding: 'utf8',
    timeout: budgets.processStart,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /NANNYAGENT_CONFIG: cannot read \/nonexistent\/config.env \(ENOENT\)/);
  assert.match(r.stderr, /--interval: must be a number from 0.05 to 86400 \(got 0\)/);
});
