import { after, before, describe } from 'node:test';
import { test, within } from '@nanny/testing';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli.ts';
import { SPEC } from './test-helpers.ts';

async function cli(args: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { code, out, err, last: out[out.length - 1] ?? '' };
}

describe('nannyapi CLI against a running server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nannyapi-cli-'));
  const env = { NANNYAPI_DATA_DIR: dir, NANNYAPI_PORT: '0', NANNYAPI_LOG_LEVEL: 'silent', HOME: dir };
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
});
