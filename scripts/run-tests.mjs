#!/usr/bin/env node
// Runs every *.test.ts of the workspace with node:test (through tsx), several files at once.
// Node 20's `node --test` takes no globs, so the file list is built here.
// Usage: node scripts/run-tests.mjs [path-filter ...]
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import process from 'node:process';

const root = new URL('..', import.meta.url).pathname;
const skipDirs = new Set(['node_modules', 'dist', '.git', 'fixtures', '.demo']);

function findTests(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (skipDirs.has(name)) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) findTests(full, out);
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = [...findTests(join(root, 'packages'), []), ...findTests(join(root, 'test'), [])]
  .filter((f) => filters.length === 0 || filters.some((flt) => relative(root, f).includes(flt)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
console.log(`running ${files.length} test files`);
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 4);
let failed = false;
// Children inherit this process's execArgv, so the runner itself is started with --import tsx.
const stream = run({ files, concurrency, timeout: 10 * 60 * 1000 });
stream.on('test:fail', () => {
  failed = true;
});
stream.compose(spec).pipe(process.stdout);
stream.on('end', () => {
  process.exitCode = failed ? 1 : 0;
});
