/**
 * A small HTTP(S) client on node:http/node:https (no fetch: Node 18's fetch cannot take a private
 * CA or a pinned certificate). Used for nannyapi and for the PVE HTTPS API source.
 *
 * TLS: the system trust store by default; a CA file replaces it; a pinned SHA-256 fingerprint of
 * the server certificate replaces chain verification (Proxmox's self-signed pveproxy certificate).
 * With a pin the TLS connection is made first and the certificate checked before a single byte of
 * the request — and its Authorization header — is written.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { TlsOptions } from './config.ts';
import { AgentError, errorText } from './errors.ts';

export interface HttpResponse {
  status: number;
  /** the reason phrase: pveproxy puts an error's text there (before libpve-http-server-perl 5.2.0 only there) */
  statusText?: string;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  tls: TlsOptions;
}

export type HttpClient = (req: HttpRequest) => Promise<HttpResponse>;

const MAX_RESPONSE = 32 * 1024 * 1024;

function pinnedSocket(u: URL, opts: TlsOptions, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port || 443),
      servername: /^[\d.]+$|:/.test(u.hostname) ? '' : u.hostname,
      // The chain is not verified: the pin below is the trust decision.
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(
      () => socket.destroy(new AgentError('AGENT_TIMEOUT', `TLS connect to ${u.host} timed out`)),
      timeoutMs,
    );
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const fp = socket.getPeerCertificate().fingerprint256?.replace(/:/g, '').toLowerCase();
      if (fp !== opts.fingerprint) {
        socket.destroy();
        reject(
          new AgentError(
            'AGENT_TLS',
            `certificate of ${u.host} does not match the pinned fingerprint (got ${fp ?? 'none'})`,
          ),
        );
        return;
      }
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export const httpRequest: HttpClient = async (req) => {
  const u = new URL(req.url);
  const isHttps = u.protocol === 'https:';
  let socket: tls.TLSSocket | undefined;
  if (isHttps && req.tls.fingerprint) {
    try {
      socket = await pinnedSocket(u, req.tls, req.timeoutMs);
    } catch (e) {
      if (e instanceof AgentError) throw e;
      throw new AgentError('AGENT_HTTP', `${req.method} ${u.origin}: ${errorText(e)}`, { cause: e });
    }
  }
  return exchange(req, u, {
    // With a pinned socket there must be no agent: ClientRequest only calls createConnection
    // when agent is undefined (`agent: false` would build a fresh, verifying Agent).
    ...(socket ? { createConnection: () => socket } : { agent: false }),
    ...(isHttps && !socket && req.tls.ca ? { ca: req.tls.ca } : {}),
  });
};

/**
 * One request/response over http or https with the given connection options: a deadline for the
 * whole exchange, a cap on the answer's size, and every failure as an AgentError naming the URL.
 */
function exchange(req: HttpRequest, u: URL, connection: https.RequestOptions): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(Buffer.byteLength(req.body));
    }
    const where = `${req.method} ${u.origin}${u.pathname}`;
    const failed = (e: Error) =>
      e instanceof AgentError ? e : new AgentError('AGENT_HTTP', `${where}: ${e.message}`, { cause: e });
    const r = (u.protocol === 'https:' ? https : http).request(
      u,
      { method: req.method, headers, ...connection },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (b: Buffer) => {
          size += b.length;
          if (size > MAX_RESPONSE) {
            r.destroy(new AgentError('AGENT_HTTP', `${where}: response too large`));
            return;
          }
          chunks.push(b);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            ...(res.statusMessage ? { statusText: res.statusMessage } : {}),
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(failed(e));
        });
      },
    );
    const timer = setTimeout(
      () => r.destroy(new AgentError('AGENT_TIMEOUT', `${where}: no answer within ${req.timeoutMs} ms`)),
      req.timeoutMs,
    );
    r.on('error', (e) => {
      clearTimeout(timer);
      reject(failed(e));
    });
    r.end(req.body);
  });
}

/**
 * A client that keeps connections open (per origin) until `close()`: the `api` source makes one
 * request per guest, and a TLS handshake each would cost more CPU than everything else of the
 * cycle. With a pinned fingerprint each new connection is checked before the agent hands it to a
 * request, so no request — and no token — ever goes over an unchecked connection.
 */
export function createPooledClient(): HttpClient & { close(): void } {
  const agents = new Map<string, http.Agent>();
  const agentFor = (u: URL, t: TlsOptions): http.Agent => {
    const key = `${u.protocol}//${u.host}|${t.fingerprint ?? ''}|${t.ca ? 'ca' : ''}`;
    let a = agents.get(key);
    if (a) return a;
    if (u.protocol !== 'https:') a = new http.Agent({ keepAlive: true, maxSockets: 8 });
    else if (t.fingerprint) {
      const pin = t.fingerprint;
      const pinned = new https.Agent({ keepAlive: true, maxSockets: 8, rejectUnauthorized: false });
      // Node's Agent accepts an asynchronous createConnection (callback, undefined return).
      (pinned as unknown as { createConnection: unknown }).createConnection = (
        options: tls.ConnectionOptions,
        cb: (err: Error | null, s?: tls.TLSSocket) => void,
      ): undefined => {
        const s = tls.connect({ ...options, rejectUnauthorized: false });
        s.once('secureConnect', () => {
          const fp = s.getPeerCertificate().fingerprint256?.replace(/:/g, '').toLowerCase();
          if (fp !== pin) {
            s.destroy();
            cb(
              new AgentError(
                'AGENT_TLS',
                `certificate of ${u.host} does not match the pinned fingerprint (got ${fp ?? 'none'})`,
              ),
            );
          } else cb(null, s);
        });
        s.once('error', (e) => cb(e));
        return undefined;
      };
      a = pinned;
    } else a = new https.Agent({ keepAlive: true, maxSockets: 8, ...(t.ca ? { ca: t.ca } : {}) });
    agents.set(key, a);
    return a;
  };
  const client = (req: HttpRequest): Promise<HttpResponse> => {
    const u = new URL(req.url);
    return exchange(req, u, { agent: agentFor(u, req.tls) });
  };
  return Object.assign(client, {
    close() {
      for (const a of agents.values()) a.destroy();
      agents.clear();
    },
  });
}
