/** M6 attack tests: login backoff per username and per address, the scrypt cap, password strength. */
import { requires, tempDir, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestApp } from '../testing.ts';
import { loadConfig } from '../config.ts';
import { createKyselyStorage } from '../storage/kysely-storage.ts';
import { DIALECTS } from '../storage/testing.ts';
import type { Storage } from '../storage/storage.ts';
import { createLoginThrottle, createSemaphore, passwordProblem } from './login-guard.ts';

const ADMIN_PASSWORD = 'admin-password-1';

test('after 5 wrong passwords for a name, even the right one waits (429, Retry-After, envelope)', async (t) => {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const a = await makeTestApp({ adminPassword: ADMIN_PASSWORD }, { now: () => new Date(clock) });
  t.after(() => a.app.close());
  const login = (username: string, password: string, ip = '127.0.0.1') =>
    a.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username, password },
      remoteAddress: ip,
    });
  for (let i = 0; i < 5; i++) assert.equal((await login('admin', `wrong-${i}`)).statusCode, 401);
  const locked = await login('ADMIN', ADMIN_PASSWORD, '127.0.0.2');
  assert.equal(locked.statusCode, 429);
  assert.equal(locked.json().error, 'rate_limited');
  assert.equal(locked.json().success, false);
  assert.ok(Number(locked.headers['retry-after']) >= 1);
  // the wait passes: the right password works and clears the count
  clock += 2000;
  assert.equal((await login('admin', ADMIN_PASSWORD)).statusCode, 200);
  // the waits double: after the 6th failure the wait is 2 s, so 1.5 s later it still holds
  for (let i = 0; i < 5; i++) assert.equal((await login('admin', 'nope')).statusCode, 401);
  clock += 1100;
  assert.equal((await login('admin', 'nope')).statusCode, 401);
  clock += 1500;
  assert.equal((await login('admin', ADMIN_PASSWORD)).statusCode, 429);
  clock += 600;
  assert.equal((await login('admin', ADMIN_PASSWORD)).statusCode, 200);
});

test('a guesser cannot lock the admin out of a browser that logged in before (device cookie); others still wait', async (t) => {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const a = await makeTestApp({ adminPassword: ADMIN_PASSWORD }, { now: () => new Date(clock) });
  t.after(() => a.app.close());
  const login = (username: string, password: string, ip: string, device?: string) =>
    a.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username, password },
      remoteAddress: ip,
      ...(device ? { cookies: { nannyapi_device: device } } : {}),
    });
  const first = await login('admin', ADMIN_PASSWORD, '127.0.0.1');
  assert.equal(first.statusCode, 200);
  const cookie = first.cookies.find((c) => c.name === 'nannyapi_device');
  assert.ok(cookie, 'a successful login sets the device cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/api/auth');
  // the guesser, from addresses of its own, keeps the username's backoff running: 5 free failures,
  // then 429s (each refusal before scrypt)
  const guesses: number[] = [];
  for (let i = 0; i < 12; i++) guesses.push((await login('admin', `wrong-${i}`, `127.0.1.${i}`)).statusCode);
  assert.deepEqual(guesses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
  // a browser without the cookie waits like the guesser...
  assert.equal((await login('admin', ADMIN_PASSWORD, '127.0.0.1')).statusCode, 429);
  // ...the admin's browser does not
  const known = await login('admin', ADMIN_PASSWORD, '127.0.0.1', cookie.value);
  assert.equal(known.statusCode, 200, known.body);
  // the cookie names its user: for another name (or forged, or expired) it is ignored
  assert.equal(
    (await login('admin', 'wrong', '127.0.0.1', `${cookie.value.slice(0, -2)}AA`)).statusCode,
    429,
  );
  clock += 181 * 86_400_000; // past the cookie's lifetime and every wait
  for (let i = 0; i < 5; i++) await login('admin', `late-${i}`, `127.0.2.${i}`);
  assert.equal((await login('admin', ADMIN_PASSWORD, '127.0.0.1', cookie.value)).statusCode, 429);
  // wrong passwords from the known browser count against that browser only, not the username's other browsers
  clock += 16 * 60_000; // the username's wait is over
  const again = await login('admin', ADMIN_PASSWORD, '127.0.0.1');
  assert.equal(again.statusCode, 200, again.body);
  const fresh = again.cookies.find((c) => c.name === 'nannyapi_device')!.value;
  for (let i = 0; i < 5; i++)
    assert.equal((await login('admin', `mine-${i}`, '127.0.0.1', fresh)).statusCode, 401);
  assert.equal(
    (await login('admin', ADMIN_PASSWORD, '127.0.0.1', fresh)).statusCode,
    429,
    'this browser waits',
  );
  assert.equal((await login('admin', ADMIN_PASSWORD, '127.0.0.3')).statusCode, 200, 'the username does not');
});

test('one address guessing many names is slowed down too', async (t) => {
  const a = await makeTestApp({ adminPassword: ADMIN_PASSWORD });
  t.after(() => a.app.close());
  const statuses: number[] = [];
  for (let i = 0; i < 22; i++) {
    const r = await a.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: `user${i}`, password: 'guess' },
      remoteAddress: '127.0.0.9',
    });
    statuses.push(r.statusCode);
  }
  assert.equal(statuses.filter((s) => s === 401).length, 20);
  assert.equal(statuses.at(-1), 429);
  // another address is not affected
  const other = await a.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { username: 'admin', password: ADMIN_PASSWORD },
    remoteAddress: '127.0.0.10',
  });
  assert.equal(other.statusCode, 200);
});

test('concurrent scrypt work is capped: the excess answers 503 at once', async (t) => {
  const a = await makeTestApp({ adminPassword: ADMIN_PASSWORD, loginConcurrency: 1 });
  t.after(() => a.app.close());
  const rs = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      a.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: `n${i}`, password: 'whatever-guess' },
        remoteAddress: `127.0.1.${i}`,
      }),
    ),
  );
  const codes = rs.map((r) => r.statusCode);
  assert.ok(codes.includes(401), codes.join());
  const busy = rs.filter((r) => r.statusCode === 503);
  assert.ok(busy.length > 0, codes.join());
  assert.equal(busy[0]!.json().error, 'unavailable');
  assert.equal(busy[0]!.headers['retry-after'], '1');
});

test('weak new passwords are refused; a good one is taken', async (t) => {
  const a = await makeTestApp({ adminPassword: ADMIN_PASSWORD });
  t.after(() => a.app.close());
  const r = await a.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { username: 'admin', password: ADMIN_PASSWORD },
  });
  const cookie = `nannyapi_session=${r.cookies.find((c) => c.name === 'nannyapi_session')!.value}`;
  const change = (new_password: string) =>
    a.app.inject({
      method: 'POST',
      url: '/api/auth/password',
      headers: { cookie },
      payload: { current_password: ADMIN_PASSWORD, new_password },
    });
  for (const weak of [
    'aaaaaaaa',
    'aaaaaaaaaaaaaaaa',
    'password1234',
    'Admin2024!!!!',
    'abcabcabcabc',
    '123456789012',
  ]) {
    const w = await change(weak);
    assert.equal(w.statusCode, 400, weak);
    assert.equal(w.json().error, 'invalid_request');
  }
  assert.equal((await change('plum tractor violet 7')).statusCode, 200);
});

test('passwordProblem rules', () => {
  assert.match(passwordProblem('aaaaaaaa', 'x')!, /12 characters/);
  assert.ok(passwordProblem('operator-2024', 'operator'));
  assert.ok(passwordProblem('qwertyuiop12', 'x'));
  assert.ok(passwordProblem('xyxyxyxyxyxy', 'x'));
  assert.equal(passwordProblem('plum tractor violet 7', 'admin'), null);
});

test('a weak NANNYAPI_ADMIN_PASSWORD is a clear settings error that does not echo it', () => {
  const { errors } = loadConfig({ NANNYAPI_ADMIN_PASSWORD: 'password1234' });
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /NANNYAPI_ADMIN_PASSWORD: too weak/);
  assert.ok(!errors[0]!.includes('password1234'));
  assert.deepEqual(loadConfig({ NANNYAPI_ADMIN_PASSWORD: 'admin-password-1' }).errors, []);
});

test('throttle and semaphore units', async (t) => {
  let now = 0;
  const store = await createKyselyStorage({ sqliteFile: ':memory:' });
  t.after(() => store.close());
  const th = createLoginThrottle({ now: () => new Date(now), store, userFreeFailures: 2, baseDelayMs: 1000 });
  await th.failed('u', 'a');
  assert.equal(await th.retryAfter('u', 'b'), 0);
  await th.failed('u', 'a');
  assert.equal(await th.retryAfter('u', 'b'), 1);
  await th.failed('u', 'a');
  assert.equal(await th.retryAfter('u', 'b'), 2);
  await th.succeeded('u');
  assert.equal(await th.retryAfter('u', 'b'), 0);
  const s = createSemaphore(1);
  const rel = s.tryAcquire();
  assert.ok(rel);
  assert.equal(s.tryAcquire(), null);
  rel();
  rel();
  assert.ok(s.tryAcquire());
  now += 1;
});

for (const d of DIALECTS) {
  test(`two replicas on one database share the login backoff (${d.name})`, async (t) => {
    let opened: Awaited<ReturnType<typeof d.open>>;
    let second: Storage;
    if (d.name === 'sqlite') {
      // a file both processes open (an in-memory database is one connection's own)
      const file = join(tempDir(t, 'nanny-login-'), 'nannyapi.db');
      const first = await createKyselyStorage({ sqliteFile: file });
      opened = { storage: first, cleanup: () => first.close() };
      second = await createKyselyStorage({ sqliteFile: file });
    } else {
      opened = await d.open();
      if (!requires(t, 'postgres', opened !== undefined, d.skipReason) || !opened) return;
      second = await createKyselyStorage({
        databaseUrl: opened.databaseUrl,
        pgSchema: opened.pgSchema,
        pgPoolSize: 2,
      });
    }
    t.after(opened.cleanup);
    t.after(() => second.close());
    const clock = Date.parse('2026-01-01T00:00:00Z');
    const one = await makeTestApp(
      { adminPassword: ADMIN_PASSWORD },
      { storage: opened.storage, now: () => new Date(clock) },
    );
    t.after(() => one.app.close());
    const two = await makeTestApp(
      { adminPassword: ADMIN_PASSWORD },
      { storage: second, now: () => new Date(clock) },
    );
    t.after(() => two.app.close());
    const login = (app: typeof one, password: string, ip: string) =>
      app.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: 'admin', password },
        remoteAddress: ip,
      });
    // Guesses spread over both replicas (and over addresses) add up to one count for the name.
    for (let i = 0; i < 5; i++)
      assert.equal((await login(i % 2 ? one : two, `wrong-${i}`, `127.0.0.${10 + i}`)).statusCode, 401);
    for (const app of [one, two]) {
      const r = await login(app, ADMIN_PASSWORD, '127.0.0.99');
      assert.equal(r.statusCode, 429, r.body);
      assert.equal(r.json().error, 'rate_limited');
    }
  });
}

test('the failure table stays bounded: counts older than the longest wait are deleted', async (t) => {
  const store = await createKyselyStorage({ sqliteFile: ':memory:' });
  t.after(() => store.close());
  const window = 15 * 60_000;
  for (let i = 0; i < 50; i++)
    await store.recordLoginFailure([`u:guess${i}`, 'a:198.51.100.7'], 1000 + i, window);
  assert.equal((await store.loginFailures(['u:guess0', 'u:guess49'])).size, 2);
  // a failure after the window: the old rows go, the address's count starts again
  await store.recordLoginFailure(['u:late', 'a:198.51.100.7'], 1000 + window + 60_000, window);
  const left = await store.loginFailures([
    ...Array.from({ length: 50 }, (_, i) => `u:guess${i}`),
    'u:late',
    'a:198.51.100.7',
  ]);
  assert.deepEqual([...left.keys()].sort(), ['a:198.51.100.7', 'u:late']);
  assert.equal(left.get('a:198.51.100.7')?.failures, 1);
});

test('NANNYAPI_ADMIN_PASSWORD_FILE: read without its newline; weak, empty, missing or doubled are errors', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nanny-pwfile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'pw');
  writeFileSync(file, 'plum tractor violet 7\n', { mode: 0o600 });
  const ok = loadConfig({ NANNYAPI_ADMIN_PASSWORD_FILE: file });
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.config.adminPassword, 'plum tractor violet 7');
  writeFileSync(file, 'password1234\n');
  assert.match(
    loadConfig({}, { 'admin-password-file': file }).errors.join(),
    /--admin-password-file: too weak/,
  );
  assert.match(loadConfig({ NANNYAPI_ADMIN_PASSWORD_FILE: join(dir, 'nope') }).errors.join(), /cannot read/);
  assert.match(
    loadConfig({
      NANNYAPI_ADMIN_PASSWORD_FILE: file,
      NANNYAPI_ADMIN_PASSWORD: 'plum tractor violet 7',
    }).errors.join(),
    /not both/,
  );
});
