import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { budgets, onCleanup, spawnTracked, tempDir, test, waitFor } from '@nanny/testing';

const root = new URL('../..', import.meta.url).pathname;

/** A pid this test may signal: 0 or a negative number would reach a whole process group, ours included. */
function childPid(text: string): number | undefined {
  const pid = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  return pid > 1 ? pid : undefined;
}

function alive(pid: number): boolean {
  assert.ok(pid > 1, `refusing to signal pid ${pid}`);
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('stopping the runner stops the running test files and the processes they spawned', async (t) => {
  const dir = tempDir(t, 'runner');
  const pidFile = join(dir, 'sleeper.pid');
  // the runner is started as a user would; NODE_TEST_CONTEXT (set for this file by node:test) would
  // make it report to this process instead of running its files
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const runner = spawnTracked(
    t,
    process.execPath,
    ['--import', 'tsx', 'scripts/run-tests.mjs', 'test/runner/fixtures/hangs-with-child.ts'],
    {
      cwd: root,
      env: { ...env, NANNY_FIXTURE_PID_FILE: pidFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  runner.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  runner.stdout!.resume();

  const sleeper = await waitFor(
    () => (existsSync(pidFile) ? childPid(readFileSync(pidFile, 'utf8')) : undefined),
    {
      what: 'the fixture to start its sleeper',
      budget: budgets.long,
    },
  );
  // without the runner's own handler this process would outlive everything: kill it whatever happens
  onCleanup(t, () => {
    if (alive(sleeper)) process.kill(sleeper, 'SIGKILL');
  });
  assert.ok(alive(sleeper));

  const exited = new Promise<number | null>((resolve) => runner.once('exit', (code) => resolve(code)));
  process.kill(runner.pid!, 'SIGTERM'); // the runner alone, as CI's timeout or `kill` would
  assert.equal(await exited, 143);
  assert.match(stderr, /SIGTERM: stopping 1 running test file/);
  await waitFor(() => !alive(sleeper), {
    what: `the sleeper (pid ${sleeper}) to be gone`,
    budget: budgets.short,
  });
});
