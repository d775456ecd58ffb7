#!/usr/bin/env node
// `npm run demo`: the whole system on this machine. Starts nannyapi (SQLite in .demo/), lays out a
// simulated 3-node cluster plus a standalone node, starts one real nannyagent per simulated node with
// a short interval, plays events now and then (an upgrade, a reboot, a quorum loss and recovery),
// and prints the URL, the login and a read token. For its cluster it shortens version_mismatch's
// grace to two intervals, so the upgrade's mismatch fires during the demo. Ctrl-C stops everything
// it started.
//
// Options (environment): DEMO_PORT (default 8080; 0 = any free port), DEMO_INTERVAL (agent interval,
// seconds, default 10), DEMO_DIR (default .demo, wiped at start).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import process from 'node:process';

const root = new URL('..', import.meta.url).pathname;
const bundles = {
  api: join(root, 'packages/api/dist/nannyapi.mjs'),
  agent: join(root, 'packages/agent/dist/nannyagent.mjs'),
  sim: join(root, 'packages/pve-sim/dist/pve-sim.mjs'),
};
for (const [name, file] of Object.entries(bundles)) {
  if (!existsSync(file)) {
    console.error(`demo: the ${name} bundle is missing (${file}); run \`npm ci\` or \`npm run build\` first`);
    process.exit(1);
  }
}

const dir = join(root, process.env.DEMO_DIR ?? '.demo');
const port = process.env.DEMO_PORT ?? '8080';
const interval = process.env.DEMO_INTERVAL ?? '10';
const password = `demo-${randomBytes(6).toString('hex')}`;
const children = [];
let stopping = false;

const say = (msg) => console.log(`[demo] ${msg}`);

function start(name, args, env, { quiet = false } = {}) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  const onData = (d) => {
    out += d.toString();
    if (!quiet)
      for (const line of d.toString().split('\n')) if (line.trim()) console.log(`[${name}] ${line}`);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.on('exit', (code, signal) => {
    if (!stopping) console.log(`[demo] ${name} exited (${signal ?? code})`);
  });
  return { child, output: () => out };
}

// One command to its end. Asynchronous, not spawnSync: a Ctrl-C during a slow command (a loaded
// machine) must reach stopAll() at once, not after the command, or a SIGKILL would orphan the rest.
function run(args, env = {}) {
  if (stopping) return Promise.reject(new Error('stopping'));
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d.toString()));
  child.stderr.on('data', (d) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${args.slice(0, 3).join(' ')} failed: ${stderr || stdout}`));
    });
  });
}
const lastLine = (s) => s.trim().split('\n').at(-1).trim();
/** The demo's version_mismatch grace: two agent cycles, so it fires before the next event plays. */
const mismatchGrace = (intervalSeconds) => Math.max(2, 2 * intervalSeconds);

async function stopAll() {
  if (stopping) return;
  stopping = true;
  say('stopping everything it started …');
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const t = setTimeout(() => c.kill('SIGKILL'), 5000);
          c.on('exit', () => {
            clearTimeout(t);
            resolve();
          });
        }),
    ),
  );
  say('stopped; nothing left running');
}
process.on('SIGINT', () => void stopAll().then(() => process.exit(0)));
process.on('SIGTERM', () => void stopAll().then(() => process.exit(0)));

async function main() {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const apiEnv = {
    NANNYAPI_DATA_DIR: join(dir, 'api'),
    NANNYAPI_PORT: port,
    NANNYAPI_HOST: '127.0.0.1',
    NANNYAPI_ADMIN_USER: 'admin',
    NANNYAPI_ADMIN_PASSWORD: password,
    NANNYAPI_LOG_LEVEL: 'warn',
  };

  say('starting nannyapi (SQLite in .demo/api) …');
  const api = start('nannyapi', [bundles.api, 'serve'], apiEnv, { quiet: true });
  const url = await new Promise((resolve, reject) => {
    const deadline = Date.now() + 20000;
    const poll = setInterval(() => {
      const m = /nannyapi listening on (http:\/\/\S+)/.exec(api.output());
      if (m) {
        clearInterval(poll);
        resolve(m[1]);
      } else if (api.child.exitCode !== null || Date.now() > deadline) {
        clearInterval(poll);
        reject(
          new Error(`nannyapi did not start:\n${api.output()}\n(is port ${port} taken? try DEMO_PORT=0)`),
        );
      }
    }, 100);
  });

  say('laying out the simulated fleet: cluster "production" (pve1-3) and standalone "homelab" …');
  const layout = join(dir, 'sim');
  await run([bundles.sim, 'layout', '--scenario', join(root, 'scripts/demo/scenario.json'), '--out', layout]);
  start('pve-sim tick', [bundles.sim, 'tick', '--state', layout, '--interval', '2000'], {}, { quiet: true });
  const nodes = ['pve1', 'pve2', 'pve3', 'homelab'];

  const enroll = lastLine(
    await run([bundles.api, 'enroll', 'create', '--uses', String(nodes.length)], apiEnv),
  );
  const readToken = lastLine(
    await run([bundles.api, 'token', 'create', '--name', 'demo-read', '--scope', 'read'], apiEnv),
  );
  // version_mismatch waits 6 h by default (a rolling upgrade passes through mixed versions), which
  // a demo never reaches: shorten the grace for the demo's cluster only, through the settings API
  // a user would use, logged in as the admin (no extra process to start on a busy machine).
  const login = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  const session = /^[^;]+/.exec(login.headers.get('set-cookie') ?? '')?.[0];
  if (!login.ok || !session) throw new Error(`demo login failed: ${login.status} ${await login.text()}`);
  const graceSeconds = mismatchGrace(Number(interval));
  const put = await fetch(`${url}/api/alerts/settings`, {
    method: 'PUT',
    headers: { cookie: session, 'content-type': 'application/json' },
    body: JSON.stringify({ clusters: { production: { version_mismatch: { graceSeconds } } } }),
  });
  if (!put.ok) throw new Error(`setting the demo's alert grace failed: ${put.status} ${await put.text()}`);

  for (const node of nodes) {
    const env = {
      PATH: `${join(layout, node, 'bin')}:${process.env.PATH}`,
      NANNYAGENT_CONFIG: '/dev/null',
      NANNYAPI_URL: url,
      NANNYAGENT_PVE_ROOT: join(layout, node, 'etc-pve'),
      NANNYAGENT_PROC_ROOT: join(layout, node, 'proc'),
      NANNYAGENT_HOSTS_FILE: join(layout, node, 'etc-hosts'),
      NANNYAGENT_DPKG_STATUS: join(layout, node, 'var-lib-dpkg-status'),
      NANNYAGENT_TASKS_ROOT: join(layout, node, 'var-log-pve-tasks'),
      NANNYAGENT_PVE_LIB_ROOT: join(layout, node, 'var-lib-pve-manager'),
      NANNYAGENT_STATE_DIR: join(dir, 'agents', node),
      NANNYAGENT_NODE: node,
      PROXMOX_INTERVAL: interval,
    };
    await run([bundles.agent, 'register', '--url', url, '--enroll-token', enroll], env);
    start(`agent ${node}`, [bundles.agent, 'run'], env);
  }

  console.log(`
==============================================================================
 nannyapi demo is running
   dashboard / API : ${url}/          (API docs: ${url}/docs)
   login           : admin / ${password}
   read token      : ${readToken}
   try             : curl -s -H "Authorization: Bearer ${readToken}" ${url}/api/nodes
 agents on pve1, pve2, pve3 (cluster "production") and homelab (standalone),
 one cycle every ${interval} s. Every ${3 * Number(interval)} s an event plays: an upgrade (and, as
 the versions then differ, version_mismatch), a reboot, a quorum loss and its
 recovery. Press Ctrl-C to stop everything.
==============================================================================
`);

  const step = Number(interval) * 3 * 1000;
  const events = [
    [
      `version upgrade on pve2 (→ version_upgraded, then version_mismatch after the demo's ${mismatchGrace(Number(interval))} s grace)`,
      ['version-upgrade', '--node', 'pve2', '--version', '9.2.1'],
    ],
    ['reboot of pve3 (→ node_rebooted)', ['node-reboot', '--node', 'pve3']],
    ['quorum lost in "production" (→ quorum_lost, critical)', ['quorum-lost', '--cluster', 'production']],
    ['quorum regained (→ quorum_lost resolved)', ['quorum-regained', '--cluster', 'production']],
  ];
  for (const [what, args] of events) {
    await new Promise((r) => setTimeout(r, step));
    if (stopping) return;
    say(`event: ${what}`);
    await run([bundles.sim, 'event', '--state', layout, ...args]);
  }
  say('all scripted events played; the fleet keeps reporting. Ctrl-C to stop.');
}

main().catch(async (e) => {
  if (stopping) return; // Ctrl-C during a command: stopAll() is already at work
  console.error(`[demo] ${e instanceof Error ? e.message : String(e)}`);
  await stopAll();
  process.exit(1);
});
