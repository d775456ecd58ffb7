// The Node versions the root package.json admits are the versions every installed package supports:
// `npm ci` then prints no EBADENGINE warning on any of them (.ci/run also fails on that warning, for
// the Node it runs on). cookie@2 and content-disposition@3 want Node >= 22; the root `overrides` hold
// them at cookie@1.1 and content-disposition@2.0, whose APIs are the same (parseCookie /
// stringifySetCookie, create) — the only calls @fastify/cookie, light-my-request and @fastify/static make.
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import semver from 'semver';

const root = new URL('../../', import.meta.url);

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(new URL(path, root), 'utf8')) as T;
}

test('every package in the lockfile supports every Node version the root engines admit', () => {
  const range = readJson<{ engines: { node: string } }>('package.json').engines.node;
  assert.ok(semver.validRange(range), `root engines.node "${range}" is a range`);
  const lock = readJson<{ packages: Record<string, LockEntry> }>('package-lock.json');
  const misfits: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    // old packages wrote engines as an array of strings; npm ignores that form
    const wants = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    if (wants === undefined || path === '') continue;
    if (!semver.subset(range, wants)) misfits.push(`${path}@${entry.version ?? '?'} wants node ${wants}`);
  }
  assert.deepEqual(misfits, [], `root engines.node is "${range}"`);
});

test('the overrides that keep the tree on Node 20 are still in force', () => {
  const lock = readJson<{ packages: Record<string, LockEntry> }>('package-lock.json');
  // a lock regenerated without the overrides brings back the Node-22-only majors
  assert.equal(semver.major(lock.packages['node_modules/cookie']?.version ?? '0.0.0'), 1);
  assert.equal(semver.major(lock.packages['node_modules/content-disposition']?.version ?? '0.0.0'), 2);
});
