import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { siteKey, type ReportingAgent } from './site.ts';

const FP = 'a'.repeat(64);
const fresh: ReportingAgent = { id: 'ag1', cluster_id: null, cluster_name: null, cluster_fingerprint: null };

test('the fingerprint identifies the site, whatever the name says', () => {
  assert.deepEqual(siteKey('node', { cluster_fingerprint: FP, cluster_name: 'prod' }, fresh, 'n1'), {
    key: `fp:${FP}`,
    name: 'prod',
    clustered: true,
  });
  // a node report with only a fingerprint is a standalone node named after itself
  assert.deepEqual(siteKey('node', { cluster_fingerprint: FP }, fresh, 'n1'), {
    key: `fp:${FP}`,
    name: 'n1',
    clustered: false,
  });
  // a cluster report is clustered even without a name
  assert.equal(
    (siteKey('cluster', { cluster_fingerprint: FP }, fresh, 'n1') as { clustered: boolean }).clustered,
    true,
  );
});

test('without a fingerprint the cluster name is the key; the literal cluster_id never is', () => {
  assert.deepEqual(siteKey('cluster', { cluster_name: 'prod', cluster_id: 'cluster' }, fresh, 'n1'), {
    key: 'name:prod',
    name: 'prod',
    clustered: true,
  });
  assert.deepEqual(siteKey('node', { cluster_id: 'cluster' }, fresh, 'n1'), {
    key: 'agent:ag1',
    name: 'n1',
    clustered: false,
  });
});

test('a report that names no cluster follows the agent: bound site, then its registration, then itself', () => {
  assert.deepEqual(siteKey('lxc', {}, { ...fresh, cluster_id: 'site-1', cluster_name: 'x' }, 'n1'), {
    boundId: 'site-1',
  });
  assert.deepEqual(siteKey('lxc', {}, { ...fresh, cluster_fingerprint: FP }, 'n1'), {
    key: `fp:${FP}`,
    name: 'n1',
    clustered: false,
  });
  assert.deepEqual(siteKey('lxc', {}, { ...fresh, cluster_name: 'reg' }, 'n1'), {
    key: 'name:reg',
    name: 'reg',
    clustered: true,
  });
  assert.deepEqual(siteKey('qemu', { cluster_name: '' }, fresh, 'n1'), {
    key: 'agent:ag1',
    name: 'n1',
    clustered: false,
  });
});
