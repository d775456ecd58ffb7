/**
 * Two replicas (two apps, two storages) on one PostgreSQL schema, in one process: one leads, a
 * report through either is evaluated once, the lead passes on when the leader goes, and every
 * revocation made through one replica is refused by the other at once (issue 14). The same with
 * real processes and kill -9: test/e2e/replicas.test.ts.
 */
import { onCleanup, requires, test, waitFor } from '@nanny/testing';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { makeTestApp, type TestApp } from './testing.ts';
import { DIALECTS, PG_URL } from './storage/testing.ts';
import { createKyselyStorage } from './storage/kysely-storage.ts';
import { alertServiceOf } from './alerts/module.ts';

const FP = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const PASSWORD = 'replica-test-password-1';
const PG = DIALECTS.find((d) => d.name === 'postgres')!;

type Ctx = TestContext;

/** Two apps on one fresh schema; closed (and the schema dropped) when the test ends. */
async function twoReplicas(t: Ctx): Promise<[TestApp, TestApp] | undefined> {
  const opened = await PG.open();
  if (!requires(t, 'postgres', opened !== undefined, PG.skipReason) || !opened) return undefined;
  onCleanup(t, opened.cleanup);
  const second = await createKyselyStorage({ databaseUrl: PG_URL, pgSchema: opened.pgSchema, pgPoolSize: 4 });
  onCleanup(t, () => second.close());
  const apps: TestApp[] = [];
  for (const storage of [opened.storage, second]) {
    const a = await makeTestApp({ adminPassword: PASSWORD }, { storage });
    onCleanup(t, () => a.app.close());
    await a.app.ready();
    apps.push(a);
  }
  return [apps[0]!, apps[1]!];
}

const cluster = (quorate: number, from: string) => ({
  cluster_name: 'prod',
  cluster_fingerprint: FP,
  nodes: 3,
  quorate,
  version: 7,
  reporting_node: from,
  members: ['pve1', 'pve2', 'pve3'].map((name, i) => ({
    name,
    node_id: i + 1,
    online: 1,
    local: name === from ? 1 : 0,
  })),
});

const leaderOf = (apps: readonly TestApp[]) => apps.filter((a) => a.app.nanny.leader.role() === 'leader');

async function alertRows(a: TestApp, read: string) {
  const r = await a.get('/api/alerts', read);
  assert.equal(r.status, 200);
  return r.json.data as { rule: string; state: string }[];
}

test('two replicas on one PostgreSQL: one leads, a report through the follower is evaluated once, the lead passes on', async (t) => {
  const apps = await twoReplicas(t);
  if (!apps) return;
  const [leader] = await waitFor(() => (leaderOf(apps).length === 1 ? leaderOf(apps) : undefined), {
    what: 'exactly one leader',
    budget: 'short',
  });
  const follower = apps.find((a) => a !== leader)!;
  const ready = async (a: TestApp) =>
    (await a.app.inject({ method: 'GET', url: '/readyz' })).json<Record<string, unknown>>();
  assert.deepEqual(
    { ...(await ready(leader!)), leader_epoch: undefined },
    { success: true, status: 'ready', database: 'ok', role: 'leader', leader_epoch: undefined },
  );
  assert.deepEqual(await ready(follower), {
    success: true,
    status: 'ready',
    database: 'ok',
    role: 'follower',
  });

  const agents: Record<string, string> = {};
  for (const n of ['pve1', 'pve2', 'pve3'])
    agents[n] = (await follower.register(n, { cluster_name: 'prod', cluster_fingerprint: FP })).access;
  const read = await follower.pat('read');
  for (const n of ['pve1', 'pve2', 'pve3']) {
    const r = await follower.post('/api/proxmox/cluster', agents[n]!, cluster(0, n));
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  await alertServiceOf(leader!.app.nanny.modules)!.flush();
  assert.deepEqual(
    (await alertRows(follower, read)).map((a) => [a.rule, a.state]),
    [['quorum_lost', 'firing']],
    'three reports of one loss through the follower: one alert',
  );
  assert.equal(alertServiceOf(follower.app.nanny.modules)!.stats().role, 'follower');

  // The leader goes; the follower takes over at its next try and carries the episode on.
  await leader!.app.close();
  await waitFor(() => follower.app.nanny.leader.role() === 'leader', {
    what: 'the follower to lead',
    budget: 10_000,
  });
  for (const n of ['pve1', 'pve2', 'pve3']) {
    const r = await follower.post('/api/proxmox/cluster', agents[n]!, cluster(1, n));
    assert.equal(r.status, 200);
  }
  await alertServiceOf(follower.app.nanny.modules)!.flush();
  assert.deepEqual(
    (await alertRows(follower, read)).map((a) => [a.rule, a.state]),
    [['quorum_lost', 'resolved']],
  );
});

test('a revocation through one replica is refused by the other at once: agent, API token, session, password', async (t) => {
  const apps = await twoReplicas(t);
  if (!apps) return;
  const [a, b] = apps;
  const agent = await a.register('pve1', { cluster_name: 'prod', cluster_fingerprint: FP });
  assert.equal((await b.post('/api/proxmox/cluster', agent.access, cluster(1, 'pve1'))).status, 200);
  const write = await a.pat('write');

  // agent: revoked through A, its next report to B is refused
  const rev = await a.post(`/api/agents/${agent.agentId}/revoke`, write, {});
  assert.equal(rev.status, 200, JSON.stringify(rev.json));
  assert.equal((await b.post('/api/proxmox/cluster', agent.access, cluster(1, 'pve1'))).status, 401);
  assert.equal(
    (
      await b.app.inject({
        method: 'POST',
        url: '/api/agent/refresh',
        payload: { refresh_token: agent.refresh },
      })
    ).statusCode,
    401,
  );

  // personal API token: revoked through A, refused by B
  const login = async (x: TestApp) => {
    const r = await x.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'admin', password: PASSWORD },
    });
    assert.equal(r.statusCode, 200, r.body);
    const c = r.cookies.find((k) => k.name === 'nannyapi_session')!;
    return `${c.name}=${c.value}`;
  };
  const cookie = await login(a);
  const created = await a.app.inject({
    method: 'POST',
    url: '/api/tokens',
    headers: { cookie },
    payload: { name: 'script', scope: 'read' },
  });
  assert.equal(created.statusCode, 200, created.body);
  const tok = created.json<{ token: string; data: { id: string } }>();
  assert.equal((await b.get('/api/clusters', tok.token)).status, 200);
  const del = await a.app.inject({
    method: 'DELETE',
    url: `/api/tokens/${tok.data.id}`,
    headers: { cookie },
  });
  assert.equal(del.statusCode, 200, del.body);
  assert.equal((await b.get('/api/clusters', tok.token)).status, 401);

  // session: logged out through A, refused by B
  const me = (x: TestApp, c: string) =>
    x.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: c } });
  assert.equal((await me(b, cookie)).statusCode, 200);
  assert.equal(
    (await a.app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie } })).statusCode,
    200,
  );
  assert.equal((await me(b, cookie)).statusCode, 401);

  // password change through B ends the sessions and tokens A would accept
  const c2 = await login(b);
  const t2 = (
    await b.app.inject({
      method: 'POST',
      url: '/api/tokens',
      headers: { cookie: c2 },
      payload: { name: 'script2', scope: 'read' },
    })
  ).json<{ token: string }>().token;
  assert.equal((await a.get('/api/clusters', t2)).status, 200);
  const pw = await b.app.inject({
    method: 'POST',
    url: '/api/auth/password',
    headers: { cookie: c2 },
    payload: { current_password: PASSWORD, new_password: 'another-long-password-2' },
  });
  assert.equal(pw.statusCode, 200, pw.body);
  assert.equal((await me(a, c2)).statusCode, 401);
  assert.equal((await a.get('/api/clusters', t2)).status, 401);
});

test('an alert the leader fires reaches a dashboard stream open on the follower', async (t) => {
  const apps = await twoReplicas(t);
  if (!apps) return;
  const [leader] = await waitFor(() => (leaderOf(apps).length === 1 ? leaderOf(apps) : undefined), {
    what: 'exactly one leader',
    budget: 'short',
  });
  const follower = apps.find((a) => a !== leader)!;
  // the stream is on the follower; the report goes to the leader, so the follower's own ingest
  // listener never hears of it: only the change feed in the database can tell it
  await follower.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = follower.app.server.address();
  assert.ok(addr && typeof addr === 'object');
  const base = `http://127.0.0.1:${addr.port}`;
  const login = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
  });
  assert.equal(login.status, 200);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const ac = new AbortController();
  const res = await fetch(`${base}/api/stream`, { headers: { cookie }, signal: ac.signal });
  let text = '';
  const reading = (async () => {
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += dec.decode(value, { stream: true });
    }
  })().catch(() => undefined);
  onCleanup(t, async () => {
    ac.abort();
    await reading;
  });
  await waitFor(() => text.includes(': connected'), { what: 'the stream opened' });

  const agent = await leader!.register('pve1', { cluster_name: 'prod', cluster_fingerprint: FP });
  assert.equal((await leader!.post('/api/proxmox/cluster', agent.access, cluster(0, 'pve1'))).status, 200);
  await alertServiceOf(leader!.app.nanny.modules)!.flush();
  await waitFor(() => /event: change\ndata: \{[^\n]*"kinds":\["alert"\]/.test(text), {
    what: 'the quorum_lost alert as a change on the follower’s stream',
  });
  assert.doesNotMatch(text, /"kinds":\["cluster"\]/, 'the report itself went to the other replica');
});
