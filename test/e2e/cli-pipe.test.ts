/** The command-line tools treat a reader that stops reading (`| head -n1`) as normal, not as a crash. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { agentBundle, apiBundle, bundlesMissing } from './harness.ts';

for (const [name, bundle] of [
  ['nannyapi', apiBundle],
  ['nannyagent', agentBundle],
] as const) {
  test(`${name} --help into a closed pipe exits 0 without a stack trace`, async (t) => {
    const why = bundlesMissing();
    if (why) return t.skip(why);
    const child = spawn(process.execPath, [bundle, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first line is written
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 0, err);
    assert.doesNotMatch(err, /EPIPE|Unhandled/);
  });
}
