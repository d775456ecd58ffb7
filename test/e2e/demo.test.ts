/** `npm run demo` as a newcomer runs it: it starts, shows data within one short interval, and stops cleanly. */
import { spawnTracked, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { requireBundles, repoRoot, tempDir, waitFor } from './harness.ts';

test('the demo shows the simulated fleet within one interval and Ctrl-C leaves nothing running', async (t) => {
  if (!requireBundles(t)) return;
  const dir = join(tempDir(t, 'demo'), 'demo');
  const child = spawnTracked(t, process.execPath, [join(repoRoot, 'scripts/demo.mjs')], {
    env: { ...process.env, DEMO_PORT: '0', DEMO_INTERVAL: '1', DEMO_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));

  const url = await waitFor(
    'the demo banner',
    () => (/read token\s*:/.test(out) ? /(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1] : undefined),
    'long',
  );
  const token = /read token\s*:\s*(\S+)/.exec(out)![1]!;
  assert.match(out, /login\s*:\s*admin \/ \S+/);
  const get = async (path: string) =>
    (
      (await (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        data: unknown[];
      }
    ).data;
  await waitFor(
    'four nodes and guests',
    async () => (await get('/api/nodes')).length === 4 && (await get('/api/guests')).length > 0,
    'medium',
  );

  child.kill('SIGINT');
  assert.equal(await exited, 0, out.slice(-2000));
  assert.match(out, /nothing left running/);
  const left = spawnSync('pgrep', ['-f', dir], { encoding: 'utf8' }).stdout.trim();
  assert.equal(left, '', `processes left running: ${left}`);
});
