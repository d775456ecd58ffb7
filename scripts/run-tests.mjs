#!/usr/bin/env node
// Runs every *.test.ts of the workspace with node:test (through tsx), several files at once.
// Node 20's `node --test` takes no globs, so the file list is built here.
// Usage: node --import tsx scripts/run-tests.mjs [path-filter ...]
//
// Limits (see docs/testing.md): each file gets budgets.file (3 min × NANNY_TIME_SCALE), a
// `*.slow.test.ts` file budgets.slowFile (6 min × NANNY_TIME_SCALE). On Node 20
// `run({ timeout })` is that per-file limit: the file's process is killed (SIGTERM) when it runs
// longer, and the file counts as a failure; @nanny/testing kills the processes a killed file had
// spawned. Single tests are limited by @nanny/testing's test() (budgets.test).
// Exit status: non-zero when any test failed or any file hit its limit.
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import process from 'node:process';
import { budgets, testingConfig } from '@nanny/testing';

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
const fileSet = new Set(files);
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 4);
const required = [...testingConfig.required].join(',') || '(none)';
console.log(
  `running ${files.length} test files, ${concurrency} at a time; limits: ${budgets.file / 1000} s per file, ` +
    `${budgets.test / 1000} s per test (NANNY_TIME_SCALE=${testingConfig.timeScale}); NANNY_REQUIRE=${required}`,
);

const t0 = Date.now();
let failed = 0;
const overLimit = [];
const skipped = [];
// Children inherit this process's execArgv, so the runner itself is started with --import tsx.
// A `*.slow.test.ts` file waits for something the product itself takes minutes to do at its default
// settings (an agent_silent alert 2.5 heartbeats after an agent died): it runs alongside the others
// under the longer limit budgets.slowFile. Node 20's run() has one limit per call, hence two calls
// whose events are merged into one report.
const isSlow = (f) => f.endsWith('.slow.test.ts');
const groups = [
  { files: files.filter((f) => !isSlow(f)), concurrency, timeout: budgets.file },
  { files: files.filter(isSlow), concurrency: 1, timeout: budgets.slowFile },
].filter((g) => g.files.length > 0);
const merged = new PassThrough({ objectMode: true });
let open = groups.length;
for (const g of groups) {
  const stream = run(g);
  stream.on('test:fail', (d) => {
    failed++;
    // A file-level test is named by its path; a timeout there means the file hit its limit and was killed.
    if (d.nesting === 0 && fileSet.has(d.name) && d.details?.error?.failureType === 'testTimeoutFailure') {
      overLimit.push(`${relative(root, d.name)} (limit ${g.timeout / 1000} s)`);
    }
  });
  stream.on('test:pass', (d) => {
    if (d.skip !== undefined) skipped.push(`${d.name}: ${typeof d.skip === 'string' ? d.skip : 'skipped'}`);
  });
  stream.on('data', (event) => merged.write(event));
  stream.on('end', () => {
    if (--open === 0) merged.end();
  });
}
const reported = merged.compose(spec);
reported.pipe(process.stdout);
reported.on('end', () => {
  // Printed after the spec reporter's own summary (tests/pass/fail/skipped counts).
  {
    const lines = [];
    for (const f of overLimit) lines.push(`✖ file limit: ${f} ran longer than its limit and was killed`);
    if (skipped.length) {
      lines.push(`﹣ ${skipped.length} skipped (set NANNY_REQUIRE to make missing parts fail):`);
      for (const s of skipped) lines.push(`  ﹣ ${s}`);
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    lines.push(
      failed || overLimit.length
        ? `run-tests: FAILED (${failed} failing, ${overLimit.length} file(s) over the limit, ${skipped.length} skipped) in ${secs} s`
        : `run-tests: ok (${skipped.length} skipped) in ${secs} s`,
    );
    console.log(lines.join('\n'));
    process.exitCode = failed || overLimit.length ? 1 : 0;
  }
});
