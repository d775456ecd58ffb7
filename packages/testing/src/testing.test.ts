import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test as nodeTest } from 'node:test';
import { scaledBudgets, baseBudgetsMs, budgets } from './budgets.ts';
import { parseTestingConfig } from './config.ts';
import { onCleanup, spawnTracked, stopChild, tempDir, track } from './cleanup.ts';
import { requires } from './require.ts';
import { test } from './test.ts';
import { waitFor, within } from './wait.ts';

const here = new URL('.', import.meta.url).pathname;

test('waitFor returns the first value that is not undefined, null or false, sync or async', async () => {
  let n = 0;
  assert.equal(
    await waitFor(() => (++n >= 3 ? `after ${n}` : false), { what: 'three polls', everyMs: 1 }),
    'after 3',
  );
  let m = 0;
  const v = await waitFor(async () => (++m >= 2 ? 0 : undefined), { what: 'a zero', everyMs: 1 });
  assert.equal(v, 0, 'zero is a value, not "not yet"');
});

test('a failed waitFor names what it waited for, the budget and the last probe error', async () => {
  await assert.rejects(
    waitFor(
      () => {
        throw new Error('connection refused');
      },
      { what: 'the server to answer', budget: 30, everyMs: 5 },
    ),
    (e: Error) => {
      assert.match(e.message, /timed out after \d+ ms waiting for the server to answer/);
      assert.match(e.message, /last error: Error: connection refused/);
      return true;
    },
  );
});

test('within gives up after its budget and otherwise passes the value through', async () => {
  assert.equal(await within(Promise.resolve(7), { what: 'seven', budget: 'short' }), 7);
  await assert.rejects(within(new Promise(() => {}), { what: 'idle()', budget: 20 }), /waiting for idle\(\)/);
});

test('budgets are the base budgets times NANNY_TIME_SCALE', () => {
  const three = scaledBudgets(3);
  assert.equal(three.medium, baseBudgetsMs.medium * 3);
  assert.equal(three.file, baseBudgetsMs.file * 3);
  assert.ok(
    budgets.file <= 180_000 * parseTestingConfig(process.env).timeScale,
    'file limit: 3 min at scale 1',
  );
});

test('the configuration reads NANNY_TIME_SCALE and NANNY_REQUIRE and rejects a bad scale', () => {
  assert.deepEqual(parseTestingConfig({}), { timeScale: 1, required: new Set() });
  const c = parseTestingConfig({ NANNY_TIME_SCALE: '2.5', NANNY_REQUIRE: 'postgres, reference,,chromium' });
  assert.equal(c.timeScale, 2.5);
  assert.deepEqual([...c.required], ['postgres', 'reference', 'chromium']);
  assert.throws(() => parseTestingConfig({ NANNY_TIME_SCALE: 'slow' }), /NANNY_TIME_SCALE/);
  assert.throws(() => parseTestingConfig({ NANNY_TIME_SCALE: '0' }), /NANNY_TIME_SCALE/);
});

test('requires: present passes, missing skips and says how to require it, missing and required fails', () => {
  const skipped: string[] = [];
  const t = { skip: (m?: string) => skipped.push(m ?? '') };
  assert.equal(requires(t, 'postgres', true, 'no PostgreSQL', new Set(['postgres'])), true);
  assert.equal(requires(t, 'postgres', false, 'no PostgreSQL', new Set()), false);
  assert.match(skipped[0]!, /no PostgreSQL.*NANNY_REQUIRE=postgres/);
  assert.throws(
    () => requires(t, 'postgres', false, 'no PostgreSQL', new Set(['postgres', 'bundles'])),
    /required part "postgres" is missing.*no PostgreSQL/,
  );
  assert.equal(skipped.length, 1);
});

test('the test wrapper puts a default timeout on a test that hangs', async () => {
  // A child node:test process, so the hung test's timeout is observed from outside.
  const file = `${here}fixtures-hang.ts`;
  assert.ok(existsSync(file));
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-force-exit', '--test-reporter=tap', file],
    {
      encoding: 'utf8',
      // a standalone run (not a child of this runner, which would make it report in v8 format); test budget 240 ms
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, NANNY_TIME_SCALE: '0.002' },
      timeout: budgets.medium,
    },
  );
  assert.notEqual(r.status, 0);
  assert.match(
    r.stdout,
    /test timed out: "never ends" \(.*fixtures-hang\.ts:4\) ran longer than its 240 ms limit/,
  );
});

test('tempDir and track register their cleanup when they are called', async () => {
  let dir = '';
  let stopped = '';
  await nodeTest('inner', (t) => {
    dir = tempDir(t, 'testing');
    track(t, 'server', (s) => (stopped = s));
    assert.ok(existsSync(dir));
  });
  assert.equal(existsSync(dir), false, 'removed when the inner test ended');
  assert.equal(stopped, 'server');
});

test('spawnTracked stops the process (and its children) when the test ends', async () => {
  let pid = 0;
  await nodeTest('inner', (t) => {
    const c = spawnTracked(t, 'sh', ['-c', 'sleep 300 & wait']);
    pid = c.pid!;
  });
  assert.ok(pid > 0);
  // the shell has exited; its background sleep got the same SIGTERM and is gone a moment later
  await waitFor(
    () => {
      try {
        process.kill(-pid, 0);
        return false;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'ESRCH';
      }
    },
    { what: 'the whole process group to be gone', budget: 'short' },
  );
});

test('stopChild escalates to SIGKILL when a process ignores SIGTERM', async (t) => {
  const c = spawnTracked(
    t,
    process.execPath,
    ['-e', 'process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  let out = '';
  c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('ready'), {
    what: 'the child to install its handler',
    budget: 'processStart',
  });
  await stopChild(c, 50);
  assert.equal(c.signalCode, 'SIGKILL');
});

test('cleanup runs last-in first-out and every step runs even when one throws', async () => {
  const hooks: Array<() => unknown> = [];
  const t = { after: (fn: () => unknown) => hooks.push(fn) };
  const order: string[] = [];
  onCleanup(t, () => order.push('folder'));
  onCleanup(t, () => {
    order.push('server');
    throw new Error('close failed');
  });
  onCleanup(t, () => order.push('process'));
  assert.equal(hooks.length, 1, 'one t.after for all steps');
  await assert.rejects(async () => hooks[0]!(), /close failed/);
  assert.deepEqual(order, ['process', 'server', 'folder']);
});
