import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { comparePveVersions, pveMajor, pveRelease } from './version.ts';

test('PVE versions compare part by part, numerically, across the 7.x dash and 8.x dot forms', () => {
  assert.equal(comparePveVersions('7.4-3', '7.4-16'), -1);
  assert.equal(comparePveVersions('7.4-16', '8.0.3'), -1);
  assert.equal(comparePveVersions('8.4.11', '8.4.2'), 1);
  assert.equal(comparePveVersions('8.4', '8.4.0'), 0);
  assert.equal(comparePveVersions('9.1.1', '9.1.1'), 0);
  // kernels: the build number after the dash decides
  assert.equal(comparePveVersions('6.8.12-15-pve', '6.8.12-4-pve'), 1);
  assert.deepEqual(['6.8.12-4-pve', '6.14.8-2-pve', '6.8.12-15-pve'].sort(comparePveVersions), [
    '6.8.12-4-pve',
    '6.8.12-15-pve',
    '6.14.8-2-pve',
  ]);
});

test('major and release of a PVE version', () => {
  assert.equal(pveMajor('7.4-3'), 7);
  assert.equal(pveMajor('8.4.11'), 8);
  assert.ok(Number.isNaN(pveMajor('pve')));
  assert.equal(pveRelease('8.4.11'), '8.4');
  assert.equal(pveRelease('7.4-3'), '7.4');
  assert.equal(pveRelease('9'), '9.0');
});
