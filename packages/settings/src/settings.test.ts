import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { closest, parseCommandLine } from './args.ts';
import { parseEnvFile } from './envfile.ts';
import { BEGIN, END, settingsTable, withSettingsTable } from './docs.ts';
import { boolean, cidrList, integer, oneOf, resolveSettings, settingOptions, type Schema } from './schema.ts';

const SCHEMA: Schema = [
  { key: 'port', env: 'X_PORT', flag: 'port', kind: integer(0, 65535), default: '8080', doc: 'port' },
  { key: 'mode', env: 'X_MODE', flag: 'mode', kind: oneOf(['a', 'b']), default: 'a', doc: 'mode' },
  { key: 'loud', env: 'X_LOUD', flag: 'loud', kind: boolean(), default: 'false', doc: 'switch' },
  { key: 'nets', env: 'X_NETS', flag: 'nets', kind: cidrList(), default: '', doc: 'nets' },
  { key: 'secret', env: 'X_PASSWORD', kind: integer(0, 9), doc: 'env only' },
];

test('an unknown option is an error naming it, with the closest known option as a hint', () => {
  const r = parseCommandLine(['create', '--scop', 'write'], {
    scope: { type: 'string' },
    name: { type: 'string' },
  });
  assert.deepEqual(r.errors, ['--scop: unknown option (did you mean --scope?)']);
  assert.equal(closest('prot', ['port', 'host']), 'port');
  assert.equal(closest('zzzzzz', ['port', 'host']), undefined);
});

test('values, switches, repeats, = and short forms; every misuse is reported', () => {
  const specs = {
    name: { type: 'string' },
    set: { type: 'string', multiple: true },
    admin: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  const ok = parseCommandLine(['a', '--name=x', '--set', 'k=v', '--set', 'j=w', '--admin', '-h', 'b'], specs);
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.values, { name: 'x', set: ['k=v', 'j=w'], admin: true, help: true });
  assert.deepEqual(ok.positionals, ['a', 'b']);
  const bad = parseCommandLine(['--admin=yes', '--name', '--set'], specs);
  assert.deepEqual(bad.errors, [
    '--admin: takes no value (got "yes")',
    '--name: needs a value',
    '--set: needs a value',
  ]);
});

test('the argv indexes of each option are known (so a caller can take its options out)', () => {
  const r = parseCommandLine(['x', '--name', 'v', '--admin', '--name=w'], {
    name: { type: 'string' },
    admin: { type: 'boolean' },
  });
  assert.deepEqual(r.used, [
    { name: 'name', indexes: [1, 2] },
    { name: 'admin', indexes: [3] },
    { name: 'name', indexes: [4] },
  ]);
});

test('config file < environment < flags; defaults fill the rest', () => {
  const file = parseEnvFile('X_PORT=1\nX_MODE=b\n');
  const r = resolveSettings(SCHEMA, {
    env: { X_PORT: '2' },
    flags: { loud: true },
    file: { path: '/c.env', values: file.values },
  });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.values, { port: 2, mode: 'b', loud: true, nets: [] });
  assert.deepEqual(r.from, { port: 'X_PORT', mode: '/c.env line 2 (X_MODE)', loud: '--loud' });
  const f = resolveSettings(SCHEMA, { env: { X_PORT: '2' }, flags: { port: '3' } });
  assert.equal(f.values.port, 3);
});

test('errors name what the user typed: the flag, the variable, or the file line', () => {
  const file = parseEnvFile('# c\nX_MODE=c\nX_BOGUS=1\n');
  const r = resolveSettings(SCHEMA, {
    env: { X_NETS: '10.0.0.0/33', X_PASSWORD: 'hunter2' },
    flags: { port: '99999' },
    file: { path: '/c.env', values: file.values },
  });
  assert.deepEqual(r.errors, [
    '--port: must be an integer from 0 to 65535 (got 99999)',
    '/c.env line 2 (X_MODE): must be one of a, b (got c)',
    'X_NETS: "10.0.0.0/33" is not a CIDR like 10.0.0.0/8 or fd00::/8 (got 10.0.0.0/33)',
    // a secret is not echoed
    'X_PASSWORD: must be an integer from 0 to 9',
    '/c.env line 3: unknown setting X_BOGUS',
  ]);
});

test('an unknown variable with the program prefix is a warning with a hint; others are ignored', () => {
  const r = resolveSettings(SCHEMA, {
    env: { X_PROT: '1', X_OTHER_TOOL: '1', HOME: '/root', X_SIBLING: '1' },
    envPrefixes: ['X_'],
    foreignEnv: ['X_SIBLING'],
  });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, [
    'environment variable X_OTHER_TOOL is not a setting, ignored',
    'environment variable X_PROT is not a setting, ignored (did you mean X_PORT?)',
  ]);
});

test('flag options come from the schema: switches for booleans, none for env-only settings', () => {
  const o = settingOptions(SCHEMA);
  assert.deepEqual(Object.keys(o), ['port', 'mode', 'loud', 'nets']);
  assert.equal(o.loud!.type, 'boolean');
  assert.equal(o.port!.type, 'string');
});

test('the docs table is rewritten between the markers only', () => {
  const page = `# T\n\nintro\n\n${BEGIN}\nold\n${END}\n\nrest\n`;
  const out = withSettingsTable(page, SCHEMA);
  assert.ok(out.startsWith('# T\n\nintro\n\n'));
  assert.ok(out.endsWith(`${END}\n\nrest\n`));
  assert.ok(out.includes(settingsTable(SCHEMA)));
  assert.match(out, /\| `X_PORT` \| `--port` \| `8080` \| integer 0-65535 \| port \|/);
  assert.throws(() => withSettingsTable('# no markers', SCHEMA));
});
