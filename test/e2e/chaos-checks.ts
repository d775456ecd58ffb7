/**
 * The pieces of the replica chaos run (chaos.ts) that talk to one replica or judge the outcome: a
 * request with a deadline, the PostgreSQL backends of a process, the revocation round, and the
 * webhook count per episode.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { pgQuery } from '@nanny/api/testing';
import type { ApiServer, Received } from './harness.ts';

type Reply = { status: number; json: Record<string, unknown>; cookie?: string };

/** One request on its own connection, given up after `timeoutMs` (a stopped replica never answers). */
export function call(
  url: string,
  method: string,
  path: string,
  o: { body?: unknown; token?: string; cookie?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = o.body === undefined ? undefined : JSON.stringify(o.body);
    const req = request(
      `${url}${path}`,
      {
        method,
        agent: false,
        timeout: o.timeoutMs ?? 3000,
        headers: {
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...(o.cookie ? { cookie: o.cookie } : {}),
          ...(data ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON (an empty answer): the status says enough
          }
          const set = res.headers['set-cookie']?.[0]?.split(';')[0];
          resolve({ status: res.statusCode ?? 0, json, ...(set ? { cookie: set } : {}) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * PIDs of the PostgreSQL backends serving process `pid` (matched by its local ports, from `ss`):
 * only this run's replicas, never another test's connections to the same server.
 */
export async function backendsOf(schema: string, pid: number): Promise<number[]> {
  let out: string;
  try {
    out = execFileSync('ss', ['-tnpH', 'state', 'established', '( dport = :5432 )'], { encoding: 'utf8' });
  } catch {
    // no `ss` here: the one backend that can be told apart is the leader's lock connection
    const rows = await pgQuery<{ pid: number }>(
      schema,
      `select pid from pg_locks where locktype = 'advisory' and granted
         and classid = (hashtext(current_schema()))::oid`,
    );
    return rows.map((r) => r.pid);
  }
  const ports = out
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => Number(/127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:5432/.exec(l)?.[1]))
    .filter((p) => p > 0);
  if (ports.length === 0) return [];
  const rows = await pgQuery<{ pid: number }>(
    schema,
    `select pid from pg_stat_activity where client_port in (${ports.join(',')})`,
  );
  return rows.map((r) => r.pid);
}

/**
 * One round: a session, a personal token and an agent made through the first replica, the token
 * and the agent revoked and the session ended through the last one, then every replica asked at
 * once. Returns the replicas that still accepted one of them, or undefined when a step could not be
 * done (a replica stopped in the middle: not a finding).
 */
export async function checkRevocation(
  live: readonly ApiServer[],
  o: { password: string; enroll: string; round: number; name: (r: ApiServer) => number },
): Promise<string[] | undefined> {
  const [a, b] = [live[0]!, live[live.length - 1]!];
  const login = await call(a.url, 'POST', '/api/auth/login', {
    body: { username: 'admin', password: o.password },
  });
  if (login.status !== 200 || !login.cookie) return undefined;
  const cookie = login.cookie;
  const made = await call(a.url, 'POST', '/api/tokens', {
    cookie,
    body: { name: `chaos-${o.round}`, scope: 'write' },
  });
  const reg = await call(a.url, 'POST', '/api/agent/register', {
    body: {
      enrollment_token: o.enroll,
      hostname: `revoked${o.round}`,
      cluster_name: `revoked${o.round}`,
      cluster_fingerprint: randomBytes(16).toString('hex'),
    },
  });
  if (made.status !== 200 || reg.status !== 200) return undefined;
  const token = made.json.token as string;
  const agentToken = reg.json.access_token as string;
  // the agent's id is the access token's subject
  const agentId = (
    JSON.parse(Buffer.from(agentToken.split('.')[1]!, 'base64url').toString()) as { sub: string }
  ).sub;
  const revoked = await call(b.url, 'POST', `/api/agents/${agentId}/revoke`, { token });
  const gone = await call(b.url, 'DELETE', `/api/tokens/${(made.json.data as { id: string }).id}`, {
    cookie,
  });
  const out = await call(b.url, 'POST', '/api/auth/logout', { cookie });
  if (revoked.status !== 200 || gone.status !== 200 || out.status !== 200) return undefined;
  const problems: string[] = [];
  const report = {
    name: `revoked${o.round}`,
    online: 1,
    cluster_name: `revoked${o.round}`,
    interval_seconds: 60,
    collected_at: new Date().toISOString(),
  };
  await Promise.all(
    live.map(async (r) => {
      const [viaToken, viaSession, viaAgent] = await Promise.all([
        call(r.url, 'GET', '/api/agents', { token }).catch(() => undefined),
        call(r.url, 'GET', '/api/auth/me', { cookie }).catch(() => undefined),
        call(r.url, 'POST', '/api/proxmox/node', { token: agentToken, body: report }).catch(() => undefined),
      ]);
      const judge = (what: string, x: Reply | undefined) => {
        if (x && x.status !== 401) problems.push(`${what} answered ${x.status} on replica ${o.name(r)}`);
      };
      judge('revoked token', viaToken);
      judge('ended session', viaSession);
      judge('revoked agent', viaAgent);
    }),
  );
  return problems;
}

export interface EpisodeLike {
  at: number;
  cluster: string;
  rule: string;
  node: string | null;
}

/**
 * Per (cluster, rule, node): as many alerts notified as episodes driven, each with exactly one
 * firing and one resolved webhook. Repeats of one Idempotency-Key are counted apart (at-least-once
 * delivery allows them; receivers drop them). Logs the story of every subject that went wrong.
 */
export function checkWebhooks(
  received: readonly Received[],
  episodes: readonly EpisodeLike[],
  faults: readonly { kind: string; at: number; leader: boolean; replica: number }[],
  t0: number,
  log: (line: string) => void,
): { webhookProblems: string[]; repeats: number } {
  const keys = new Set<string>();
  let repeats = 0;
  const unique: Received[] = [];
  for (const r of received) {
    const k = String(r.headers['idempotency-key']);
    if (keys.has(k)) repeats++;
    else unique.push(r);
    keys.add(k);
  }
  const webhookProblems: string[] = [];
  const subject = (cluster: string, rule: string, node: string | null) => `${cluster}/${rule}/${node ?? '-'}`;
  type Body = {
    alert_id: string;
    rule: string;
    state: string;
    cluster: { name: string };
    node: string | null;
  };
  const subjectOf = (r: Received) => {
    const b = r.body as Body;
    return subject(b.cluster.name, b.rule, b.node);
  };
  const want = new Map<string, number>();
  for (const e of episodes) {
    const s = subject(e.cluster, e.rule, e.node);
    want.set(s, (want.get(s) ?? 0) + 1);
  }
  const byAlert = new Map<string, { s: string; firing: number; resolved: number }>();
  for (const r of unique) {
    const b = r.body as Body;
    const s = subjectOf(r);
    if (!want.has(s)) {
      webhookProblems.push(`unexpected webhook ${s} ${b.state}`);
      continue;
    }
    const a = byAlert.get(b.alert_id) ?? { s, firing: 0, resolved: 0 };
    if (b.state === 'firing') a.firing++;
    else if (b.state === 'resolved') a.resolved++;
    byAlert.set(b.alert_id, a);
  }
  const broken = new Set<string>();
  for (const [s, n] of want) {
    const alerts = [...byAlert.values()].filter((a) => a.s === s);
    if (alerts.length !== n) {
      webhookProblems.push(`${s}: ${n} episodes, ${alerts.length} alerts notified`);
      broken.add(s);
    }
  }
  for (const [id, a] of byAlert)
    if (a.firing !== 1 || a.resolved !== 1) {
      webhookProblems.push(`${a.s} alert ${id}: ${a.firing} firing, ${a.resolved} resolved webhooks`);
      broken.add(a.s);
    }
  // the story of every subject that went wrong: its episodes, its webhooks and the faults, in order
  for (const s of broken) {
    const story = [
      ...episodes
        .filter((e) => subject(e.cluster, e.rule, e.node) === s)
        .map((e) => [e.at, `episode ${e.at - t0}`] as const),
      ...received
        .filter((r) => subjectOf(r) === s)
        .map(
          (r) =>
            [
              r.at,
              `webhook ${r.at - t0} ${String(r.body.state)} ${String(r.body.alert_id)} ${String(r.body.summary)}`,
            ] as const,
        ),
      ...faults.map(
        (f) =>
          [f.at, `fault ${f.at - t0} ${f.kind} replica ${f.replica}${f.leader ? ' (leader)' : ''}`] as const,
      ),
    ].sort((x, y) => x[0] - y[0]);
    log(`story of ${s}:\n  ${story.map((x) => x[1]).join('\n  ')}`);
  }
  return { webhookProblems, repeats };
}

export function percentile(xs: number[], p: number): number | undefined {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? undefined : s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
}
