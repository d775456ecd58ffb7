import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { toBool01, toFlag01, toInt, toNumber } from './scalars.ts';
import { unwrapEnvelope } from './envelope.ts';

test('toInt reads numbers and numeric strings and refuses fractions and garbage', () => {
  assert.equal(toInt(106), 106);
  assert.equal(toInt('106'), 106);
  assert.equal(toInt(' 2048 '), 2048);
  assert.equal(toInt('0'), 0);
  assert.equal(toInt(1.5), undefined);
  assert.equal(toInt('1.5'), undefined);
  assert.equal(toInt(''), undefined);
  assert.equal(toInt('12abc'), undefined);
  assert.equal(toInt(null), undefined);
  assert.equal(toInt(undefined), undefined);
  assert.equal(toInt(true), undefined);
});

test('toNumber reads decimal strings such as loadavg "0.16"', () => {
  assert.equal(toNumber('0.16'), 0.16);
  assert.equal(toNumber(0.0456789), 0.0456789);
  assert.equal(toNumber('1e3'), 1000);
  assert.equal(toNumber('abc'), undefined);
  assert.equal(toNumber(''), undefined);
  assert.equal(toNumber(Number.NaN), undefined);
  assert.equal(toNumber(Infinity), undefined);
});

test('toBool01 reads 0/1, "0"/"1", the property-string words and the empty template string', () => {
  for (const v of [1, '1', true, 'on', 'yes', 'true', 'TRUE']) assert.equal(toBool01(v), true, String(v));
  for (const v of [0, '0', false, 'off', 'no', 'false', '']) assert.equal(toBool01(v), false, String(v));
  for (const v of [2, 'maybe', null, undefined, {}]) assert.equal(toBool01(v), undefined, String(v));
  assert.equal(toFlag01('1'), 1);
  assert.equal(toFlag01(''), 0);
  assert.equal(toFlag01('x'), undefined);
});

test('unwrapEnvelope strips the HTTPS API envelope and leaves pvesh output alone', () => {
  assert.deepEqual(unwrapEnvelope({ data: [{ type: 'node' }] }), [{ type: 'node' }]);
  assert.deepEqual(unwrapEnvelope({ data: { a: 1 }, success: 1 }), { a: 1 });
  assert.deepEqual(unwrapEnvelope([{ type: 'node' }]), [{ type: 'node' }]);
  // An object with other keys besides `data` is data itself, not an envelope.
  assert.deepEqual(unwrapEnvelope({ data: 1, memory: 2 }), { data: 1, memory: 2 });
});
