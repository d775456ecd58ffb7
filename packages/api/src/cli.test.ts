import { after, before, describe } from 'node:test';
import { test, within } from '@nanny/testing';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli.ts';
import { SPEC } from './testing.ts';

async function cli(args: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { code, out, err, last: out[out.length - 1] ?? '' };
}

describe('nannyapi CLI against a running server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nannyapi-cli-'));
  const env = {
    NANNYAPI_DATA_DIR: dir,
    NANNYAPI_PORT: '0',
    NANNYAPI_LOG_LEVEL: 'silent',
    HOME: dir,
    // the server notes its database here; the CLI compares (see runtime-file.ts)
    NANNYAPI_RUNTIME_DIR: join(dir, 'run'),
  };
  let stop: () => void = () => undefined;
  let served: Promise<{ code: number; out: string[] }>;
  let url = '';
  const serveOut: string[] = [];
  const cliServeOutput = async () => ({ out: serveOut });
  before(async () => {
    const listening = new Promise<string>((resolve) => {
      const out = serveOut;
      served = runCli(['serve'], {
        out: (l) => out.push(l),
        err: () => undefined,
        env,
        stopSignal: new Promise<void>((r) => (stop = r)),
        onListening: resolve,
      }).then((code) => ({ code, out }));
    });
    url = await within(listening, { what: 'nannyapi serve to listen', budget: 'processStart' });
  });
  after(async () => {
    stop();
    await within(served, { what: 'nannyapi serve to stop', budget: 'short' });
    rmSync(dir, { recursive: true, force: true });
  });

  test('serve on a fresh data dir printed the URL and the one-time admin setup secret', async () => {
    const { out } = await cliServeOutput();
    assert.ok(out.some((l) => l.startsWith(`nannyapi listening on ${url}`)));
    assert.ok(out.some((l) => /^ {2}username: admin$/.test(l)));
    assert.ok(out.some((l) => /^ {2}password: nanny_setup_\S{43}$/.test(l)));
  });

  test('--help lists the commands', async () => {
    const r = await cli(['--help'], env);
    assert.equal(r.code, 0);
    for (const c of [
      'serve',
      'org create',
      'enroll create',
      'token create',
      'user create',
      'agent list',
      'agent revoke',
    ])
      assert.ok(
        r.out.some((l) => l.includes(c)),
        c,
      );
  });

  test('enroll create prints the secret alone on the last line; the agent registers and posts; agent revoke stops it', async () => {
    const e = await cli(['enroll', 'create', '--uses', '2', '--ttl', '1h'], env);
    assert.equal(e.code, 0);
    assert.match(e.last, /^nanny_enr_[A-Za-z0-9_-]{43}$/);
    const reg = await fetch(`${url}/api/agent/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enrollment_token: e.last, hostname: 'pve-node-01' }),
    });
    assert.equal(reg.status, 200);
    const { access_token, agent_id } = (await reg.json()) as { access_token: string; agent_id: string };
    const post = () =>
      fetch(`${url}/api/proxmox/lxc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${access_token}` },
        body: JSON.stringify(SPEC.lxc),
      });
    assert.equal((await post()).status, 200);
    const list = await cli(['agent', 'list'], env);
    assert.ok(list.out.some((l) => l.startsWith(agent_id)));
    const rv = await cli(['agent', 'revoke', agent_id], env);
    assert.equal(rv.code, 0);
    const after = await post();
    assert.equal(after.status, 401);
  });

  test('token create and org create print secrets and ids last; the token reads the API', async () => {
    const o = await cli(['org', 'create', 'acme'], env);
    assert.equal(o.code, 0);
    const tk = await cli(['token', 'create', '--name', 'prometheus', '--scope', 'read'], env);
    assert.match(tk.last, /^nanny_pat_/);
    const r = await fetch(`${url}/api/guests`, { headers: { authorization: `Bearer ${tk.last}` } });
    assert.equal(r.status, 200);
    const other = await cli(['enroll', 'create', '--org', 'acme'], env);
    assert.match(other.last, /^nanny_enr_/);
    const missing = await cli(['enroll', 'create', '--org', 'nope'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.err.join('\n'), /no organisation/);
  });

  test('user create prints a password that logs in', async () => {
    const u = await cli(['user', 'create', 'alice'], env);
    assert.equal(u.code, 0);
    const r = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: u.last }),
    });
    assert.equal(r.status, 200);
  });

  test('bad settings are reported all at once', async () => {
    const r = await cli(['org', 'list'], { ...env, NANNYAPI_PORT: 'x', NANNYAPI_RETENTION_DAYS: '-1' });
    assert.equal(r.code, 2);
    assert.equal(r.err.length, 2);
  });
  test('unknown options are errors naming them with the closest known one (exit 2), nothing is created', async () => {
    for (const [args, typo, hint] of [
      [['token', 'create', '--name', 'y', '--scop', 'write'], '--scop', '--scope'],
      [['enroll', 'create', '--usse', '3'], '--usse', '--uses'],
      [['serve', '--prot', '18102'], '--prot', '--port'],
    ] as const) {
      const r = await cli([...args], env);
      assert.equal(r.code, 2, args.join(' '));
      assert.ok(
        r.err.some((l) => l.includes(`${typo}: unknown option (did you mean ${hint}?)`)),
        r.err.join('\n'),
      );
      assert.equal(r.out.length, 0);
    }
    // options are per subcommand: --admin belongs to user create
    const r = await cli(['token', 'create', '--name', 'y', '--admin'], env);
    assert.equal(r.code, 2);
    assert.match(r.err.join('\n'), /--admin: unknown option/);
  });

  test('bad values name the flag, or the variable when it came from the environment', async () => {
    const flag = await cli(['org', 'list', '--port', '99999'], env);
    assert.equal(flag.code, 2);
    assert.deepEqual(flag.err, ['config error: --port: must be an integer from 0 to 65535 (got 99999)']);
    const fromEnv = await cli(['org', 'list'], { ...env, NANNYAPI_PORT: '99999' });
    assert.deepEqual(fromEnv.err, [
      'config error: NANNYAPI_PORT: must be an integer from 0 to 65535 (got 99999)',
    ]);
    const scope = await cli(['token', 'create', '--name', 'y', '--scope', 'admin'], env);
    assert.equal(scope.code, 2);
    assert.match(scope.err[0]!, /--scope: must be one of read, write \(got admin\)/);
    const uses = await cli(['enroll', 'create', '--uses', '0'], env);
    assert.equal(uses.code, 2);
    assert.match(uses.err[0]!, /--uses: must be a positive integer \(got 0\)/);
  });

  test('an unknown NANNYAPI_* variable is a warning with a hint; the command still runs', async () => {
    const r = await cli(['org', 'list'], { ...env, NANNYAPI_RETENTION_DAY: '3' });
    assert.equal(r.code, 0);
    assert.ok(
      r.err.includes(
        'nannyapi: warning: environment variable NANNYAPI_RETENTION_DAY is not a setting, ignored (did you mean NANNYAPI_RETENTION_DAYS?)',
      ),
      r.err.join('\n'),
    );
  });

  test("the CLI names its database; it warns when it creates one and when it is not the server's", async () => {
    const same = await cli(['org', 'list'], env);
    assert.ok(
      same.err.includes(`nannyapi: database SQLite ${join(dir, 'nannyapi.db')}`),
      same.err.join('\n'),
    );
    assert.ok(!same.err.some((l) => l.includes('warning')), same.err.join('\n'));
    const other = join(dir, 'other');
    // a flag wins over the environment (NANNYAPI_DATA_DIR is the server's dir here)
    const r = await cli(['org', 'list', '--data-dir', other], env);
    assert.equal(r.code, 0);
    assert.ok(r.err.includes(`nannyapi: database SQLite ${join(other, 'nannyapi.db')}`), r.err.join('\n'));
    assert.ok(r.err.some((l) => l.includes('created a NEW database')));
    assert.ok(
      r.err.some((l) =>
        l.includes(`the running server (pid ${process.pid}, ${url}) uses SQLite ${join(dir, 'nannyapi.db')}`),
      ),
      r.err.join('\n'),
    );
    const again = await cli(['org', 'list', '--data-dir', other], env);
    assert.ok(!again.err.some((l) => l.includes('NEW')));
  });

  test('settings flags do not take a command option of the same name (channel add --host is the SMTP host)', async () => {
    const add = await cli(
      [
        'channel',
        'add',
        '--type',
        'email',
        '--name',
        'mail',
        '--host',
        'smtp.example',
        '--port',
        '2525',
      ].concat(['--from', 'a@example.com', '--to', 'b@example.com']),
      env,
    );
    assert.equal(add.code, 0, add.err.join('\n'));
    const list = await cli(['channel', 'list', '--json'], env);
    const mail = (JSON.parse(list.out.join('\n')) as Record<string, unknown>[]).find(
      (c) => c.name === 'mail',
    );
    assert.equal(mail?.host, 'smtp.example');
    assert.equal(mail?.port, 2525);
  });

  test('help is generated per command from its options and the settings schema', async () => {
    const top = await cli(['--help'], env);
    assert.ok(top.out.some((l) => l.includes('NANNYAPI_DATA_DIR')));
    assert.ok(top.out.some((l) => l.includes('--allowed-channel-networks')));
    const tc = await cli(['token', 'create', '--help'], env);
    assert.equal(tc.code, 0);
    assert.equal(
      tc.out[0],
      'Usage: nannyapi token create --name NAME [--scope read|write] [--ttl 90d] [--org NAME]',
    );
    assert.ok(tc.out.some((l) => l.startsWith('  --scope SCOPE')));
  });
});

test('the server removes its runtime note when it stops', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nannyapi-cli-'));
  const run = join(dir, 'run');
  let stop: () => void = () => undefined;
  let listening: (url: string) => void = () => undefined;
  const started = new Promise<string>((r) => (listening = r));
  const served = runCli(
    ['serve', '--port', '0', '--data-dir', dir, '--runtime-dir', run, '--log-level', 'silent'],
    {
      out: () => undefined,
      err: () => undefined,
      env: { HOME: dir },
      stopSignal: new Promise<void>((r) => (stop = r)),
      onListening: listening,
    },
  );
  await started;
  assert.ok(existsSync(join(run, `serve-${process.pid}.json`)));
  stop();
  assert.equal(await served, 0);
  assert.ok(!existsSync(join(run, `serve-${process.pid}.json`)));
  rmSync(dir, { recursive: true, force: true });
});
