/**
 * The storage folder's house rules, checked on its sources: slices stay small enough to read
 * (< 500 lines a file) and no storage code reads the clock — every time comes from the caller
 * (`now`, `created_at`, a job's `receivedAt`), so tests and replicas agree on what "now" was.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const DIR = import.meta.dirname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.includes('.test-') ? [p] : [];
  });
}

const files = sources(DIR);

test('the storage sources are found (the checks below are not vacuous)', () => {
  const names = files.map((f) => relative(DIR, f));
  for (const slice of [
    'accounts.ts',
    'agents.ts',
    'ingest.ts',
    'reads.ts',
    'views.ts',
    'retention.ts',
    'sql.ts',
  ])
    assert.ok(names.includes(slice), `${slice} missing from ${names.join(', ')}`);
});

test('every storage source file is under 500 lines', () => {
  const long = files
    .map((f) => ({ f: relative(DIR, f), n: readFileSync(f, 'utf8').split('\n').length }))
    .filter((x) => x.n >= 500);
  assert.deepEqual(long, []);
});

test('no storage source reads the clock', () => {
  // `new Date(x)` converts a time it was given and is fine; `new Date()` and `Date.now()` read the clock.
  const clock = /\bnew Date\(\s*\)|\bDate\.now\(|\bperformance\.now\(/;
  const found = files.flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .map((line, i) => ({ at: `${relative(DIR, f)}:${i + 1}`, line: line.trim() }))
      .filter((x) => clock.test(x.line) && !x.line.startsWith('//') && !x.line.startsWith('*')),
  );
  assert.deepEqual(found, []);
});
