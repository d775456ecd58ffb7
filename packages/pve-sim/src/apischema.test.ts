import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { findEndpoint, validate, type ApiNode, type PveSchema } from './apischema.ts';

const entry: PveSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      type: { type: 'string', enum: ['cluster', 'node'] },
      nodeid: { type: 'integer', optional: 1, minimum: 0 },
      online: { type: 'boolean', optional: 1 },
      cpulimit: { type: 'number', optional: 1 },
      'net[n]': { type: 'string', optional: 1 },
    },
  },
};

test('a valid answer passes, with undocumented keys reported apart', () => {
  const r = validate(entry, [
    { id: 'node/a', type: 'node', nodeid: 1, online: 1, cpulimit: '0', net0: 'x', extra: 1 },
  ]);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.undocumented, ['$[].extra']);
});

test('wrong types, enum values, missing required keys and bounds are errors', () => {
  const r = validate(entry, [
    { type: 'vm', nodeid: '1', online: 2, net1: 3 },
    { id: 'x', type: 'node', nodeid: -1 },
  ]);
  assert.deepEqual(r.errors, [
    '$[0].id: required property missing',
    '$[0].type: "vm" is not one of cluster, node',
    '$[0].nodeid: expected integer, got "1"',
    '$[0].online: expected boolean, got 2',
    '$[0].net1: expected string, got 3',
    '$[1].nodeid: -1 < minimum 0',
  ]);
});

test('numbers pass as strings only for the named properties; additionalProperties 0 forbids extras', () => {
  const s: PveSchema = {
    type: 'object',
    properties: { value: { type: 'string', optional: 1 } },
    additionalProperties: 0,
  };
  assert.deepEqual(validate(s, { value: 5 }).errors, ['$.value: expected string, got 5']);
  assert.deepEqual(validate(s, { value: 5 }, { numbersAsStrings: new Set(['value']) }).errors, []);
  assert.deepEqual(validate(s, { other: 1 }).errors, ['$.other: property not allowed by the schema']);
});

test('findEndpoint walks the API tree', () => {
  const tree: ApiNode[] = [
    { path: '/nodes', children: [{ path: '/nodes/{node}', info: { GET: { returns: { type: 'array' } } } }] },
  ];
  assert.equal(findEndpoint(tree, '/nodes/{node}')?.info?.GET?.returns?.type, 'array');
  assert.equal(findEndpoint(tree, '/version'), undefined);
});
