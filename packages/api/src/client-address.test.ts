/**
 * Issue 13 re-attack (M4, M6, rate limits): an IPv6 client owns a /64 and can send every request
 * from a new address in it. Per-address limits must count the /64, or each address is a fresh
 * bucket: no rate limit, no login backoff, no connection cap.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:net';
import { clientKey } from './client-address.ts';
import { limitConnectionsPerAddress } from './hardening.ts';
import { makeTestApp } from './testing.ts';

/** the i-th address of one /64, spelt as a client would pick it */
const inPrefix = (i: number) => `2001:db8:aa:bb:${(i + 1).toString(16)}:${i}::${i + 7}`;

test('clientKey: IPv4 as is, IPv4-mapped as IPv4, IPv6 by its /64 in any spelling', () => {
  assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('::ffff:c000:207'), '192.0.2.7');
  assert.equal(clientKey('2001:db8:aa:bb::1'), '2001:db8:aa:bb::/64');
  assert.equal(clientKey('2001:0db8:00aa:00bb:ffff:1:2:3'), '2001:db8:aa:bb::/64');
  assert.equal(clientKey('2001:db8:aa:bb:1::%eth0'), '2001:db8:aa:bb::/64');
  assert.notEqual(clientKey('2001:db8:aa:bc::1'), clientKey('2001:db8:aa:bb::1'));
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
  assert.equal(clientKey('not an address'), 'not an address');
});

test('the per-address rate limit counts an IPv6 client per /64', async (t) => {
  const a = await makeTestApp({ rateLimitIp: 5 });
  t.after(() => a.app.close());
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await a.app.inject({ method: 'GET', url: '/api/clusters', remoteAddress: inPrefix(i) });
    statuses.push(r.statusCode);
  }
  // before: eight addresses, eight buckets, no 429
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
  // another /64 is another client
  const other = await a.app.inject({ method: 'GET', url: '/api/clusters', remoteAddress: '2001:db8:cc::1' });
  assert.equal(other.statusCode, 401);
});

test('the login backoff per address counts an IPv6 client per /64', async (t) => {
  const a = await makeTestApp({ adminPassword: 'admin-password-1' });
  t.after(() => a.app.close());
  const statuses: number[] = [];
  for (let i = 0; i < 22; i++) {
    const r = await a.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: `user${i}`, password: 'guess' },
      remoteAddress: inPrefix(i),
    });
    statuses.push(r.statusCode);
  }
  // 20 free failures per address, then waits: as from one IPv4 address
  assert.equal(statuses.filter((s) => s === 401).length, 20);
  assert.equal(statuses.at(-1), 429);
});

test('the connection cap counts an IPv6 client per /64', () => {
  const server = new EventEmitter();
  limitConnectionsPerAddress(server as unknown as Server, 3);
  const sockets = Array.from({ length: 5 }, (_, i) => {
    const s = Object.assign(new EventEmitter(), {
      remoteAddress: inPrefix(i),
      destroyed: false,
      destroy() {
        this.destroyed = true;
      },
    });
    server.emit('connection', s);
    return s;
  });
  assert.deepEqual(
    sockets.map((s) => s.destroyed),
    [false, false, false, true, true],
  );
  // one closes: a new connection from the /64 fits again
  sockets[0]!.emit('close');
  const next = Object.assign(new EventEmitter(), {
    remoteAddress: inPrefix(9),
    destroyed: false,
    destroy() {},
  });
  server.emit('connection', next);
  assert.equal(next.destroyed, false);
});
