import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPmxcfsReader, openPmxcfsSession, runCommand } from './host.ts';

test('a command that outlives its deadline is abandoned and reported as timed out', async () => {
  const t0 = Date.now();
  const r = await runCommand(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 300 });
  assert.equal(r.timedOut, true);
  assert.ok(Date.now() - t0 < 3000);
});

test('stdout, stderr and the exit code of a command are captured', async () => {
  const r = await runCommand(
    process.execPath,
    ['-e', 'console.log("out"); console.error("err"); process.exit(3)'],
    { timeoutMs: 5000 },
  );
  assert.equal(r.code, 3);
  assert.equal(r.stdout.trim(), 'out');
  assert.equal(r.stderr.trim(), 'err');
});

test('a missing command rejects', async () => {
  await assert.rejects(runCommand('nannyagent-no-such-command', [], { timeoutMs: 1000 }), /cannot run/);
});

test('the pmxcfs helper reads files in one process and reports missing ones', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pmx-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a'), 'A'.repeat(3 << 20));
  writeFileSync(join(dir, 'b'), 'bee');
  let spawns = 0;
  const s = openPmxcfsSession({ timeoutMs: 5000, onSpawn: () => spawns++ });
  const [a, missing] = s.read([join(dir, 'a'), join(dir, 'nope')]);
  assert.equal((await a!).length, 3 << 20);
  await assert.rejects(missing!, /ENOENT/);
  assert.equal(await s.read([join(dir, 'b')])[0], 'bee');
  s.close();
  assert.equal(spawns, 1);
});

test('a read that blocks (a hung pmxcfs) times out and later reads fail at once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pmx-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'hang');
  execFileSync('mkfifo', [fifo]);
  const s = openPmxcfsSession({ timeoutMs: 300 });
  const t0 = Date.now();
  await assert.rejects(s.read([fifo])[0]!, /longer than 300 ms/);
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(s.timedOut, true);
  await assert.rejects(s.read([join(dir, 'x')])[0]!, /longer than/);
  s.close();
});

test('the long-lived pmxcfs reader serves many sessions with one process, and is replaced after a hang', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-reader-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '.members'), '{"nodename":"a","version":1}');
  execFileSync('mkfifo', [join(dir, 'hung')]); // open() blocks: a hung FUSE read
  const spawns: string[] = [];
  const reader = createPmxcfsReader({ onSpawn: (c, a) => spawns.push(`${c} ${a.join(' ')}`) });
  t.after(() => reader.close());
  for (let i = 0; i < 5; i++) {
    const s = reader.session(5000);
    assert.match(await s.read([join(dir, '.members')])[0]!, /"nodename":"a"/);
    s.close();
  }
  assert.equal(spawns.length, 1, 'one helper for five sessions');

  const stuck = reader.session(300);
  await assert.rejects(stuck.read([join(dir, 'hung')])[0]!, /longer than 300 ms/);
  assert.equal(stuck.timedOut, true);
  await assert.rejects(
    stuck.read([join(dir, '.members')])[0]!,
    /longer than 300 ms/,
    'the session stays failed',
  );
  stuck.close();

  const next = reader.session(5000);
  assert.match(await next.read([join(dir, '.members')])[0]!, /"nodename":"a"/, 'the next session works');
  next.close();
  assert.equal(spawns.length, 2, 'the stuck helper was replaced once');
  assert.equal(reader.started, 2);
});
