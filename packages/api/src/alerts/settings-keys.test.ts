/** Issue 13, Low: alert-settings scope keys are bounded and printable. */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { AlertSettingsSchema } from './settings-schema.ts';

test('scope keys with control characters or over 300 characters are refused', () => {
  assert.equal(Value.Check(AlertSettingsSchema, { nodes: { pve1: {} }, tags: { prod: {} } }), true);
  assert.equal(Value.Check(AlertSettingsSchema, { nodes: { 'a\nb': {} } }), false);
  assert.equal(Value.Check(AlertSettingsSchema, { clusters: { ['x'.repeat(1000)]: {} } }), false);
  assert.equal(Value.Check(AlertSettingsSchema, { tags: { '': {} } }), false);
});
