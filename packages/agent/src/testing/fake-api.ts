/**
 * A small stand-in for nannyapi on loopback (port 0), speaking the contract of packages/schema:
 * register / refresh (rotating refresh tokens) / ingest with Bearer tokens, and switchable failure
 * modes (5xx, 429, 4xx with an error envelope, 401 for a revoked access token). Tests only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  kind: string;
  body: Record<string, unknown>;
  token: string;
}

export type FakeMode = 'ok' | 'down' | 'rate-limited' | 'reject';

export interface FakeApi {
  url: string;
  received: Received[];
  /** of `received`, the operations reports (backups, ha, replication) */
  ops: Received[];
  /** bodies of POST /api/agent/register */
  registrations: Array<Record<string, unknown>>;
  mode: FakeMode;
  /** counts of requests by path */
  hits: Record<string, number>;
  /** invalidates the current access token (the next ingest answers 401) */
  expireAccessToken(): void;
  /** revokes the agent: its access and refresh tokens are refused from now on */
  revoke(): void;
  enrollToken: string;
  close(): Promise<void>;
}

export async function startFakeApi(): Promise<FakeApi> {
  let n = 0;
  let access = '';
  let refresh = '';
  const issue = () => {
    n++;
    access = `access-${n}`;
    refresh = `refresh-${n}`;
    return {
      success: true,
      agent_id: 'agent-1',
      access_token: access,
      refresh_token: refresh,
      token_type: 'Bearer',
      expires_in: 900,
    };
  };
  const api: Partial<FakeApi> & {
    received: Received[];
    registrations: Array<Record<string, unknown>>;
    hits: Record<string, number>;
    mode: FakeMode;
    ops: Received[];
  } = {
    registrations: [],
    received: [],
    ops: [],
    hits: {},
    mode: 'ok',
    enrollToken: 'enroll-secret',
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      const path = req.url ?? '';
      api.hits[path] = (api.hits[path] ?? 0) + 1;
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const err = (status: number, error: string, d: string) =>
        send(status, { success: false, error, error_description: d });
      let body: Record<string, unknown> = {};
      try {
        body = chunks.length
          ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
          : {};
      } catch {
        return err(400, 'invalid_request', 'body is not JSON');
      }
      if (req.method === 'GET' && path === '/healthz') return send(200, { status: 'ok' });
      if (api.mode === 'down') return err(503, 'unavailable', 'down for maintenance');
      if (path === '/api/agent/register') {
        api.registrations.push(body);
        if (body.enrollment_token !== api.enrollToken)
          return err(401, 'unauthorized', 'Invalid enrollment token');
        return send(200, issue());
      }
      if (path === '/api/agent/refresh') {
        if (body.refresh_token !== refresh) return err(401, 'unauthorized', 'Invalid refresh token');
        return send(200, issue());
      }
      const m = /^\/api\/proxmox\/(cluster|node|lxc|qemu|storage|backups|ha|replication)$/.exec(path);
      if (!m) return err(404, 'not_found', 'no such route');
      const auth = req.headers.authorization ?? '';
      if (auth !== `Bearer ${access}` || access === '')
        return err(401, 'unauthorized', 'Invalid access token');
      if (api.mode === 'rate-limited') return err(429, 'rate_limited', 'slow down');
      if (api.mode === 'reject') return err(400, 'invalid_request', 'vmid: Expected integer');
      api.received.push({ kind: m[1]!, body, token: access });
      if (['backups', 'ha', 'replication'].includes(m[1]!))
        api.ops.push({ kind: m[1]!, body, token: access });
      return send(200, { success: true, message: 'Data ingested successfully' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  api.url = `http://127.0.0.1:${port}`;
  api.expireAccessToken = () => {
    access = `expired-${access}`;
  };
  api.revoke = () => {
    access = `revoked-${access}`;
    refresh = `revoked-${refresh}`;
  };
  api.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return api as FakeApi;
}
