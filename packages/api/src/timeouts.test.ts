/**
 * M4 attack tests on a real listening server (loopback only): slow bodies, slow headers and a flood
 * of connections from one address are cut, and the server still answers afterwards.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { makeTestApp } from './testing.ts';
import type { ApiConfig } from './config.ts';

async function listening(tt: { after(fn: () => unknown): void }, overrides: Partial<ApiConfig>) {
  const t = await makeTestApp(overrides);
  tt.after(() => t.app.close());
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  return (t.app.server.address() as AddressInfo).port;
}

interface Probe {
  socket: Socket;
  /** resolves with the ms from open to close, and what the server wrote */
  closed: Promise<{ afterMs: number; data: string }>;
}

function open(port: number, tt: { after(fn: () => unknown): void }): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port });
    tt.after(() => socket.destroy());
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('error', () => undefined);
    const closed = new Promise<{ afterMs: number; data: string }>((done) =>
      socket.once('close', () => done({ afterMs: Date.now() - started, data })),
    );
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

/** resolves true when p settled within ms, false otherwise */
const within = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);

async function healthz(port: number): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
  await r.arrayBuffer();
  return { status: r.status, ms: Date.now() - started };
}

test('120 slow-body connections from one address: the ones over the cap are cut at once, the rest at the request timeout, then the server answers', async (tt) => {
  const port = await listening(tt, {
    maxConnectionsPerAddress: 16,
    requestTimeoutMs: 3000,
    headersTimeoutMs: 2000,
    keepAliveTimeoutMs: 1000,
  });
  const probes: Probe[] = [];
  for (let i = 0; i < 120; i++) {
    const p = await open(port, tt);
    // a body announced and never finished
    p.socket.write(
      'POST /api/agent/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
    );
    probes.push(p);
  }
  const quick = await Promise.all(probes.map((p) => within(p.closed, 1000)));
  const cutAtOnce = quick.filter(Boolean).length;
  assert.ok(cutAtOnce >= 120 - 16, `over-cap connections closed at once: ${cutAtOnce}`);
  // the ones within the cap are slow bodies: the request timeout ends them (without it: never)
  const all = await Promise.all(probes.map((p) => within(p.closed, 10_000)));
  assert.equal(all.filter(Boolean).length, 120, 'every slow-body connection was closed');
  const h = await healthz(port);
  assert.equal(h.status, 200);
  assert.ok(h.ms < 2000, `healthz after the attack took ${h.ms} ms`);
});

test('a client sending its headers byte by byte is closed after the header timeout', async (tt) => {
  const port = await listening(tt, {
    maxConnectionsPerAddress: 0,
    requestTimeoutMs: 5000,
    headersTimeoutMs: 600,
    keepAliveTimeoutMs: 5000,
  });
  const p = await open(port, tt);
  const request = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(200) + '\r\n\r\n';
  let sent = 0;
  const drip = setInterval(() => {
    if (sent < request.length && !p.socket.destroyed) p.socket.write(request[sent++]!);
  }, 50);
  tt.after(() => clearInterval(drip));
  const done = await within(p.closed, 4000);
  clearInterval(drip);
  assert.ok(done, 'the slow-header connection was closed');
  const { afterMs, data } = await p.closed;
  assert.ok(sent < request.length, `closed before the headers were complete (${sent} bytes sent)`);
  assert.ok(afterMs < 3000, `closed after ${afterMs} ms`);
  assert.match(data, /^HTTP\/1\.1 408/);
  // the server itself is fine
  assert.equal((await healthz(port)).status, 200);
});

test('an idle keep-alive connection is closed after the keep-alive timeout', async (tt) => {
  const port = await listening(tt, {
    maxConnectionsPerAddress: 0,
    requestTimeoutMs: 5000,
    headersTimeoutMs: 1000,
    keepAliveTimeoutMs: 300,
  });
  const p = await open(port, tt);
  p.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  assert.ok(await within(p.closed, 3000), 'idle connection closed');
  assert.match((await p.closed).data, /^HTTP\/1\.1 200/);
});

test('the connection cap: sockets over it are closed unread, and a request works once they are gone', async (tt) => {
  const port = await listening(tt, { maxConnectionsPerAddress: 3 });
  const held = [await open(port, tt), await open(port, tt), await open(port, tt)];
  const over = await open(port, tt);
  assert.ok(await within(over.closed, 1000), 'the fourth socket is closed');
  assert.equal((await over.closed).data, '', 'nothing was answered on it');
  for (const h of held) assert.equal(await within(h.closed, 100), false, 'sockets within the cap stay open');
  for (const h of held) h.socket.destroy();
  await Promise.all(held.map((h) => h.closed));
  // the count went down as they closed: a new request is served
  assert.equal((await healthz(port)).status, 200);
});
