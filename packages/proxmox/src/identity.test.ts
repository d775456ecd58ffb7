import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { clusterFingerprint, looksLikePemCertificate } from './identity.ts';

const pem = readFileSync(new URL('../fixtures/pve-root-ca.pem', import.meta.url), 'utf8');

test('the fingerprint of a file as PVE writes it is plain sha256 of its bytes', () => {
  assert.equal(clusterFingerprint(pem), createHash('sha256').update(pem).digest('hex'));
  assert.match(clusterFingerprint(pem), /^[0-9a-f]{64}$/);
});

test('CRLF, trailing spaces and a missing final newline do not change the fingerprint', () => {
  const f = clusterFingerprint(pem);
  assert.equal(clusterFingerprint(pem.replace(/\n/g, '\r\n')), f);
  assert.equal(clusterFingerprint(pem.trimEnd()), f);
  assert.equal(clusterFingerprint(pem.replace(/\n/g, '  \n')), f);
});

test('a different CA gives a different fingerprint', () => {
  assert.notEqual(clusterFingerprint(pem.replace('EXAMPLE', 'EXAMPLF')), clusterFingerprint(pem));
});

test('a truncated read is recognisable before hashing', () => {
  assert.equal(looksLikePemCertificate(pem), true);
  assert.equal(looksLikePemCertificate(pem.slice(0, 100)), false);
});
