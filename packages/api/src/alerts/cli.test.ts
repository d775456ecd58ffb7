import { after, before } from 'node:test';
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { createKyselyStorage } from '../storage/kysely-storage.ts';
import type { Storage } from '../storage/storage.ts';
import { testConfig } from '../config.ts';
import { startHttpReceiver, type HttpReceiver } from '../notify/testing.ts';
import type { CliContext } from '../module-contract.ts';
import { channelCommand, parseChannelArgs } from './cli.ts';

let storage: Storage;
let hook: HttpReceiver;
before(async () => {
  storage = await createKyselyStorage({ sqliteFile: ':memory:' });
  await storage.ensureTenant('default', new Date().toISOString());
  hook = await startHttpReceiver();
});
after(async () => {
  await hook.close();
  await storage.close();
});

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    config: testConfig({ allowedChannelNetworks: ['127.0.0.0/8'] }), // the receiver is on loopback
    storage,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    now: () => new Date(),
  };
  const code = await channelCommand.run(args, ctx);
  return { code, out, err };
}

test('options become fields; a switch is true; options of another subcommand are refused by name', () => {
  assert.deepEqual(parseChannelArgs('add', ['--min-severity', 'warning', '--secure', '--to=a@x']), {
    fields: { min_severity: 'warning', secure: true, to: 'a@x' },
    rest: [],
    errors: [],
  });
  assert.deepEqual(parseChannelArgs('list', ['--jsn']).errors, [
    '--jsn: unknown option (did you mean --json?)',
  ]);
  assert.deepEqual(parseChannelArgs('list', ['--type', 'x']).errors, ['--type: unknown option']);
});

test('channel add refuses a mistyped option and a field of another type, naming them (exit 2)', async () => {
  const typo = await cli('add', '--type', 'webhook', '--name', 'x', '--url', hook.url, '--secrte', 's');
  assert.equal(typo.code, 2);
  assert.match(typo.err.join('\n'), /--secrte: unknown option \(did you mean --secret\?\)/);
  const foreign = await cli('add', '--type', 'webhook', '--name', 'x', '--url', hook.url, '--topic', 't');
  assert.equal(foreign.code, 2);
  assert.match(foreign.err.join('\n'), /--topic: not a field of webhook channels/);
});

test('channel add, list (secret hidden), test-send and delete', async () => {
  const add = await cli(
    'add',
    '--type',
    'webhook',
    '--name',
    'ops',
    '--url',
    `${hook.url}/cli`,
    '--secret',
    'shh',
  );
  assert.equal(add.code, 0, add.err.join('\n'));
  const id = add.out.at(-1)!;
  const dup = await cli('add', '--type', 'webhook', '--name', 'ops', '--url', hook.url);
  assert.equal(dup.code, 1);
  const list = await cli('list', '--json');
  assert.equal(list.code, 0);
  assert.equal(list.out.join('').includes('shh'), false);
  const before = hook.received.length;
  const sent = await cli('test', 'ops');
  assert.equal(sent.code, 0, sent.err.join('\n'));
  const [r] = (await hook.waitFor(before + 1)).slice(before);
  assert.equal(r?.url, '/cli');
  assert.ok(r?.headers['x-nanny-signature']);
  assert.equal((await cli('delete', id)).code, 0);
  assert.deepEqual((await cli('list')).out, ['no channels']);
});

test('channel add reports missing fields and a failing test-send exits non-zero', async () => {
  const bad = await cli('add', '--type', 'gotify', '--name', 'g', '--url', hook.url);
  assert.equal(bad.code, 2);
  assert.match(bad.err.join('\n'), /token/);
  hook.respond = () => 500;
  try {
    assert.equal(
      (await cli('add', '--type', 'ntfy', '--name', 'n', '--url', hook.url, '--topic', 'pve')).code,
      0,
    );
    const t = await cli('test', 'n');
    assert.equal(t.code, 1);
    assert.match(t.err.join('\n'), /500/);
  } finally {
    hook.respond = () => 200;
  }
});
