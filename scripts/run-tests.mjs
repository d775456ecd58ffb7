#!/usr/bin/env node
// Runs every *.test.ts of the workspace with node:test (through tsx), several files at once.
// Node 20's `node --test` takes no globs, so the file list is built here.
// Usage: node --import tsx scripts/run-tests.mjs [path-filter ...]
//
// Limits (see docs/testing.md): each file gets budgets.file (3 min × NANNY_TIME_SCALE). On Node 20
// `run({ timeout })` is that per-file limit: the file's process is killed (SIGTERM) when it runs
// longer, and the file counts as a failure; @nanny/testing kills the processes a killed file had
// spawned. Single tests are limited by @nanny/testing's test() (budgets.test).
// Exit status: non-zero when any test failed or any file hit its limit.
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import process from 'node:process';
import { budgets, testingConfig } from '@nanny/testing';
import { orderLongestFirst, readDurations, writeDurations } from './lib/test-order.mjs';

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
// An argument naming an existing file is run as given, even outside the test folders (a fixture).
const explicit = filters.map((f) => resolve(f)).filter((f) => existsSync(f) && statSync(f).isFile());
const found = [...findTests(join(root, 'packages'), []), ...findTests(join(root, 'test'), [])].filter(
  (f) => filters.length === 0 || filters.some((flt) => relative(root, f).includes(flt)),
);
const rel = (f) => relative(root, f);
const durationsFile = join(root, '.cache', 'test-durations.json');
const previousDurations = readDurations(durationsFile);
const files = orderLongestFirst([...new Set([...found, ...explicit])], previousDurations, rel);
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

// When the runner itself is stopped (Ctrl-C, CI's timeout, `kill`), node:test does not stop the test
// files' processes: they would run on, holding ports and temp folders. Each file is a direct child
// of this process; SIGTERM lets it run its own cleanup (@nanny/testing kills the processes it
// spawned), and whatever is still there after a grace period is killed.
function childPids() {
  const pids = [];
  let entries = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids; // no procfs: nothing to enumerate
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) pids.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

function stopFilesAndExit(signal) {
  const code = signal === 'SIGINT' ? 130 : 143;
  const pids = childPids();
  console.error(`run-tests: ${signal}: stopping ${pids.length} running test file(s)`);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const graceMs = 5_000;
  const started = Date.now();
  const poll = setInterval(() => {
    const left = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    if (left.length === 0 || Date.now() - started > graceMs) {
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      clearInterval(poll);
      process.exit(code);
    }
  }, 100);
}
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.once(sig, () => stopFilesAndExit(sig));

const t0 = Date.now();
let failed = 0;
const overLimit = [];
const skipped = [];
/** seconds each file took, by relative path: from its dequeue (its process starts) to its completion */
const fileSeconds = {};
const fileStarted = new Map();
const isFileEvent = (d) => d.nesting === 0 && fileSet.has(d.name);
// Children inherit this process's execArgv, so the runner itself is started with --import tsx.
const stream = run({ files, concurrency, timeout: budgets.file });
stream.on('test:fail', (d) => {
  failed++;
  // A file-level test is named by its path; a timeout there means the file hit its limit and was killed.
  if (d.nesting === 0 && fileSet.has(d.name) && d.details?.error?.failureType === 'testTimeoutFailure') {
    overLimit.push(relative(root, d.name));
  }
});
stream.on('test:dequeue', (d) => {
  if (isFileEvent(d)) fileStarted.set(d.name, Date.now());
});
stream.on('test:complete', (d) => {
  const started = fileStarted.get(d.name);
  if (isFileEvent(d) && started !== undefined) fileSeconds[rel(d.name)] = (Date.now() - started) / 1000;
});
stream.on('test:pass', (d) => {
  if (d.skip !== undefined) skipped.push(`${d.name}: ${typeof d.skip === 'string' ? d.skip : 'skipped'}`);
});
const reported = stream.compose(spec);
reported.pipe(process.stdout);
reported.on('end', () => {
  // Printed after the spec reporter's own summary (tests/pass/fail/skipped counts).
  {
    const lines = [];
    for (const f of overLimit)
      lines.push(`✖ file limit: ${f} ran longer than ${budgets.file / 1000} s and was killed`);
    if (skipped.length) {
      lines.push(`﹣ ${skipped.length} skipped (set NANNY_REQUIRE to make missing parts fail):`);
      for (const s of skipped) lines.push(`  ﹣ ${s}`);
    }
    const slowest = Object.entries(fileSeconds)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8);
    if (slowest.length) {
      lines.push('slowest files (they start first next time; .cache/test-durations.json):');
      for (const [f, s] of slowest) lines.push(`  ${s.toFixed(1).padStart(6)} s  ${f}`);
    }
    writeDurations(durationsFile, previousDurations, fileSeconds);
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
