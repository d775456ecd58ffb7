import { after, before, describe } from 'node:test';
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp, SPEC, type TestApp } from '../testing.ts';

describe('ingest endpoints', () => {
  let t: TestApp;
  let token: string;
  before(async () => {
    t = await makeTestApp();
    token = (await t.register()).access;
  });
  after(async () => t.app.close());

  for (const kind of ['cluster', 'node', 'lxc', 'qemu'] as const) {
    test(`the spec's ${kind} body is answered with the spec's success envelope`, async () => {
      const r = await t.post(`/api/proxmox/${kind}`, token, SPEC[kind]);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { success: true, message: 'Data ingested successfully' });
    });
  }

  test('a string vmid is a 400 naming the field, not coerced', async () => {
    const r = await t.post('/api/proxmox/lxc', token, { ...SPEC.lxc, vmid: '100' });
    assert.equal(r.status, 400);
    assert.equal(r.json['success'], false);
    assert.equal(r.json['error'], 'invalid_request');
    assert.match(String(r.json['error_description']), /vmid/);
  });

  test('a missing required field is named', async () => {
    const { node: _n, ...body } = SPEC.lxc;
    const r = await t.post('/api/proxmox/lxc', token, body);
    assert.equal(r.status, 400);
    assert.match(String(r.json['error_description']), /node/);
  });

  test('malformed JSON is invalid_request in the envelope', async () => {
    const r = await t.post('/api/proxmox/node', token, '{"name": ');
    assert.equal(r.status, 400);
    assert.deepEqual(Object.keys(r.json).sort(), ['error', 'error_description', 'success']);
    assert.equal(r.json['error'], 'invalid_request');
  });

  test('quorate 0, online 0 and empty strings are data, not errors', async () => {
    assert.equal((await t.post('/api/proxmox/cluster', token, { ...SPEC.cluster, quorate: 0 })).status, 200);
    assert.equal(
      (await t.post('/api/proxmox/node', token, { ...SPEC.node, online: 0, level: '', ip: '' })).status,
      200,
    );
  });

  test('upstream aliases are accepted', async () => {
    // The agent's own node (it is bound to pve-node-01 by its first report, issue 13 M2).
    const r = await t.post('/api/proxmox/node', token, {
      name: 'pve-node-01',
      nodeid: 2,
      pveversion: 'pve-manager/8.2.2/x',
      online: 1,
    });
    assert.equal(r.status, 200);
    const c = await t.post('/api/proxmox/cluster', token, {
      name: 'production-cluster',
      px_cluster_id: 'cluster',
      nodes: 3,
      quorate: 1,
    });
    assert.equal(c.status, 200);
  });

  test('no token, a bad token and a forged token are 401 unauthorized', async () => {
    const none = await t.app.inject({ method: 'POST', url: '/api/proxmox/lxc', payload: SPEC.lxc });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error, 'unauthorized');
    assert.equal((await t.post('/api/proxmox/lxc', 'garbage', SPEC.lxc)).status, 401);
    const [h, b] = token.split('.');
    assert.equal((await t.post('/api/proxmox/lxc', `${h}.${b}.AAAA`, SPEC.lxc)).status, 401);
  });

  test('unknown routes are 404 in the envelope', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/api/nope' });
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().error, 'not_found');
  });
});

describe('ingest listeners', () => {
  test('a throwing listener is logged and never fails the request; the next listener still runs', async () => {
    const seen: string[] = [];
    const t = await makeTestApp(
      {},
      {
        listeners: [
          {
            name: 'broken',
            afterIngest: () => {
              throw new Error('boom');
            },
          },
          { name: 'ok', afterIngest: (r) => void seen.push(r.kind) },
        ],
      },
    );
    try {
      const token = (await t.register()).access;
      const r = await t.post('/api/proxmox/node', token, SPEC.node);
      assert.equal(r.status, 200);
      await t.app.nanny.committer.drain();
      assert.deepEqual(seen, ['node']);
    } finally {
      await t.app.close();
    }
  });
});
