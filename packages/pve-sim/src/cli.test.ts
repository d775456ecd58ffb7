// The pve-sim and pve-tools command lines in-process (main(argv, io)), like the agent's and the API's.
import { test } from '@nanny/testing';
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './cli.ts';
import { toolsMain } from './tools-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'pve-sim-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function sim(argv: string[], extra: Partial<Parameters<typeof main>[1]> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), ...extra });
  return { code, stdout, stderr };
}

test('an unknown option is an error naming it with a hint (exit 2)', async () => {
  const r = await sim(['layout', '--out', join(dir, 'x'), '--node', '3']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /pve-sim layout: --node: unknown option \(did you mean --nodes\?\)/);
  const missing = await sim(['info', '--state']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--state: needs a value/);
});

test('layout, info, event and serve run in-process; serve stops on the stop signal', async () => {
  const out = join(dir, 'fleet');
  const l = await sim(['layout', '--out', out, '--nodes', '2', '--guests', '2', '--clock', 'frozen']);
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, /^laid out 2 node\(s\), 2 guest\(s\)/);
  const info = await sim(['info', '--state', out]);
  assert.match(info.stdout, /pve1 nodeid 1/);
  const bad = await sim(['event', '--state', out, 'guest-start', '--vmid', 'x']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--vmid must be an integer, got 'x'/);
  const ev = await sim(['event', '--state', out, 'node-offline', '--node', 'pve2']);
  assert.equal(ev.stdout, 'applied node-offline\n');
  let stop: () => void = () => undefined;
  let served: (n: number) => void = () => undefined;
  const serving = new Promise<number>((r) => (served = r));
  const run = sim(['serve', '--state', out, '--json', '--no-tick'], {
    stopSignal: new Promise<void>((r) => (stop = r)),
    onServing: (i) => served(i.nodes.length),
  });
  assert.equal(await serving, 2);
  stop();
  const r = await run;
  assert.equal(r.code, 0);
  assert.match(JSON.parse(r.stdout).nodes[0].url, /^https:\/\/127\.0\.0\.1:\d+\/api2\/json$/);
});

test('--help per command is generated from its options', async () => {
  const r = await sim(['event', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^pve-sim event --state DIR <event>/);
  assert.match(r.stdout, /\n {2}--set KEY=VALUE +config-change \(repeatable\)/);
  const top = await sim([]);
  assert.equal(top.code, 2);
});

test('pve-tools runs a tool in-process and refuses a call without --state/--node', async () => {
  const out = join(dir, 'tools');
  assert.equal((await sim(['layout', '--out', out, '--nodes', '1', '--guests', '0'])).code, 0);
  let stdout = '';
  let stderr = '';
  const io = { stdout: (s: string) => (stdout += s), stderr: (s: string) => (stderr += s) };
  const code = await toolsMain(
    ['pveversion', '--state', join(out, '.sim', 'state.json'), '--node', 'pve1'],
    io,
  );
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^pve-manager\/9\.1\.1\//);
  assert.equal(await toolsMain(['pveversion', '--node', 'pve1'], io), 2);
  assert.match(stderr, /usage: pve-tools\.mjs/);
});
