// Exercises the built executables (dist/pve-tools.mjs through the DIR/<node>/bin wrappers), called by
// absolute path from another working directory, and the blocking pmxcfs hang.
import { before, after } from 'node:test';
import { budgets, spawnTracked, test, waitFor, within, type AfterHook } from '@nanny/testing';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLayout, scenarioFromFlags, type Simulator } from './index.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bundle = fileURLToPath(new URL('../dist/pve-tools.mjs', import.meta.url));
const cliBin = fileURLToPath(new URL('../bin/pve-sim.mjs', import.meta.url));
const dirs: string[] = [];

before(() => {
  // CI builds before testing (npm test); build here only when the bundle is missing
  if (!existsSync(bundle))
    execFileSync(process.execPath, [join(repoRoot, 'scripts/build.mjs')], { stdio: 'ignore' });
});
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'pve-sim-tools-'));
  dirs.push(d);
  return d;
}

function run(cmd: string, args: string[], cwd = tmpdir()): { stdout: string; stderr: string; code: number } {
  try {
    const stdout = execFileSync(cmd, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: budgets.processStart,
    });
    return { stdout, stderr: '', code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; status: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.status };
  }
}

/** Start a process and resolve with its output; `exited` tells whether it has finished yet. */
function startChild(
  t: AfterHook,
  cmd: string,
  args: string[],
): { done: Promise<{ stdout: string; code: number | null }>; exited: () => boolean; pid: number } {
  const c = spawnTracked(t, cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let finished = false;
  c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ stdout: string; code: number | null }>((resolve) => {
    c.on('close', (code) => {
      finished = true;
      resolve({ stdout: out, code });
    });
  });
  return { done, exited: () => finished, pid: c.pid! };
}

/** True when some thread of the process sleeps in the kernel on a FIFO (opening or reading it). */
function blockedOnFifo(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).some((tid) =>
      /wait_for_partner|fifo_open|pipe_read|pipe_wait/.test(
        readFileSync(`/proc/${pid}/task/${tid}/wchan`, 'utf8'),
      ),
    );
  } catch {
    return false; // gone, or /proc not readable
  }
}

test('the CLI lays out a fleet whose bin wrappers work by absolute path from anywhere', () => {
  const out = join(tmp(), 'fleet');
  const r = run(process.execPath, [
    cliBin,
    'layout',
    '--nodes',
    '3',
    '--guests',
    '25',
    '--seed',
    '7',
    '--out',
    out,
    '--clock',
    'frozen',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /laid out 3 node\(s\), 25 guest\(s\)/);
  const pvesh = join(out, 'pve2', 'bin', 'pvesh');
  const st = run(pvesh, ['get', '/cluster/status', '--output-format', 'json'], '/');
  assert.equal(st.code, 0, st.stderr);
  const status = JSON.parse(st.stdout) as { name: string; local?: number }[];
  assert.equal(status.find((e) => e.local === 1)?.name, 'pve2');
  const again = run(pvesh, ['get', '/cluster/status', '--output-format', 'json'], '/');
  assert.equal(again.stdout, st.stdout);
  const pretty = run(pvesh, ['get', '/version', '--output-format', 'json-pretty']);
  assert.match(
    pretty.stdout,
    /^\{\n {3}"release" : "9\.1",\n {3}"repoid" : "[0-9a-f]+",\n {3}"version" : "9\.1\.1"\n\}\n$/,
  );
  const v = run(join(out, 'pve1', 'bin', 'pveversion'), ['--verbose']);
  assert.match(
    v.stdout,
    /^proxmox-ve: 9\.1\.0 \(running kernel: [^)]+\)\npve-manager: 9\.1\.1 \(running version: 9\.1\.1\/[0-9a-f]{16}\)\n/,
  );
  const cm = run(join(out, 'pve3', 'bin', 'pvecm'), ['status']);
  assert.match(cm.stdout, /0x00000003 {10}1 192\.168\.10\.13 \(local\)\n$/);
  const bad = run(pvesh, ['get', '/nope', '--output-format', 'json']);
  assert.equal(bad.code, 255);
  assert.equal(bad.stderr, "no 'get' handler for '/nope'\n");
  const ev = run(process.execPath, [cliBin, 'event', '--state', out, 'node-offline', '--node', 'pve3']);
  assert.equal(ev.code, 0, ev.stderr);
  const after2 = JSON.parse(run(pvesh, ['get', '/cluster/status', '--output-format', 'json']).stdout) as {
    name: string;
    online?: number;
  }[];
  assert.equal(after2.find((e) => e.name === 'pve3')?.online, 0);
});

test('the CLI explains itself and rejects bad flags', () => {
  const help = run(process.execPath, [cliBin, 'layout', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--nodes N/);
  for (const cmd of ['event', 'serve', 'tick', 'info'])
    assert.equal(run(process.execPath, [cliBin, cmd, '--help']).code, 0);
  const bad = run(process.execPath, [cliBin, 'layout', '--out', join(tmp(), 'x'), '--nodez', '3']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /pve-sim layout: --nodez: unknown option \(did you mean --nodes\?\)/);
  const badInt = run(process.execPath, [cliBin, 'layout', '--out', join(tmp(), 'y'), '--nodes', 'three']);
  assert.match(badInt.stderr, /--nodes must be an integer/);
  const badEvent = run(process.execPath, [cliBin, 'event', '--state', tmp(), 'explode']);
  assert.equal(badEvent.code, 1);
});

test('a pmxcfs hang blocks file reads and pvesh until it is released', async (t) => {
  const sim: Simulator = createLayout({
    out: join(tmp(), 'hang'),
    scenario: scenarioFromFlags({ nodes: 2, guests: 4, seed: 11, clock: 'frozen' }),
  });
  const members = join(sim.paths('pve2').etcPve, '.members');
  const expected = readFileSync(members, 'utf8');
  sim.apply({ type: 'pmxcfs-hang', node: 'pve2' });
  assert.ok(lstatSync(members).isFIFO());
  const cat = startChild(t, 'cat', [members]);
  const pvesh = startChild(t, join(sim.paths('pve2').bin, 'pvesh'), [
    'get',
    '/cluster/status',
    '--output-format',
    'json',
  ]);
  const peer = run(join(sim.paths('pve1').bin, 'pvesh'), ['get', '/version', '--output-format', 'json']);
  assert.equal(peer.code, 0, 'the other node is not affected');
  // Blocked, seen from the kernel: cat sleeps on the FIFO (not merely "has not finished yet").
  await waitFor(() => blockedOnFifo(cat.pid), { what: 'cat to block on .members', budget: 'short' });
  // pvesh polls the simulator's state (nothing for the kernel to show): it has had as long as the
  // whole peer call above and must still be waiting. Load can only make this pass late, not fail.
  assert.equal(cat.exited(), false, 'reading .members blocks');
  assert.equal(pvesh.exited(), false, 'pvesh blocks');
  sim.apply({ type: 'pmxcfs-release', node: 'pve2' });
  const c = await within(cat.done, { what: 'cat to finish after the release', budget: 'short' });
  assert.equal(c.stdout, expected);
  const p = await within(pvesh.done, { what: 'pvesh to finish after the release', budget: 'processStart' });
  assert.equal(p.code, 0);
  assert.ok(lstatSync(members).isFile());
  assert.equal(readFileSync(members, 'utf8'), expected);
});

test('pve-sim serve prints URL, token and fingerprint, and answers with the token', async (t) => {
  const out = join(tmp(), 'serve');
  assert.equal(
    run(process.execPath, [cliBin, 'layout', '--nodes', '2', '--guests', '3', '--out', out]).code,
    0,
  );
  const c = spawnTracked(t, process.execPath, [cliBin, 'serve', '--state', out, '--port', '0', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = await within(
    new Promise<string>((resolve) => {
      let buf = '';
      c.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
      });
    }),
    { what: 'pve-sim serve to print its JSON line', budget: 'processStart' },
  );
  const info = JSON.parse(line) as {
    nodes: { node: string; url: string; fingerprint: string }[];
    authorization: string;
  };
  assert.deepEqual(
    info.nodes.map((n) => n.node),
    ['pve1', 'pve2'],
  );
  assert.match(info.nodes[0]!.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const { request } = await import('node:https');
  const body = await within(
    new Promise<string>((resolve, reject) => {
      const req = request(
        `${info.nodes[1]!.url}/cluster/status`,
        { rejectUnauthorized: false, headers: { Authorization: info.authorization } },
        (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => resolve(b));
        },
      );
      req.on('error', reject);
      req.end();
    }),
    { what: 'the served node to answer', budget: 'short' },
  );
  const data = (JSON.parse(body) as { data: { name: string; local?: number }[] }).data;
  assert.equal(data.find((e) => e.local === 1)?.name, 'pve2');
  c.kill('SIGTERM');
});
