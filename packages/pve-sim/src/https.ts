// The HTTPS API of a layout: /api2/json/<path> with the {"data": …} envelope and API-token auth,
// one server per node (what that node's pveproxy answers). Certificates are self-signed per run.
import { createServer, type Server } from 'node:https';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { issueNodeCertPem } from './ca.ts';
import { clusterById, nodeByName } from './model.ts';
import { apiGet, type ApiResult } from './api.ts';
import { errorMessage } from './errors.ts';
import { canonicalJson } from './json.ts';
import type { SimState } from './model.ts';
import { nowOf } from './store.ts';
import type { Simulator } from './sim.ts';

export interface ServedNode {
  node: string;
  url: string;
  port: number;
  /** SHA-256 fingerprint of the server certificate, colon-separated hex (as PVE shows it) */
  fingerprint: string;
  server: Server;
}

export interface Servers {
  list: ServedNode[];
  close(): Promise<void>;
}

/**
 * Token check as PVE::AccessControl::verify_token / the HTTP server do it: no Authorization header →
 * 401 "No ticket"; a token id that does not exist → "no such token …"; wrong secret →
 * "invalid token value!". The reason goes in the status line; the body is {"data":null}.
 */
export function checkAuth(state: SimState, header: string | undefined): string | null {
  if (!header) return 'No ticket';
  const m = /^PVEAPIToken[= ](([^@\s]+@[^!\s]+)!([^=\s]+))=(\S+)$/.exec(header.trim());
  if (!m) return 'No ticket';
  const tokenId = m[1]!;
  const user = m[2]!;
  const name = m[3]!;
  const t = state.tokens.find((x) => x.tokenId === tokenId);
  if (!t) return `no such token '${name}' for user '${user}'`;
  if (t.secret !== m[4]) return 'invalid token value!';
  return null;
}

function statusLine(msg: string): string {
  // a reason phrase is one line of visible ASCII
  return (msg.split('\n').find((l) => l.trim() !== '') ?? 'error').replace(/[^\x20-\x7e]/g, '?').trim();
}

export async function startServers(
  sim: Simulator,
  opts: { nodes: string[]; port?: number; host?: string; pollMs?: number },
): Promise<Servers> {
  const host = opts.host ?? '127.0.0.1';
  const pollMs = opts.pollMs ?? 100;
  const list: ServedNode[] = [];
  const known = new Set(sim.state().nodes.map((n) => n.name));
  for (const [i, node] of opts.nodes.entries()) {
    if (!known.has(node)) throw new Error(`unknown node '${node}'`);
    // like pveproxy's pve-ssl.pem: a per-node certificate signed by the cluster CA (pve-root-ca.pem),
    // so clients can verify with the CA file or pin the printed fingerprint
    const st = sim.state();
    const n = nodeByName(st, node);
    const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = keys.publicKey.export({ format: 'der', type: 'spki' });
    const cert = issueNodeCertPem(
      clusterById(st, n.clusterId).caSeed,
      node,
      [n.ip],
      spki,
      Math.floor(Date.now() / 1000) - 86400,
    );
    const key = keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const fingerprint = new X509Certificate(cert).fingerprint256;
    const server = createServer({ key, cert }, (req, res) => {
      const send = (status: number, reason: string | undefined, body: string): void => {
        if (res.destroyed) return;
        res.writeHead(status, reason ?? '', {
          'Content-Type': 'application/json;charset=UTF-8',
          'Content-Length': Buffer.byteLength(body),
          'Cache-Control': 'max-age=0',
          Pragma: 'no-cache',
          Server: 'pve-api-daemon/3.0',
        });
        res.end(body);
      };
      const url = new URL(req.url ?? '/', 'https://localhost');
      if (req.method !== 'GET') {
        send(501, `Method '${req.method} ${url.pathname}' not implemented`, '{"data":null}');
        return;
      }
      const m = /^\/api2\/json(\/.*)?$/.exec(url.pathname);
      if (!m) {
        send(501, 'Unexpected content for method', '{"data":null}');
        return;
      }
      const path = m[1] ?? '/';
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) query[k] = v;
      let closed = false;
      req.on('close', () => {
        closed = true;
      });
      const attempt = (): void => {
        if (closed && res.destroyed) return;
        let state: SimState;
        let r: ApiResult;
        try {
          state = sim.state();
          const auth = checkAuth(state, req.headers.authorization);
          if (auth !== null) {
            send(401, statusLine(auth), '{"data":null}');
            return;
          }
          r = apiGet(state, node, path, query, nowOf(state, Date.now()));
        } catch (e) {
          send(500, statusLine(errorMessage(e)), '{"data":null}');
          return;
        }
        if (r.ok === 'blocked') {
          // the node's pmxcfs is hung: pveproxy's worker blocks, the client waits
          setTimeout(attempt, pollMs);
          return;
        }
        if (r.ok) send(200, 'OK', `{"data":${canonicalJson(r.data)}}`);
        else if (r.status === 501)
          send(501, `Method 'GET /api2/json${path}' not implemented`, '{"data":null}');
        else send(r.status, statusLine(r.message), '{"data":null}');
      };
      attempt();
    });
    const port = opts.port ? opts.port + i : 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const actual = (server.address() as AddressInfo).port;
    list.push({ node, url: `https://${host}:${actual}/api2/json`, port: actual, fingerprint, server });
  }
  return {
    list,
    close: async () => {
      await Promise.all(
        list.map(
          (x) =>
            new Promise<void>((resolve) => {
              x.server.closeAllConnections();
              x.server.close(() => resolve());
            }),
        ),
      );
    },
  };
}
