import { budgets, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPmxcfsReader, openPmxcfsSession, runCommand } from './host.ts';

/** CPU ticks (1/100 s) used so far by this process's children: the reader's helper in these tests */
function helperCpuTicks(): number {
  let ticks = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === process.pid) ticks += Number(rest[11]) + Number(rest[12]);
    } catch {
      // ended meanwhile
    }
  }
  return ticks;
}

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

for (const helper of ['perl', 'node'] as const) {
  test(`the pmxcfs helper (${helper}) reads files in one process and reports missing ones`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pmx-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'a'), 'A'.repeat(3 << 20));
    writeFileSync(join(dir, 'b'), 'bee');
    let spawns = 0;
    // a healthy read: the budget only bounds a crowded machine (3 MiB took over 20 s at load 25), it is not what is tested
    const s = openPmxcfsSession({ timeoutMs: budgets.long, helper, onSpawn: () => spawns++ });
    t.after(() => s.close());
    const [a, missing] = s.read([join(dir, 'a'), join(dir, 'nope')]);
    assert.equal((await a!).length, 3 << 20);
    await assert.rejects(missing!, /ENOENT/);
    assert.equal(await s.read([join(dir, 'b')])[0], 'bee');
    // an empty file, UTF-8 text, a name with spaces, several answers to one request in order
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'with space'), 'Zürich ✓\nline 2\n');
    const [e, u, again] = s.read([join(dir, 'empty'), join(dir, 'with space'), join(dir, 'b')]);
    assert.equal(await e!, '');
    assert.equal(await u!, 'Zürich ✓\nline 2\n');
    assert.equal(await again!, 'bee');
    await assert.rejects(s.read([join(dir, 'x\ny')])[0]!, /not a path/);
    await assert.rejects(s.read([dir])[0]!, /EISDIR/, 'a directory is an error, named');
    s.close();
    assert.equal(spawns, 1);
  });

  test(`a read that blocks (a hung pmxcfs) times out and later reads fail at once (${helper})`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pmx-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const fifo = join(dir, 'hang');
    execFileSync('mkfifo', [fifo]);
    const s = openPmxcfsSession({ timeoutMs: 300, helper });
    t.after(() => s.close());
    // nothing ever writes the fifo: only the session's deadline can end this read
    await assert.rejects(s.read([fifo])[0]!, /longer than 300 ms/);
    assert.equal(s.timedOut, true);
    await assert.rejects(s.read([join(dir, 'x')])[0]!, /longer than/);
    s.close();
  });

  test(`the long-lived pmxcfs reader (${helper}) serves many sessions with one process, and is replaced after a hang`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-reader-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, '.members'), '{"nodename":"a","version":1}');
    execFileSync('mkfifo', [join(dir, 'hung')]); // open() blocks: a hung FUSE read
    const spawns: string[] = [];
    const reader = createPmxcfsReader({ helper, onSpawn: (c, a) => spawns.push(`${c} ${a.join(' ')}`) });
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

  test(`the reader waits for a change in the helper (${helper}): the daemon is not woken while .members stays the same`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-changed-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const members = join(dir, '.members');
    writeFileSync(members, '{"version":1}');
    writeFileSync(join(dir, 'other'), 'x');
    const reader = createPmxcfsReader({ helper });
    t.after(() => reader.close());
    const s = reader.session(budgets.long);
    t.after(() => s.close());
    assert.equal(await s.changed(members, 20, 60_000), '{"version":1}', 'never answered before: at once');
    let settled = false;
    const next = s.changed(members, 20, 60_000).finally(() => (settled = true));
    // reads are served while the helper waits for the change
    assert.equal(await s.read([join(dir, 'other')])[0], 'x');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, false, 'unchanged content: no answer');
    // the helper sleeps between its looks (a wait is no busy loop): a second of waiting costs it
    // next to no CPU
    const before = helperCpuTicks();
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(
      helperCpuTicks() - before <= 10,
      `the waiting helper used ${helperCpuTicks() - before} ticks in 1 s`,
    );
    writeFileSync(members, '{"version":2}');
    assert.equal(await next, '{"version":2}');
    // unchanged until the wait's end: the content as it is, proof the helper still answers
    const started = Date.now();
    assert.equal(await s.changed(members, 20, 400), '{"version":2}');
    assert.ok(Date.now() - started >= 350, `answered after ${Date.now() - started} ms, not at once`);
    assert.equal(reader.started, 1);
  });

  test(`a change wait on a hung pmxcfs ends at the session's deadline and the helper is replaced (${helper})`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-changed-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const members = join(dir, '.members');
    writeFileSync(members, '{"version":1}');
    const reader = createPmxcfsReader({ helper });
    t.after(() => reader.close());
    const first = reader.session(budgets.long);
    await first.changed(members, 20, 60_000);
    first.close();
    // pmxcfs hangs: the next look at .members blocks in open()
    rmSync(members);
    execFileSync('mkfifo', [members]);
    const s = reader.session(500);
    await assert.rejects(s.changed(members, 20, 60_000), /longer than 500 ms/);
    s.close();
    rmSync(members);
    writeFileSync(members, '{"version":3}');
    const after = reader.session(budgets.long);
    assert.equal(await after.read([members])[0], '{"version":3}');
    after.close();
    assert.equal(reader.started, 2, 'the stuck helper was replaced once');
  });
}

test("the daemon's reader is Perl where /usr/bin/perl exists (every PVE host): ~5 MB instead of a second Node.js", async (t) => {
  const commands: string[] = [];
  const reader = createPmxcfsReader({ onSpawn: (c) => commands.push(c) });
  t.after(() => reader.close());
  const s = reader.session(budgets.long);
  await s.read(['/proc/self/status'])[0];
  s.close();
  assert.deepEqual(commands, [existsSync('/usr/bin/perl') ? '/usr/bin/perl' : process.execPath]);
});
