import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import {
  parsePropertyString,
  parseSizeToBytes,
  parseTags,
  tagKey,
  tagKeys,
  tagsToConfig,
  tagsToWire,
} from './property-string.ts';

test('a property string splits into keys, the bare part going to the default key', () => {
  const r = parsePropertyString('local-lvm:vm-100-disk-0,size=32G', 'volume');
  assert.deepEqual(r.data, { volume: 'local-lvm:vm-100-disk-0', size: '32G' });
  assert.deepEqual(r.warnings, []);
});

test('semicolon sub-lists stay inside one value', () => {
  const r = parsePropertyString('order=scsi0;ide2;net0');
  assert.deepEqual(r.data, { order: 'scsi0;ide2;net0' });
});

test('a bare part without a default key, a second bare part and a duplicate key are warnings', () => {
  assert.equal(parsePropertyString('nesting').warnings.length, 1);
  const two = parsePropertyString('a,b', 'volume');
  assert.equal(two.data.volume, 'a');
  assert.match(two.warnings.join(), /duplicate key "volume"/);
  const dup = parsePropertyString('x=1,x=2');
  assert.equal(dup.data.x, '1');
  assert.equal(dup.warnings.length, 1);
  assert.equal(parsePropertyString('=1').warnings.length, 1);
});

test('empty parts are skipped and values keep "=" after the first', () => {
  const r = parsePropertyString('a=1,,b=x=y,');
  assert.deepEqual(r.data, { a: '1', b: 'x=y' });
  assert.deepEqual(r.warnings, []);
});

test('sizes are binary units and a bare number is bytes', () => {
  assert.equal(parseSizeToBytes('512M'), 512 * 1024 ** 2);
  assert.equal(parseSizeToBytes('32G'), 32 * 1024 ** 3);
  assert.equal(parseSizeToBytes('1T'), 1024 ** 4);
  assert.equal(parseSizeToBytes('1.5G'), 1.5 * 1024 ** 3);
  assert.equal(parseSizeToBytes('688658K'), 688658 * 1024);
  assert.equal(parseSizeToBytes('4GiB'), 4 * 1024 ** 3);
  assert.equal(parseSizeToBytes('1048576'), 1048576);
  assert.equal(parseSizeToBytes(4096), 4096);
  assert.equal(parseSizeToBytes('12X'), undefined);
  assert.equal(parseSizeToBytes(''), undefined);
  assert.equal(parseSizeToBytes('-1G'), undefined);
});

test('tags split on semicolons, commas and spaces and go on the wire comma-separated', () => {
  assert.deepEqual(parseTags('production;web;nginx'), ['production', 'web', 'nginx']);
  assert.deepEqual(parseTags('one, two, three'), ['one', 'two', 'three']);
  assert.deepEqual(parseTags('foo bar'), ['foo', 'bar']);
  assert.deepEqual(parseTags('a;a;;b'), ['a', 'b']);
  assert.deepEqual(parseTags(undefined), []);
  assert.equal(tagsToWire('production;web;nginx'), 'production,web,nginx');
  assert.equal(tagsToWire(''), '');
});

test('tags keep their spelling but are one tag regardless of case, as a default PVE treats them', () => {
  assert.deepEqual(parseTags('Prod;web;PROD;Web'), ['Prod', 'web']);
  assert.deepEqual(tagKeys('Prod;web;PROD'), ['prod', 'web']);
  assert.equal(tagKey('Prod'), tagKey('pROD'));
  assert.deepEqual(tagKeys(42), []);
  assert.equal(tagsToWire('Prod;web'), 'Prod,web');
  assert.equal(tagsToConfig(['db', 'prod']), 'db;prod');
});
