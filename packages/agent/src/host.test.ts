import { budgets, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPmxcfsSession, runCommand } from './host.ts';

test('a command that outlives its deadline is abandoned and reported as timed out', async () => {
  // The command would run forever: only its deadline can end it, within this test's own limit.
  const r = await runCommand(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { timeoutMs: 300 });
  assert.equal(r.timedOut, true);
});

test('stdout, stderr and the exit code of a command are captured', async () => {
  const r = await runCommand(
    process.execPath,
    ['-e', 'console.log("out"); console.error("err"); process.exit(3)'],
    { timeoutMs: budgets.processStart },
  );
  assert.equal(r.code, 3);
  assert.equal(r.stdout.trim(), 'out');
  assert.equal(r.stderr.trim(), 'err');
});

test('a missing command rejects', async () => {
  await assert.rejects(
    runCommand('nannyagent-no-such-command', [], { timeoutMs: budgets.short }),
    /cannot run/,
  );
});

test('the pmxcfs helper reads files in one process and reports missing ones', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pmx-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a'), 'A'.repeat(3 << 20));
  writeFileSync(join(dir, 'b'), 'bee');
  let spawns = 0;
  // a healthy read: the budget only bounds a crowded machine (3 MiB took over 20 s at load 25), it is not what is tested
  const s = openPmxcfsSession({ timeoutMs: budgets.long, onSpawn: () => spawns++ });
  t.after(() => s.close());
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
  t.after(() => s.close());
  // nothing ever writes the fifo: only the session's deadline can end this read
  await assert.rejects(s.read([fifo])[0]!, /longer than 300 ms/);
  assert.equal(s.timedOut, true);
  await assert.rejects(s.read([join(dir, 'x')])[0]!, /longer than/);
  s.close();
});
