/**
 * `npm run demo` as a newcomer runs it: it starts, shows data within one short interval, plays the
 * events the README lists with the alerts it names, and stops cleanly.
 */
import { spawnTracked, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { requireBundles, repoRoot, tempDir, waitFor } from './harness.ts';

test('the demo shows the fleet within one interval, raises the alerts the README names and Ctrl-C leaves nothing running', async (t) => {
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

  // The README's promise: every scripted event raises the alert it names, version_mismatch included
  // (the demo shortens its 6 h grace for its own cluster).
  type Alert = { rule: string; state: string; node: string | null; cluster_name: string | null };
  const alerts = async () => (await get('/api/alerts?limit=1000')) as Alert[];
  const has = (list: Alert[], rule: string, want: Partial<Alert>) =>
    list.some((a) => a.rule === rule && Object.entries(want).every(([k, v]) => a[k as keyof Alert] === v));
  const seen = await waitFor(
    'the alerts the README promises',
    async () => {
      const list = await alerts();
      return has(list, 'version_upgraded', { node: 'pve2' }) &&
        has(list, 'version_mismatch', { cluster_name: 'production', state: 'firing' }) &&
        has(list, 'node_rebooted', { node: 'pve3' }) &&
        has(list, 'quorum_lost', { cluster_name: 'production', state: 'resolved' })
        ? list
        : undefined;
    },
    'long',
  );
  assert.ok(seen.length >= 4);
  assert.match(out, /all scripted events played/);

  child.kill('SIGINT');
  assert.equal(await exited, 0, out.slice(-2000));
  assert.match(out, /nothing left running/);
  const left = spawnSync('pgrep', ['-f', dir], { encoding: 'utf8' }).stdout.trim();
  assert.equal(left, '', `processes left running: ${left}`);
});
