import assert from 'node:assert/strict';
import { test } from '@nanny/testing';
import { DEVICE_TTL_DAYS, createDeviceCookies } from './device-cookie.ts';

test('a device cookie is valid for its user only, until it expires, and only with the server key', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  const devices = createDeviceCookies('server-secret-1');
  const { value, expires } = devices.issue('admin', now);
  assert.equal(expires.getTime(), now + DEVICE_TTL_DAYS * 86_400_000);
  const id = devices.verify(value, 'admin', now);
  assert.ok(id, 'valid for its user');
  assert.equal(
    devices.verify(value, 'ADMIN', now + 1000),
    id,
    'usernames match case-insensitively, as logins do',
  );
  assert.equal(devices.verify(value, 'bob', now), undefined, 'not for another user');
  assert.equal(devices.verify(value, 'admin', expires.getTime()), undefined, 'not after it expires');
  assert.equal(
    createDeviceCookies('another-secret').verify(value, 'admin', now),
    undefined,
    'not with another key',
  );
  const [devId, exp, mac] = value.split('.') as [string, string, string];
  assert.equal(
    devices.verify(`${devId}.${Number(exp) + 86_400}.${mac}`, 'admin', now),
    undefined,
    'expiry is signed',
  );
  for (const junk of [undefined, '', 'x', `${value}.x`, 'a'.repeat(300), `${devId}..${mac}`])
    assert.equal(devices.verify(junk, 'admin', now), undefined, `refused: ${String(junk).slice(0, 20)}`);
  assert.notEqual(devices.issue('admin', now).value, value, 'each login gets a new device id');
});
