/**
 * SSRF through notification channels (issue 13, H1) and the SMTP/userinfo "Low" items: attack tests.
 *
 * Refusals must happen before any socket exists, so every test watches `net.Socket.prototype.connect`
 * (both net.connect and tls.connect go through it). Names are mapped to addresses by an injected
 * resolver; a connect to anything but loopback is intercepted by the spy and never reaches the
 * network, so these tests only ever really connect to 127.0.0.1.
 */
import { requires, test } from '@nanny/testing';
import { after, afterEach, before, beforeEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net, { type AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createNotifiers, NOTIFIERS } from './channels/index.ts';
import { classify, createAddressGuard, parseCidrs } from './guard.ts';
import { testNotification } from './message.ts';
import { createOutbound, type Resolver } from './outbound.ts';
import { startHttpReceiver, type HttpReceiver } from './testing.ts';
import { CHANNEL_TYPES, DeliveryError, type ChannelConfig, type ChannelType } from './types.ts';

const LOOPBACK = ['127.0.0.0/8', '::1/128'];
const opts = { idempotencyKey: 'k', timeoutMs: 3000 };
const note = testNotification('ops', Date.parse('2026-11-25T10:00:00Z'));

let http: HttpReceiver;
before(async () => {
  http = await startHttpReceiver();
});
after(() => http.close());

/** Every connect() attempt; non-loopback targets fail at once without touching the network. */
let connects: string[] = [];
/** where to send a connect aimed at a (pretend) public address instead: a loopback port */
let redirectPublicTo: number | undefined;
beforeEach(() => {
  connects = [];
  redirectPublicTo = undefined;
  const original = net.Socket.prototype.connect;
  mock.method(net.Socket.prototype, 'connect', function (this: net.Socket, ...args: unknown[]) {
    // net.connect hands over its normalised [options, callback] array
    const first = args[0];
    const o = (Array.isArray(first) ? first[0] : first) as { host?: string; port?: number };
    connects.push(`${o.host}:${o.port}`);
    const local = o.host === '127.0.0.1' || o.host === '::1';
    if (!local && redirectPublicTo !== undefined) {
      o.host = '127.0.0.1';
      o.port = redirectPublicTo;
    } else if (!local) {
      process.nextTick(() =>
        this.destroy(Object.assign(new Error('blocked by the test'), { code: 'ECONNREFUSED' })),
      );
      return this;
    }
    return original.apply(this, args as Parameters<typeof original>);
  });
});
afterEach(() => mock.restoreAll());

const fakeDns =
  (table: Record<string, string[]>, calls?: string[]): Resolver =>
  async (h) => {
    calls?.push(h);
    const a = table[h];
    if (!a) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return a.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }));
  };

/** A stored config per type pointing at `host` (as an old row or a DB edit could hold it: no parse). */
function configFor(type: ChannelType, host: string, port = 80): ChannelConfig {
  const h = net.isIPv6(host) ? `[${host}]` : host;
  switch (type) {
    case 'email':
      return { host, port, secure: false, require_tls: false, from: 'a@x.test', to: ['b@x.test'] };
    case 'ntfy':
      return { url: `http://${h}:${port}/`, topic: 't' };
    case 'gotify':
      return { url: `http://${h}:${port}/`, token: 't' };
    default:
      return { url: `http://${h}:${port}/hook` };
  }
}

const refusal = (re: RegExp) => (e: unknown) =>
  e instanceof DeliveryError && !e.retryable && re.test(e.message);

test('the guard names loopback, private, CGNAT, link-local, unique-local, metadata and unspecified', () => {
  const cases: [string, string | undefined][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.0.0.5', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['::ffff:10.0.0.5', 'private'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['169.254.169.254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['64:ff9b::7f00:1', 'loopback'], // NAT64 of 127.0.0.1
    ['2002:a00:1::1', 'private'], // 6to4 of 10.0.0.1
    ['::7f00:1', 'reserved'], // IPv4-compatible
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['8.8.8.8', undefined],
    ['172.32.0.1', undefined],
    ['100.128.0.1', undefined],
    ['2606:4700:4700::1111', undefined],
    ['::ffff:8.8.8.8', undefined],
  ];
  for (const [ip, want] of cases) assert.equal(classify(ip), want, ip);
});

test('the allow-list lets its networks through, IPv4-mapped forms included, and rejects bad CIDRs', () => {
  const { cidrs, errors } = parseCidrs(['127.0.0.0/8', 'fd00::/8', '192.168.1.7']);
  assert.deepEqual(errors, []);
  const g = createAddressGuard(cidrs);
  assert.equal(g.check('127.0.0.2'), undefined);
  assert.equal(g.check('::ffff:127.0.0.2'), undefined);
  assert.equal(g.check('fd00:ec2::254'), undefined);
  assert.equal(g.check('192.168.1.7'), undefined);
  assert.equal(g.check('192.168.1.8'), '192.168.1.8 is private');
  assert.equal(g.check('::1'), '::1 is loopback');
  assert.equal(parseCidrs(['10.0.0.0/33', 'x/8', '::/129', '1.2.3.4/8/9', '10/8']).errors.length, 5);
  assert.throws(() => createOutbound({ allowedNetworks: ['nope'] }), /nope/);
});

test('internal URLs in any spelling are refused when the channel is created', () => {
  const n = createNotifiers({ allowedNetworks: [] });
  const urls = [
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0177.0.0.1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/',
    'http://10.0.0.5:8006/',
    'http://0.0.0.0:22/',
    'http://localhost:9090/',
  ];
  for (const url of urls)
    for (const type of ['webhook', 'slack', 'discord', 'ntfy', 'gotify'] as const) {
      const r = n[type].parse({ url, topic: 't', token: 't' });
      assert.equal(r.ok, false, `${type} ${url}`);
      assert.match(r.ok ? '' : r.errors.join(), /url: address not allowed: .* is /, `${type} ${url}`);
    }
  for (const host of ['127.0.0.1', '2130706433', '0x7f.1', '::1', '[::1]', 'localhost', '10.1.1.1']) {
    const r = n.email.parse({ host, from: 'a@x.test', to: 'b@x.test' });
    assert.match(r.ok ? '' : r.errors.join(), /host: address not allowed/, host);
  }
  // a public address and a name are accepted here; the name is checked again at connect time
  assert.equal(n.webhook.parse({ url: 'https://hooks.example.com/x' }).ok, true);
  assert.equal(n.webhook.parse({ url: 'http://93.184.216.34/x' }).ok, true);
  assert.equal(n.email.parse({ host: 'smtp.example.com', from: 'a@x.test', to: 'b@x.test' }).ok, true);
});

test('URLs with user:password@ are refused without echoing the password', () => {
  const n = createNotifiers({ allowedNetworks: [] });
  for (const type of ['webhook', 'slack', 'discord', 'ntfy', 'gotify'] as const) {
    const r = n[type].parse({ url: 'https://bob:hunter2@hooks.example.com/x', topic: 't', token: 't' });
    assert.equal(r.ok, false, type);
    const text = r.ok ? '' : r.errors.join();
    assert.match(text, /user name or password/);
    assert.doesNotMatch(text, /hunter2|bob/);
  }
});

test('every channel type refuses an internal address at connect time without opening a socket', async () => {
  const dns = fakeDns({
    'internal.test': ['10.0.0.5'],
    'meta.test': ['169.254.169.254'],
    'ula.test': ['fd00:ec2::254'],
    'mapped.test': ['::ffff:127.0.0.1'],
    'mixed.test': ['93.184.216.34', '192.168.0.10'],
  });
  const n = createNotifiers({ allowedNetworks: [], resolve: dns });
  const hosts = [
    'internal.test',
    'meta.test',
    'ula.test',
    'mapped.test',
    'mixed.test',
    '127.0.0.1',
    '::1',
    '169.254.169.254',
  ];
  for (const type of CHANNEL_TYPES)
    for (const host of hosts)
      await assert.rejects(
        n[type].send(configFor(type, host, 25), note, opts),
        refusal(/^address not allowed: /),
        `${type} ${host}`,
      );
  assert.deepEqual(connects, [], 'no socket was opened');
});

test('a name is refused with its class but not its internal address (no DNS oracle)', async () => {
  const n = createNotifiers({ allowedNetworks: [], resolve: fakeDns({ 'db.corp': ['10.20.30.40'] }) });
  await assert.rejects(n.webhook.send({ url: 'http://db.corp/' }, note, opts), (e: Error) => {
    assert.equal(e.message, 'address not allowed: db.corp resolves to an address that is private');
    return true;
  });
  await assert.rejects(n.webhook.send({ url: 'http://127.0.0.1:9/' }, note, opts), (e: Error) => {
    assert.equal(e.message, 'address not allowed: 127.0.0.1 is loopback');
    return true;
  });
});

test('a closed and an open internal port answer the same refusal (no port scanner)', async () => {
  const n = createNotifiers({ allowedNetworks: [] });
  const port = Number(new URL(http.url).port);
  const before = http.received.length;
  const msg = async (p: number) =>
    n.webhook.send({ url: `http://127.0.0.1:${p}/` }, note, opts).then(
      () => 'delivered',
      (e: Error) => e.message,
    );
  assert.equal(await msg(port), await msg(1));
  assert.equal(http.received.length, before);
  assert.deepEqual(connects, []);
});

test('with loopback allowed, a loopback receiver gets the notification', async () => {
  const n = createNotifiers({ allowedNetworks: LOOPBACK });
  const before = http.received.length;
  await n.webhook.send({ url: `${http.url}/allowed` }, note, opts);
  assert.equal(http.received.length, before + 1);
  assert.equal(connects.length, 1);
  // the same receiver through a name that resolves to loopback
  const named = createNotifiers({
    allowedNetworks: LOOPBACK,
    resolve: fakeDns({ 'hooks.test': ['127.0.0.1'] }),
  });
  await named.webhook.send({ url: `${http.url.replace('127.0.0.1', 'hooks.test')}/named` }, note, opts);
  assert.equal(http.received.at(-1)?.url, '/named');
  assert.equal(http.received.at(-1)?.headers.host, `hooks.test:${new URL(http.url).port}`);
});

test('DNS rebinding: the address connected to is the one checked, and every connect checks again', async () => {
  const port = Number(new URL(http.url).port);
  const answers = [['93.184.216.34'], ['127.0.0.1']];
  const calls: string[] = [];
  const rebinding: Resolver = async (h) => {
    calls.push(h);
    return (answers.shift() ?? ['127.0.0.1']).map((address) => ({ address, family: 4 }));
  };
  const n = createNotifiers({ allowedNetworks: [], resolve: rebinding });
  const before = http.received.length;
  const cfg = { url: `http://rebind.test:${port}/` };
  // first answer public: the socket goes to exactly that address (the spy stops it there)
  await assert.rejects(n.webhook.send(cfg, note, opts), /connection refused/);
  assert.deepEqual(connects, [`93.184.216.34:${port}`]);
  // second answer loopback: refused before any socket; nothing resolved the name a second time
  await assert.rejects(n.webhook.send(cfg, note, opts), refusal(/address not allowed/));
  assert.deepEqual(connects, [`93.184.216.34:${port}`]);
  assert.deepEqual(calls, ['rebind.test', 'rebind.test'], 'one resolution per connection');
  assert.equal(http.received.length, before, 'the loopback service was never reached');
});

test('redirects are not followed and the receiver body never reaches the error', async () => {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    if (req.url === '/moved') res.writeHead(302, { location: '/elsewhere' }).end();
    else res.writeHead(500).end('root:x:0:0:secret-internal-data');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const n = createNotifiers({ allowedNetworks: LOOPBACK });
    await assert.rejects(n.webhook.send({ url: `${base}/moved` }, note, opts), (e: Error) => {
      assert.ok(e instanceof DeliveryError && !e.retryable);
      assert.equal(e.message, 'HTTP 302 (redirects are not followed)');
      return true;
    });
    assert.equal(hits, 1);
    await assert.rejects(n.webhook.send({ url: `${base}/err` }, note, opts), (e: Error) => {
      assert.equal(e.message, 'HTTP 500');
      return true;
    });
    await assert.rejects(n.webhook.send({ url: 'http://127.0.0.1:1/' }, note, opts), (e: Error) => {
      assert.equal(e.message, 'connection refused');
      return true;
    });
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

/** An SMTP server without STARTTLS that accepts AUTH in clear and records it. */
async function clearSmtp() {
  const auths: string[] = [];
  let mails = 0;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _s, cb) {
      auths.push(`${auth.username}:${auth.password}`);
      cb(null, { user: auth.username });
    },
    onData(stream, _s, cb) {
      stream.resume();
      stream.on('end', () => {
        mails++;
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.server.address() as AddressInfo).port,
    auths,
    mails: () => mails,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('SMTP: no password in clear to a server that is not on loopback; loopback may', async () => {
  const smtp = await clearSmtp();
  try {
    const cfg = (host: string) =>
      NOTIFIERS.email.parse(
        { host, port: smtp.port, username: 'u', password: 'pw', from: 'a@x.test', to: 'b@x.test' },
        createOutbound({ allowedNetworks: LOOPBACK }),
      );
    // mail.test "is" a public address: the spy carries that connection to the loopback server,
    // which, like a stripping man in the middle, offers no STARTTLS
    redirectPublicTo = smtp.port;
    const remote = createNotifiers({
      allowedNetworks: LOOPBACK,
      resolve: fakeDns({ 'mail.test': ['93.184.216.34'] }),
    });
    const c1 = cfg('mail.test');
    assert.ok(c1.ok);
    await assert.rejects(remote.email.send(c1.config, note, opts), (e: Error) => {
      assert.ok(e instanceof DeliveryError && !e.retryable, String(e));
      assert.match(e.message, /TLS/);
      return true;
    });
    assert.deepEqual(connects, [`93.184.216.34:${smtp.port}`]);
    assert.deepEqual(smtp.auths, [], 'the password was never sent');
    assert.equal(smtp.mails(), 0);
    // the same server on loopback (allowed) may take AUTH without TLS
    const c2 = cfg('127.0.0.1');
    assert.ok(c2.ok);
    await createNotifiers({ allowedNetworks: LOOPBACK }).email.send(c2.config, note, opts);
    assert.deepEqual(smtp.auths, ['u:pw']);
    assert.equal(smtp.mails(), 1);
  } finally {
    await smtp.close();
  }
});

test('SMTP hosts go through the guard at connect time too', async () => {
  const n = createNotifiers({ allowedNetworks: [], resolve: fakeDns({ 'smtp.corp': ['10.0.0.25'] }) });
  await assert.rejects(
    n.email.send({ ...configFor('email', 'smtp.corp', 25) }, note, opts),
    (e: Error) => e.message === 'address not allowed: smtp.corp resolves to an address that is private',
  );
  await assert.rejects(
    n.email.send({ ...configFor('email', '2130706433', 25) }, note, opts),
    (e: Error) => e.message === 'address not allowed: 127.0.0.1 is loopback',
  );
  assert.deepEqual(connects, []);
});

test('https: the checked address is connected to and the certificate is still verified for the name', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nanny-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const gen = spawnSync('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1'],
    ...['-subj', '/CN=hook.test', '-addext', 'subjectAltName=DNS:hook.test'],
  ]);
  if (!requires(t, 'openssl', gen.status === 0, 'openssl is not available to make a certificate')) return;
  let hits = 0;
  const server = createHttpsServer(
    { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) },
    (_req, res) => {
      hits++;
      res.writeHead(204).end();
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const n = createNotifiers({
    allowedNetworks: LOOPBACK,
    resolve: fakeDns({ 'hook.test': ['127.0.0.1'] }),
  });
  // the self-signed certificate is not trusted: refused in the handshake, before any request
  await assert.rejects(n.webhook.send({ url: `https://hook.test:${port}/` }, note, opts), (e: Error) => {
    assert.equal(e.message, 'TLS error (DEPTH_ZERO_SELF_SIGNED_CERT)');
    return true;
  });
  assert.deepEqual(connects, [`127.0.0.1:${port}`]);
  assert.equal(hits, 0);
});

test('a receiver or a resolver that never answers ends in "timed out", retryable', async () => {
  const silent = net.createServer(() => undefined); // accepts, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const port = (silent.address() as AddressInfo).port;
    const n = createNotifiers({
      allowedNetworks: LOOPBACK,
      resolve: () => new Promise(() => undefined),
    });
    const quick = { ...opts, timeoutMs: 300 };
    for (const url of [`http://127.0.0.1:${port}/`, 'http://never.test/'])
      await assert.rejects(n.webhook.send({ url }, note, quick), (e: Error) => {
        assert.ok(e instanceof DeliveryError && e.retryable);
        assert.equal(e.message, 'timed out');
        return true;
      });
    assert.deepEqual(connects, [`127.0.0.1:${port}`], 'nothing connected for the unresolved name');
  } finally {
    silent.close();
  }
});
