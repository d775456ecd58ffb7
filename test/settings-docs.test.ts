// The settings tables in docs/ are generated from the schemas; this fails when someone changes one
// without the other. Fix: `npm run docs:settings`.
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { staleSettingsPages } from '../scripts/docs-settings.ts';

test('the settings docs match the settings schemas of the agent and the API', () => {
  assert.deepEqual(
    staleSettingsPages().map((s) => s.page),
    [],
    'run `npm run docs:settings` and commit the pages',
  );
});
