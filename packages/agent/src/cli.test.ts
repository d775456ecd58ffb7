import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './cli.ts';
import { AGENT_SETTINGS } from './config.ts';

async function run(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    // a config file that does not exist: the host's /etc/nannyagent must not leak into tests
    env: { NANNYAGENT_CONFIG: '/nonexistent/nannyagent.env', ...env },
  });
  return { code, stdout, stderr };
}

test('an unknown flag is an error that names it (exit 2), not the help', async () => {
  const r = await run(['--bogus']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--bogus: unknown option/);
  assert.equal(r.stdout, '');
});

test('a mistyped flag gets the closest known flag as a hint', async () => {
  const r = await run(['collect', '--once', '--intervall', '5']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--intervall: unknown option \(did you mean --interval\?\)/);
});

test('a command refuses the options of another command', async () => {
  const r = await run(['run', '--once']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--once: unknown option/);
});

test('a bad value names the flag, or the variable when it came from the environment', async () => {
  const flag = await run(['status', '--interval', '0']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /--interval: must be a number from 0\.05 to 86400 \(got 0\)/);
  const env = await run(['status'], { PROXMOX_INTERVAL: 'often' });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /PROXMOX_INTERVAL: must be a number from 0\.05 to 86400 \(got often\)/);
});

test('a bad value from the config file names the file and the line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nannyagent-cli-'));
  try {
    const file = join(dir, 'config.env');
    writeFileSync(file, '# settings\nNANNYAGENT_SOURCE=magic\n');
    const r = await run(['status'], { NANNYAGENT_CONFIG: file });
    assert.equal(r.code, 2);
    assert.ok(
      r.stderr.includes(
        `${file} line 2 (NANNYAGENT_SOURCE): must be one of auto, pvesh, files, api (got magic)`,
      ),
      r.stderr,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown NANNYAGENT_* variable is a warning with a hint, not an error', async () => {
  // a bad interval stops the command before it does anything; the warning comes first
  const r = await run(['status'], { NANNYAGENT_SOURSE: 'files', PROXMOX_INTERVAL: 'x' });
  assert.match(
    r.stderr,
    /warning: environment variable NANNYAGENT_SOURSE is not a setting, ignored \(did you mean NANNYAGENT_SOURCE\?\)/,
  );
  assert.equal(r.stderr.match(/invalid configuration/g)?.length, 1);
  assert.ok(!/NANNYAGENT_SOURSE[^\n]*must/.test(r.stderr));
});

test('--help lists every setting with its flag and variable; COMMAND --help shows its own options', async () => {
  const top = await run(['--help']);
  assert.equal(top.code, 0);
  for (const s of AGENT_SETTINGS) {
    if (s.flag !== undefined) assert.ok(top.stdout.includes(`--${s.flag}`), s.flag);
    if (s.env !== undefined) assert.ok(top.stdout.includes(s.env), s.env);
  }
  const collect = await run(['collect', '--help']);
  assert.equal(collect.code, 0);
  assert.match(collect.stdout, /^Usage: nannyagent collect --once/);
  assert.match(collect.stdout, /--dry-run/);
  const none = await run([]);
  assert.equal(none.code, 2);
  assert.match(none.stdout, /Usage:/);
});
