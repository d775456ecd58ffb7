/** The command-line tools treat a reader that stops reading (`| head -n1`) as normal, not as a crash. */
import { spawnTracked, test, within } from '@nanny/testing';
import assert from 'node:assert/strict';
import { agentBundle, apiBundle, requireBundles } from './harness.ts';

for (const [name, bundle] of [
  ['nannyapi', apiBundle],
  ['nannyagent', agentBundle],
] as const) {
  test(`${name} --help into a closed pipe exits 0 without a stack trace`, async (t) => {
    if (!requireBundles(t)) return;
    const child = spawnTracked(t, process.execPath, [bundle, '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.destroy(); // the reader is gone before the first line is written
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await within(new Promise<number | null>((r) => child.on('exit', (c) => r(c))), {
      what: `${name} --help to exit`,
      budget: 'processStart',
    });
    assert.equal(code, 0, err);
    assert.doesNotMatch(err, /EPIPE|Unhandled/);
  });
}
