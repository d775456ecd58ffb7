import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { test, waitFor } from '@nanny/testing';
import type { TestContext } from 'node:test';
import { SPEC, makeTestApp, type TestApp } from '../testing.ts';
import { alertServiceOf } from '../alerts/module.ts';
import { createLiveHub, type LiveClient } from './hub.ts';

function fakeClient(tenantId: string, userKey: string, accept = () => true) {
  const got: string[] = [];
  let ended = false;
  const c: LiveClient = {
    tenantId,
    userKey,
    write: (chunk) => {
      got.push(chunk);
      return accept();
    },
    end: () => {
      ended = true;
    },
  };
  return { c, got, ended: () => ended };
}

describe('live hub', () => {
  test('coalesces a burst of ingest into one change per tenant, and only for that tenant', async () => {
    const hub = createLiveHub({ maxPerUser: 3, coalesceMs: 20, heartbeatMs: 60_000 });
    const a = fakeClient('t1', 'u1');
    const b = fakeClient('t2', 'u2');
    hub.add(a.c);
    hub.add(b.c);
    for (let i = 0; i < 500; i++) hub.note('t1', { kind: 'lxc', clusterId: 'c1', events: [] });
    hub.note('t1', { kind: 'node', clusterId: 'c1', nodeId: 'n1', events: ['rebooted'] });
    await waitFor(() => a.got.length === 1, { what: 'one change frame' });
    const frame = a.got[0] ?? '';
    assert.match(frame, /^event: change\ndata: /);
    const data = JSON.parse(frame.split('data: ')[1] ?? '{}') as Record<string, unknown>;
    assert.deepEqual(data, {
      kinds: ['lxc', 'node'],
      clusters: ['c1'],
      nodes: ['n1'],
      guests: 500,
      events: ['rebooted'],
    });
    assert.equal(b.got.length, 0, 'another tenant hears nothing');
    hub.close();
    assert.ok(a.ended() && b.ended());
  });

  test('a stalled stream is skipped until it drains, then gets one resync', async () => {
    const hub = createLiveHub({ maxPerUser: 3, coalesceMs: 5, heartbeatMs: 60_000 });
    let full = true;
    const slow = fakeClient('t1', 'u1', () => !full);
    hub.add(slow.c);
    hub.note('t1', { kind: 'node', clusterId: 'c', nodeId: 'n', events: [] });
    await waitFor(() => slow.got.length === 1, { what: 'first frame' });
    hub.note('t1', { kind: 'node', clusterId: 'c', nodeId: 'n', events: [] });
    hub.note('t1', { kind: 'qemu', clusterId: 'c', events: [] });
    // two more windows pass: nothing is written to the stalled socket
    const probe = fakeClient('t1', 'u2');
    hub.add(probe.c);
    hub.note('t1', { kind: 'node', clusterId: 'c', nodeId: 'n', events: [] });
    await waitFor(() => probe.got.length >= 1, { what: 'the healthy stream got its frame' });
    assert.equal(slow.got.length, 1);
    full = false;
    hub.drained(slow.c);
    assert.equal(slow.got.length, 2);
    assert.match(slow.got[1] ?? '', /^event: resync/);
    hub.close();
  });

  test('a user holds at most maxPerUser streams: the oldest is closed', () => {
    const hub = createLiveHub({ maxPerUser: 2, coalesceMs: 5, heartbeatMs: 60_000 });
    const s = [1, 2, 3].map(() => fakeClient('t1', 'u1'));
    for (const x of s) hub.add(x.c);
    assert.deepEqual(
      s.map((x) => x.ended()),
      [true, false, false],
    );
    assert.equal(hub.count(), 2);
    hub.close();
  });
});

describe('GET /api/stream', () => {
  test('refuses a request without a session', async (t) => {
    const app = await makeTestApp();
    t.after(() => app.app.close());
    const r = await app.app.inject({ method: 'GET', url: '/api/stream' });
    assert.equal(r.statusCode, 401);
    assert.equal(r.json<{ success: boolean }>().success, false);
  });

  test('a logged-in user hears a node report of their tenant as a change event', async (t) => {
    const app = await makeTestApp({ adminPassword: 'live-password-1' });
    t.after(() => app.app.close());
    const stream = await openStream(t, app, 'live-password-1');
    const { access } = await app.register('pve-node-01');
    const r = await app.post('/api/proxmox/node', access, { ...SPEC.node, name: 'pve-node-01' });
    assert.equal(r.status, 200);
    await waitFor(() => /event: change\ndata: \{[^\n]*"kinds":\["node"\]/.test(stream.text()), {
      what: 'a change event',
    });
  });

  test('an alert the timer fires, with no report arriving, reaches the stream through the change feed', async (t) => {
    let clock = Date.parse('2026-03-01T10:00:00Z');
    const app = await makeTestApp({ adminPassword: 'live-password-2' }, { now: () => new Date(clock) });
    t.after(() => app.app.close());
    const { access } = await app.register('pve-quiet');
    const r = await app.post('/api/proxmox/node', access, {
      ...SPEC.node,
      name: 'pve-quiet',
      interval_seconds: 60,
    });
    assert.equal(r.status, 200);
    const svc = alertServiceOf(app.app.nanny.modules)!;
    await svc.flush();
    const stream = await openStream(t, app, 'live-password-2');
    assert.doesNotMatch(stream.text(), /"kinds":\["alert"\]/);
    clock += 10 * 60_000;
    await svc.tick();
    await waitFor(() => /event: change\ndata: \{[^\n]*"kinds":\["alert"\]/.test(stream.text()), {
      what: 'the agent_silent alert as a change',
    });
    const firing = await app.app.inject({
      method: 'GET',
      url: '/api/alerts?state=firing',
      headers: stream.auth,
    });
    assert.deepEqual(
      firing.json<{ data: { rule: string }[] }>().data.map((a) => a.rule),
      ['agent_silent'],
    );
  });
});

/** Logs in over HTTP and opens /api/stream; returns the text read so far and the session cookie. */
async function openStream(t: TestContext, app: TestApp, password: string) {
  await app.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.app.server.address();
  assert.ok(addr && typeof addr === 'object');
  const base = `http://127.0.0.1:${addr.port}`;
  const login = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  assert.equal(login.status, 200);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const ac = new AbortController();
  const res = await fetch(`${base}/api/stream`, { headers: { cookie }, signal: ac.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  let text = '';
  const reading = (async () => {
    const dec = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += dec.decode(value, { stream: true });
    }
  })().catch(() => undefined);
  t.after(async () => {
    ac.abort();
    await reading;
  });
  await waitFor(() => text.includes(': connected'), { what: 'the stream opened' });
  return { text: () => text, auth: { cookie } };
}
