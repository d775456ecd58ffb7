import { after, before } from 'node:test';
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createNotifiers } from './channels/index.ts';
import { discordBody } from './channels/discord.ts';
import { emailMessage } from './channels/email.ts';
import { gotifyBody } from './channels/gotify.ts';
import { ntfyBody } from './channels/ntfy.ts';
import { slackBody } from './channels/slack.ts';
import { notificationOf, testNotification } from './message.ts';
import { backoffMs, createDeliveryWorker, type DeliveryJob, type DeliveryStore } from './queue.ts';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from './testing.ts';
import { DeliveryError, type Channel, type ChannelType, type Notification } from './types.ts';

// the receivers below are on loopback, which channels may reach only when allowed
const notifiers = createNotifiers({ allowedNetworks: ['127.0.0.0/8', '::1/128'] });
let http: HttpReceiver;
let smtp: SmtpReceiver;
before(async () => {
  http = await startHttpReceiver();
  smtp = await startSmtpReceiver();
});
after(async () => {
  await http.close();
  await smtp.close();
});

const T = Date.parse('2026-11-25T10:00:00Z');
const firing: Notification = notificationOf(
  {
    id: 'a1',
    rule: 'quorum_lost',
    severity: 'critical',
    summary: 'Cluster prod has lost quorum',
    clusterId: 'c1',
    clusterName: 'prod',
    startedAt: T,
  },
  'firing',
  T + 100,
);
const opts = { idempotencyKey: 'a1:fire:ch1', timeoutMs: 3000 };

function parse(type: ChannelType, body: Record<string, unknown>) {
  const r = notifiers[type].parse(body);
  assert.ok(r.ok, r.ok ? '' : r.errors.join('; '));
  return r.config;
}

test('the webhook posts the notification as JSON with an HMAC signature and an idempotency key', async () => {
  const before = http.received.length;
  const cfg = parse('webhook', { url: `${http.url}/hook`, secret: 's3cret' });
  await notifiers.webhook.send(cfg, firing, opts);
  const [r] = (await http.waitFor(before + 1)).slice(before);
  assert.ok(r);
  assert.equal(r.url, '/hook');
  const body = JSON.parse(r.body) as Notification;
  assert.equal(body.rule, 'quorum_lost');
  assert.equal(body.state, 'firing');
  assert.equal(body.severity, 'critical');
  assert.equal(body.cluster.name, 'prod');
  assert.equal(body.started_at, '2026-11-25T10:00:00.000Z');
  assert.equal(body.resolved_at, null);
  const expected = `sha256=${createHmac('sha256', 's3cret').update(r.body).digest('hex')}`;
  assert.equal(r.headers['x-nanny-signature'], expected);
  assert.equal(r.headers['idempotency-key'], 'a1:fire:ch1');
});

test('the webhook without a secret sends no signature', async () => {
  const before = http.received.length;
  await notifiers.webhook.send(parse('webhook', { url: `${http.url}/plain` }), firing, opts);
  const r = (await http.waitFor(before + 1))[before];
  assert.equal(r?.headers['x-nanny-signature'], undefined);
});

test('slack, discord, ntfy and gotify bodies carry the summary in their own format', async () => {
  const before = http.received.length;
  await notifiers.slack.send(parse('slack', { url: `${http.url}/slack` }), firing, opts);
  await notifiers.discord.send(parse('discord', { url: `${http.url}/discord` }), firing, opts);
  await notifiers.ntfy.send(parse('ntfy', { url: `${http.url}/`, topic: 'pve', token: 'tk' }), firing, opts);
  await notifiers.gotify.send(parse('gotify', { url: `${http.url}/gotify/`, token: 'app' }), firing, opts);
  const got = (await http.waitFor(before + 4)).slice(before);
  const [s, d, n, g] = got.map((r) => ({ ...r, json: JSON.parse(r.body) as Record<string, unknown> }));
  assert.match(String(s?.json.text), /\[CRITICAL\] quorum_lost: Cluster prod has lost quorum/);
  const embed = (d?.json.embeds as { title: string; color: number }[])[0];
  assert.equal(embed?.title, '[CRITICAL] quorum_lost');
  assert.equal(embed?.color, 0xd93025);
  assert.equal(n?.url, '/');
  assert.equal(n?.json.topic, 'pve');
  assert.equal(n?.json.priority, 5);
  assert.equal(n?.headers.authorization, 'Bearer tk');
  assert.equal(g?.url, '/gotify/message');
  assert.equal(g?.headers['x-gotify-key'], 'app');
  assert.equal(g?.json.priority, 8);
});

test('e-mail goes through SMTP with subject and details', async () => {
  const cfg = parse('email', {
    host: '127.0.0.1',
    port: smtp.port,
    from: 'nanny@example.test',
    to: 'ops@example.test, oncall@example.test',
  });
  const resolved = { ...firing, state: 'resolved' as const, resolved_at: '2026-11-25T10:05:00.000Z' };
  await notifiers.email.send(cfg, resolved, opts);
  const [m] = await smtp.waitFor(1);
  assert.ok(m);
  assert.deepEqual(m.to, ['ops@example.test', 'oncall@example.test']);
  assert.match(m.raw, /Subject: \[RESOLVED\] quorum_lost: Cluster prod has lost quorum/);
  assert.match(m.raw, /Resolved: 2026-11-25T10:05:00.000Z/);
});

test('an SMTP 5xx refusal is permanent', async () => {
  smtp.refuse.set('nobody@example.test', 550);
  const cfg = parse('email', {
    host: '127.0.0.1',
    port: smtp.port,
    from: 'n@example.test',
    to: ['nobody@example.test'],
  });
  await assert.rejects(
    notifiers.email.send(cfg, firing, opts),
    (e) => e instanceof DeliveryError && !e.retryable,
  );
});

test('invalid channel bodies are rejected naming the field', () => {
  const r = notifiers.webhook.parse({ url: 'ftp://x' });
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.errors.join(), /url/);
  const g = notifiers.gotify.parse({ url: 'http://g' });
  assert.match(g.ok ? '' : g.errors.join(), /token/);
  const e = notifiers.email.parse({ host: 'h' });
  assert.match(e.ok ? '' : e.errors.join(), /from.*to|to/);
});

test('backoff doubles per attempt, is capped and jittered within half to full', () => {
  assert.equal(
    backoffMs(1, 1000, 60_000, () => 1),
    1000,
  );
  assert.equal(
    backoffMs(3, 1000, 60_000, () => 1),
    4000,
  );
  assert.equal(
    backoffMs(20, 1000, 60_000, () => 1),
    60_000,
  );
  assert.equal(
    backoffMs(3, 1000, 60_000, () => 0),
    2000,
  );
});

/** An in-memory queue with the storage contract, to test the worker's decisions. */
function memoryStore(channel: Channel) {
  const jobs = new Map<
    string,
    DeliveryJob & { status: string; nextAt: number; lockedUntil: number; error?: string }
  >();
  const store: DeliveryStore = {
    async claimDeliveries(now, limit, leaseMs) {
      const out: DeliveryJob[] = [];
      for (const j of jobs.values()) {
        if (out.length >= limit) break;
        const due =
          (j.status === 'pending' && j.nextAt <= now) || (j.status === 'sending' && j.lockedUntil <= now);
        if (!due) continue;
        j.status = 'sending';
        j.lockedUntil = now + leaseMs;
        out.push({ ...j });
      }
      return out;
    },
    async completeDelivery(id) {
      jobs.get(id)!.status = 'done';
    },
    async retryDelivery(id, attempts, nextAt, error) {
      Object.assign(jobs.get(id)!, { status: 'pending', attempts, nextAt, error });
    },
    async failDelivery(id, attempts, error) {
      Object.assign(jobs.get(id)!, { status: 'failed', attempts, error });
    },
    async getChannel(_t, id) {
      return id === channel.id ? channel : undefined;
    },
  };
  const add = (id: string) =>
    jobs.set(id, {
      id,
      tenantId: 't',
      channelId: channel.id,
      attempts: 0,
      idempotencyKey: `k-${id}`,
      payload: firing,
      status: 'pending',
      nextAt: 0,
      lockedUntil: 0,
    });
  return { store, jobs, add };
}

test('a failing receiver is retried with backoff until it answers, with the same idempotency key', async () => {
  const before = http.received.length;
  let calls = 0;
  http.respond = () => (++calls <= 2 ? 503 : 200);
  const channel: Channel = {
    id: 'ch1',
    tenantId: 't',
    type: 'webhook',
    name: 'w',
    config: { url: `${http.url}/retry` },
    minSeverity: 'info',
  };
  const { store, jobs, add } = memoryStore(channel);
  add('j1');
  let now = 1_000_000;
  const w = createDeliveryWorker({
    store,
    notifiers: notifiers,
    now: () => now,
    random: () => 1,
    baseBackoffMs: 1000,
  });
  try {
    await w.runOnce();
    assert.equal(jobs.get('j1')?.status, 'pending');
    assert.equal(jobs.get('j1')?.nextAt, now + 1000);
    await w.runOnce(); // not due yet
    assert.equal(http.received.length - before, 1);
    now += 1000;
    await w.runOnce();
    assert.equal(jobs.get('j1')?.nextAt, now + 2000);
    now += 2000;
    await w.runOnce();
    assert.equal(jobs.get('j1')?.status, 'done');
    const got = http.received.slice(before);
    assert.equal(got.length, 3);
    assert.deepEqual(new Set(got.map((r) => r.headers['idempotency-key'])), new Set(['k-j1']));
  } finally {
    http.respond = () => 200;
    await w.stop();
  }
});

test('a permanent failure (404) is given up at once; the attempt limit ends retries', async () => {
  http.respond = (r) => (r.url === '/gone' ? 404 : 500);
  const mk = (path: string): Channel => ({
    id: path,
    tenantId: 't',
    type: 'webhook',
    name: path,
    config: { url: `${http.url}${path}` },
    minSeverity: 'info',
  });
  try {
    const gone = memoryStore(mk('/gone'));
    gone.add('j');
    const w1 = createDeliveryWorker({ store: gone.store, notifiers: notifiers });
    await w1.runOnce();
    assert.equal(gone.jobs.get('j')?.status, 'failed');
    assert.equal(gone.jobs.get('j')?.attempts, 1);
    // the deliveries log keeps a status line, never the receiver's answer ("nope")
    assert.equal(gone.jobs.get('j')?.error, 'HTTP 404');

    const broken = memoryStore(mk('/broken'));
    broken.add('j');
    let now = 0;
    const w2 = createDeliveryWorker({
      store: broken.store,
      notifiers: notifiers,
      now: () => now,
      maxAttempts: 3,
    });
    for (let i = 0; i < 3; i++) {
      await w2.runOnce();
      now += 10 * 3_600_000;
    }
    assert.equal(broken.jobs.get('j')?.status, 'failed');
    assert.equal(broken.jobs.get('j')?.attempts, 3);
  } finally {
    http.respond = () => 200;
  }
});

test('a test notification names the channel', () => {
  assert.match(testNotification('ops', T).summary, /"ops"/);
});

test('chat injection: a guest name can neither ping nor hide a link on any platform', () => {
  const evil = '<!channel> <http://evil|Open console> @everyone [Open](http://evil) <@123>';
  const n: Notification = {
    ...firing,
    summary: `Guest ${evil} on pve1 stopped`,
    node: '<!here>',
    cluster: { id: 'c1', name: '@here <#1>' },
  };
  const slack = slackBody(n);
  const slackAll = JSON.stringify(slack);
  assert.match(String(slack.text), /&lt;!channel&gt; &lt;http:\/\/evil\|Open console&gt;/);
  // no `<` survives anywhere in the Slack message: it is the only way to write a mention or a link
  assert.doesNotMatch(slackAll, /[<>]/);

  const discord = discordBody(n);
  assert.deepEqual(discord.allowed_mentions, { parse: [] });
  const embed = (discord.embeds as { description: string; fields: { value: string }[] }[])[0]!;
  for (const text of [embed.description, ...embed.fields.map((f) => f.value)]) {
    // every markup character is escaped: an unescaped one would be preceded by something else
    assert.doesNotMatch(text, /(^|[^\\])[<>@[\]()]/, text);
  }
  assert.match(embed.description, /\\@everyone/);

  assert.equal(ntfyBody('t', n).markdown, false);
  const g = gotifyBody(n) as { extras: Record<string, { contentType?: string }> };
  assert.equal(g.extras['client::display']?.contentType, 'text/plain');

  const mail = emailMessage({ ...n, summary: 'x\r\nBcc: victim@example.test' });
  assert.doesNotMatch(mail.subject, /[\r\n]/);
});
