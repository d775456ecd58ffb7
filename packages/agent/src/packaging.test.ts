// The shipped artefacts: the esbuild bundle (Node 18 syntax and APIs), the bin wrapper, the
// systemd unit and the .deb.
import { budgets, requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pkg = new URL('..', import.meta.url).pathname;
const bundle = join(pkg, 'dist/nannyagent.mjs');
const noBundle = existsSync(bundle) ? undefined : 'dist/nannyagent.mjs is missing (run `npm run build`)';

test('the bundle runs --help and carries no API newer than Node 18', (t) => {
  if (!requires(t, 'bundles', !noBundle, noBundle ?? '')) return;
  const r = spawnSync(process.execPath, [bundle, '--help'], {
    encoding: 'utf8',
    timeout: budgets.processStart,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /nannyagent run/);
  const text = readFileSync(bundle, 'utf8');
  // Not in Node 18: ES2023 array copies (20), Array.fromAsync (22), Promise.withResolvers (22),
  // Object/Map.groupBy (21), String isWellFormed/toWellFormed (20), import.meta.dirname/filename
  // (20.11), AbortSignal.any (20.3), Set methods (22), ArrayBuffer transfer (21), RegExp.escape (24),
  // iterator helpers (22), Promise.try (23), process.getBuiltinModule (22.3), util.styleText and
  // process.loadEnvFile (20.12), global navigator (21), fs glob (22), node:sqlite (22.5). The bundle
  // is not minified, so these names stay readable in it.
  for (const api of [
    '.toSorted(',
    '.toReversed(',
    '.toSpliced(',
    '.with(',
    'Array.fromAsync',
    'Promise.withResolvers',
    'Object.groupBy',
    'Map.groupBy',
    '.isWellFormed(',
    '.toWellFormed(',
    'import.meta.dirname',
    'import.meta.filename',
    'AbortSignal.any',
    '.isSubsetOf(',
    '.isSupersetOf(',
    '.isDisjointFrom(',
    '.symmetricDifference(',
    '.transferToFixedLength(',
    'RegExp.escape',
    'Iterator.from',
    'Promise.try',
    'process.getBuiltinModule',
    'styleText',
    'loadEnvFile',
    'navigator.',
    'globSync',
    'node:sqlite',
  ]) {
    assert.ok(!text.includes(api), `bundle uses ${api}`);
  }
});

test('the bin wrapper only imports the bundle', () => {
  const text = readFileSync(join(pkg, 'bin/nannyagent.mjs'), 'utf8');
  assert.match(text, /^#!\/usr\/bin\/env node\n/);
  assert.match(text, /import '\.\.\/dist\/nannyagent\.mjs';/);
});

test('the systemd unit runs as root after pve-cluster, restarts, reads config.env', () => {
  const unit = readFileSync(join(pkg, 'packaging/nannyagent.service'), 'utf8');
  for (const line of [
    'After=network-online.target pve-cluster.service',
    'User=root',
    'EnvironmentFile=-/etc/nannyagent/config.env',
    'ExecStart=/usr/bin/nannyagent run',
    'Restart=always',
    'ProtectSystem=full',
  ]) {
    assert.ok(unit.split('\n').includes(line), `missing "${line}"`);
  }
  // would break reading /etc/pve through pvesh (libqb IPC in /dev/shm) or the JIT
  assert.doesNotMatch(unit, /^(PrivateDevices|MemoryDenyWriteExecute)=true/m);
  assert.doesNotMatch(unit, /^ProtectSystem=strict/m);
});

test('build-deb.sh produces a valid .deb with the bundle, wrapper, unit and conffile', (t) => {
  if (!requires(t, 'bundles', !noBundle, noBundle ?? '')) return;
  const dpkg = spawnSync('dpkg-deb', ['--version'], { timeout: budgets.processStart }).status === 0;
  if (!requires(t, 'dpkg', dpkg, 'dpkg-deb is not installed')) return;
  const out = mkdtempSync(join(tmpdir(), 'deb-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const deb = execFileSync(join(pkg, 'packaging/build-deb.sh'), [out], {
    encoding: 'utf8',
    timeout: budgets.long,
  }).trim();
  assert.match(deb, /nannyagent_\d+\.\d+\.\d+_all\.deb$/);
  const info = execFileSync('dpkg-deb', ['--info', deb], { encoding: 'utf8' });
  assert.match(info, /Package: nannyagent/);
  assert.match(info, /Architecture: all/);
  assert.match(info, /Depends: nodejs \(>= 18\)/);
  const contents = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' });
  for (const path of [
    './usr/lib/nannyagent/nannyagent.mjs',
    './usr/bin/nannyagent',
    './lib/systemd/system/nannyagent.service',
    './etc/nannyagent/config.env',
  ]) {
    assert.ok(contents.includes(path), `${path} not in the package`);
  }
  assert.match(contents, /-rw------- root\/root .* \.\/etc\/nannyagent\/config\.env/);
  assert.match(contents, /^drwxr-xr-x root\/root .* \.\/\n/m);
  const x = mkdtempSync(join(tmpdir(), 'debx-'));
  t.after(() => rmSync(x, { recursive: true, force: true }));
  execFileSync('dpkg-deb', ['--extract', deb, x]);
  const r = spawnSync(process.execPath, [join(x, 'usr/lib/nannyagent/nannyagent.mjs'), '--version'], {
    encoding: 'utf8',
    timeout: budgets.processStart,
  });
  assert.match(r.stdout, /^nannyagent \d/);
});
