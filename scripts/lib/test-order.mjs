// The order in which the runner starts test files. With N files running at once, a long file
// started last keeps the run going after everything else is done, so files start longest first
// (the longest-processing-time rule). How long a file takes comes from the previous run on this
// machine (.cache/test-durations.json); a file never timed gets an estimate from where it lives:
// the end-to-end tests under test/ start real processes and wait on the product's intervals, the
// browser tests drive Chromium, the rest are unit tests of a second or two.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** seconds, by the file's path relative to the repository root */
export function estimateSeconds(relPath) {
  if (relPath.startsWith('test/e2e/')) return 60;
  if (/browser/.test(relPath)) return 60;
  if (relPath.startsWith('test/')) return 10;
  return 2;
}

/**
 * Files longest first. `durations` maps a relative path to the seconds it took last time; `rel`
 * turns a file into that path. Ties keep alphabetical order, so a run is repeatable.
 */
export function orderLongestFirst(files, durations, rel) {
  const cost = (f) => durations[rel(f)] ?? estimateSeconds(rel(f));
  return [...files].sort((a, b) => cost(b) - cost(a) || (a < b ? -1 : a > b ? 1 : 0));
}

/** the durations recorded last time; nothing (not an error) when there are none or they are unreadable */
export function readDurations(file) {
  if (!existsSync(file)) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** merges this run's durations into the file (a partial run keeps the others' figures) */
export function writeDurations(file, previous, measured) {
  mkdirSync(dirname(file), { recursive: true });
  const merged = { ...previous };
  for (const [path, seconds] of Object.entries(measured)) merged[path] = Math.round(seconds * 10) / 10;
  writeFileSync(file, JSON.stringify(merged, null, 1) + '\n');
}
