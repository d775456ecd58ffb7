/** Agent host hardening (issue 13): the state directory, symbolic links, spooled endpoints, log text. */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './cli.ts';
import { AgentError } from './errors.ts';
import type { HttpClient, HttpRequest } from './http.ts';
import { memoryLogger } from './log.ts';
import { createSender } from './sender.ts';
import { createSpool } from './spool.ts';
import { createStateStore, type Credentials } from './state.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-hardening-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const isStateError = (e: unknown) => e instanceof AgentError && e.code === 'AGENT_STATE';

const CREDS: Credentials = {
  api_url: 'http://127.0.0.1:9',
  agent_id: 'agent-1',
  access_token: 'access-1',
  refresh_token: 'refresh-1',
  expires_at: new Date(Date.now() + 3600_000).toISOString(),
  registered_at: new Date().toISOString(),
};

test('a symbolic link in the state directory is refused, never followed, on read and on write', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'state');
  mkdirSync(dir, { mode: 0o700 });
  const victim = join(root, 'victim');
  writeFileSync(victim, 'precious\n');
  const victimTmp = join(root, 'victim-tmp');
  writeFileSync(victimTmp, 'precious too\n');
  const state = createStateStore(dir);

  symlinkSync(victim, join(dir, 'credentials.json'));
  await assert.rejects(state.readCredentials(), (e) => isStateError(e) && /symbolic link/.test(String(e)));
  // a link planted at the temporary name: root would have written the credentials through it
  symlinkSync(victimTmp, join(dir, 'credentials.json.tmp'));
  await state.writeCredentials(CREDS);
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  assert.equal(readFileSync(victimTmp, 'utf8'), 'precious too\n');
  const written = lstatSync(join(dir, 'credentials.json'));
  assert.ok(written.isFile(), 'the link was replaced by a regular file');
  assert.equal(written.mode & 0o777, 0o600);
  assert.equal((await state.readCredentials())?.agent_id, 'agent-1');
});

test('a state directory open to others or owned by another user is refused with a clear error', async (t) => {
  const root = tempDir(t);
  const open = join(root, 'open');
  mkdirSync(open);
  chmodSync(open, 0o755);
  await assert.rejects(
    createStateStore(open).check(),
    (e) => isStateError(e) && /mode 0755, must be 0700/.test(String(e)),
  );
  await assert.rejects(createStateStore(open).writeCredentials(CREDS), isStateError);
  assert.throws(() => statSync(join(open, 'credentials.json')), /ENOENT/);

  const foreign = join(root, 'foreign');
  mkdirSync(foreign, { mode: 0o700 });
  const owner = statSync(foreign).uid;
  await assert.rejects(
    createStateStore(foreign, { uid: owner + 1 }).check(),
    (e) => isStateError(e) && new RegExp(`owned by uid ${owner}, not by this user`).test(String(e)),
  );

  const linked = join(root, 'linked');
  symlinkSync(foreign, linked);
  await assert.rejects(
    createStateStore(linked).check(),
    (e) => isStateError(e) && /symbolic link/.test(String(e)),
  );

  // a missing directory is created private
  const fresh = join(root, 'fresh', 'state');
  await createStateStore(fresh).check();
  assert.equal(statSync(fresh).mode & 0o777, 0o700);

  // and `nannyagent run` stops at start with that message, exit 1
  let err = '';
  const code = await main(['run'], {
    stdout: () => undefined,
    stderr: (s) => {
      err += s;
    },
    env: { NANNYAGENT_STATE_DIR: open, NANNYAPI_URL: 'http://127.0.0.1:9', NANNYAGENT_SOURCE: 'files' },
  });
  assert.equal(code, 1, err);
  assert.match(err, /state directory .* must be 0700/);
});

test('a spool file that is a symbolic link is not read', async (t) => {
  const root = tempDir(t);
  const spoolDir = join(root, 'spool');
  mkdirSync(spoolDir, { mode: 0o700 });
  const outside = join(root, 'outside.jsonl');
  writeFileSync(outside, JSON.stringify({ endpoint: '/api/proxmox/node', body: {}, queued_at: '' }) + '\n');
  symlinkSync(outside, join(spoolDir, '000000000001.jsonl'));
  const spool = createSpool({ dir: spoolDir, maxItems: 10, log: memoryLogger() });
  await assert.rejects(spool.open(), isStateError);
});

async function senderWith(t: { after(fn: () => void): void }, answer: { status: number; text: string }) {
  const dir = join(tempDir(t), 'state');
  const state = createStateStore(dir);
  await state.writeCredentials(CREDS);
  const calls: HttpRequest[] = [];
  const http: HttpClient = async (req) => {
    calls.push(req);
    return { status: answer.status, headers: {}, text: answer.text };
  };
  const log = memoryLogger();
  const sender = createSender({ http, state, log, tls: { allowInsecureHttp: true }, timeoutMs: 1000 });
  return { sender, calls, log };
}

test('a spooled item whose endpoint is not an ingest path is dropped unsent and logged', async (t) => {
  const { sender, calls, log } = await senderWith(t, { status: 200, text: '{"success":true}' });
  for (const endpoint of [
    '/../admin',
    'http://evil.example',
    '@evil.example/api/proxmox/node',
    '/api/proxmox/node/../../admin',
    '/api/agent/refresh',
  ]) {
    assert.equal(await sender.send({ endpoint, body: {} }), 'dropped', endpoint);
  }
  assert.equal(calls.length, 0, 'nothing was sent, the token went nowhere');
  assert.equal(log.lines.filter((l) => /^\[ERROR\] dropping a spooled item/.test(l)).length, 5);
  for (const kind of ['cluster', 'node', 'lxc', 'qemu'])
    assert.equal(await sender.send({ endpoint: `/api/proxmox/${kind}`, body: {} }), 'delivered');
  assert.deepEqual(
    calls.map((c) => c.url),
    ['cluster', 'node', 'lxc', 'qemu'].map((k) => `http://127.0.0.1:9/api/proxmox/${k}`),
  );
});

test("control characters in the server's error_description are stripped from the agent's log line", async (t) => {
  const evil = 'bad field\n[INFO] all good, nothing to see\u001b[2J\u001b]0;pwned\u0007\r\u202eoops\u0000';
  const { sender, log } = await senderWith(t, {
    status: 400,
    text: JSON.stringify({ success: false, error: 'invalid_request', error_description: evil }),
  });
  assert.equal(await sender.send({ endpoint: '/api/proxmox/node', body: {} }), 'dropped');
  assert.equal(log.lines.length, 1);
  const line = log.lines[0]!;
  assert.match(line, /^\[ERROR\] POST \/api\/proxmox\/node rejected/);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
  assert.match(line, /bad field \[INFO\] all good, nothing to see\[2J\]0;pwned oops$/);
});
