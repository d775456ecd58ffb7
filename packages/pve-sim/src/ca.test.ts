import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { clusterCaPem, issueNodeCertPem } from './ca.ts';

test('every issued certificate is valid DER whatever its serial (no leading-zero INTEGER)', () => {
  const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
    format: 'der',
    type: 'spki',
  });
  // 600 different serials: with a 1-in-256 chance per serial of a zero first byte, the old
  // encoding failed here almost surely.
  for (let i = 0; i < 600; i++) {
    const ca = new X509Certificate(clusterCaPem(i, 1_700_000_000));
    const node = new X509Certificate(issueNodeCertPem(i, `pve${i}`, ['10.0.0.1'], spki, 1_700_000_000 + i));
    assert.ok(node.verify(ca.publicKey), `node certificate ${i} is signed by its CA`);
  }
});
