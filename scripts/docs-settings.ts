#!/usr/bin/env node
// `npm run docs:settings`: rewrites the settings tables of docs/agent-configuration.md and
// docs/api-configuration.md from the programs' settings schemas (between the BEGIN/END markers;
// the prose around them is hand-written). `--check` only reports pages that are out of date;
// test/settings-docs.test.ts fails on the same condition.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { withSettingsTable, type Schema } from '@nanny/settings';
import { AGENT_SETTINGS } from '../packages/agent/src/config.ts';
import { API_SETTINGS } from '../packages/api/src/config.ts';

const root = new URL('..', import.meta.url).pathname;

export const SETTINGS_PAGES: readonly { page: string; schema: Schema }[] = [
  { page: 'docs/agent-configuration.md', schema: AGENT_SETTINGS },
  { page: 'docs/api-configuration.md', schema: API_SETTINGS },
];

/** The pages whose table differs from the schema, with their regenerated text. */
export function staleSettingsPages(): { page: string; text: string }[] {
  return SETTINGS_PAGES.flatMap(({ page, schema }) => {
    const current = readFileSync(join(root, page), 'utf8');
    const text = withSettingsTable(current, schema);
    return text === current ? [] : [{ page, text }];
  });
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const stale = staleSettingsPages();
  const check = process.argv.includes('--check');
  for (const s of stale) {
    if (!check) writeFileSync(join(root, s.page), s.text);
    console.log(`${check ? 'out of date' : 'updated'}: ${s.page}`);
  }
  if (stale.length === 0) console.log('settings docs match the schemas');
  if (check && stale.length > 0) process.exitCode = 1;
}
