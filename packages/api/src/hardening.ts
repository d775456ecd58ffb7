/**
 * Rate limits (per agent token and per client address, fixed one-minute windows, 0 = off) and
 * security headers. Written here rather than with @fastify/rate-limit (removed): two keys apply to
 * one request, the 429 must be the spec's envelope with Retry-After, and the whole limiter is 20
 * lines (packages/README.md keeps the reasons).
 *
 * Both hooks decide "is this an /api/ request" on the route Fastify matched, not on the raw URL:
 * `/%61pi/clusters` is routed to /api/clusters and must be limited and get the API's headers too.
 */
import { createHash } from 'node:crypto';
import type { Server } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiError } from './errors.ts';
import { SESSION_COOKIE } from './auth/auth.ts';
import { clientKey } from './client-address.ts';

export interface FixedWindowLimiter {
  /** counts one hit; returns seconds to wait when over the limit, else 0 */
  hit(key: string, nowMs: number): number;
}

export function createLimiter(perMinute: number): FixedWindowLimiter {
  let windowStart = 0;
  let counts = new Map<string, number>();
  return {
    hit(key, nowMs) {
      if (nowMs - windowStart >= 60_000) {
        windowStart = nowMs - (nowMs % 60_000);
        counts = new Map();
      }
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (n <= perMinute) return 0;
      return Math.max(1, Math.ceil((windowStart + 60_000 - nowMs) / 1000));
    },
  };
}

/** The matched route's path; for an unmatched request (404), the percent-decoded request path. */
export function routePath(req: FastifyRequest): string {
  const matched = req.routeOptions.url;
  if (matched !== undefined) return matched;
  const raw = req.url.split('?')[0] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The token of an `Authorization: Bearer …` header however it is spelt, else the header as sent. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : header.trim();
}

const isApi = (req: FastifyRequest): boolean => routePath(req).startsWith('/api/');

/**
 * Whether the client reached us over TLS: direct TLS, or a trusted proxy's `X-Forwarded-Proto`
 * (Fastify reads that header only when NANNYAPI_TRUST_PROXY trusts the peer).
 */
export const isHttps = (req: FastifyRequest): boolean => req.protocol === 'https';

/** The Content-Security-Policy of the Swagger UI under /docs: its own files only, no inline script. */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "script-src-attr 'none'",
  // Swagger UI sets inline styles on its elements; styles cannot run code.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** `Origin` names this server: same host and port (default ports spelt or not); `null` is not. */
function sameOrigin(origin: string, host: string): boolean {
  try {
    const o = new URL(origin);
    // req.host is the Host header, or X-Forwarded-Host from a trusted proxy.
    return o.host === new URL(`${o.protocol}//${host}`).host;
  } catch {
    return false;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Same-site request forgery on cookie sessions. SameSite=Strict keeps the cookie off cross-site
 * requests, but a sibling subdomain (evil.example.com → nanny.example.com) is "same-site" and gets
 * it. So a write that is not Bearer-authenticated (a session, or a login) must not come from another
 * origin (`Sec-Fetch-Site`, `Origin`), and a session write must be a JSON body, which a plain HTML
 * form or a "simple" cross-origin fetch cannot send. Clients without these headers (agents, curl,
 * scripts) are not browsers and are not affected.
 */
function checkForgery(req: FastifyRequest): void {
  if (SAFE_METHODS.has(req.method) || !isApi(req)) return;
  if (/^Bearer\s/i.test(req.headers.authorization ?? '')) return;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    throw apiError('NANNY_ERR_FORBIDDEN', `Cross-site request refused (Sec-Fetch-Site: ${site})`);
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (!sameOrigin(origin, req.host))
      throw apiError('NANNY_ERR_FORBIDDEN', 'Cross-origin request refused (Origin does not match Host)');
  }
  if (req.cookies?.[SESSION_COOKIE] === undefined) return;
  const type = req.headers['content-type'];
  const hasBody = type !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !/^application\/json\s*(;|$)/i.test(type ?? ''))
    throw apiError(
      'NANNY_ERR_INVALID_REQUEST',
      'A request with a session cookie must send its body as application/json',
    );
}

/**
 * Caps the open TCP connections per peer address: one client cannot hold every file descriptor
 * (300 slow connections starved /healthz under a 256-file limit). Over the cap the socket is
 * destroyed at once, before any byte is read. Counted on `connection`, so TLS handshakes count too.
 */
export function limitConnectionsPerAddress(server: Server, cap: number): void {
  if (cap <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    // an IPv6 client per /64, as the rate limits count it (client-address.ts)
    const addr = clientKey(socket.remoteAddress ?? '');
    const n = (open.get(addr) ?? 0) + 1;
    if (n > cap) {
      socket.destroy();
      return;
    }
    open.set(addr, n);
    socket.once('close', () => {
      const left = (open.get(addr) ?? 1) - 1;
      if (left <= 0) open.delete(addr);
      else open.set(addr, left);
    });
  });
}

export function registerHardening(
  app: FastifyInstance,
  opts: { rateLimit: number; rateLimitIp: number; now: () => Date },
) {
  const perToken = opts.rateLimit > 0 ? createLimiter(opts.rateLimit) : null;
  const perIp = opts.rateLimitIp > 0 ? createLimiter(opts.rateLimitIp) : null;
  if (perToken || perIp) {
    app.addHook('onRequest', async (req: FastifyRequest) => {
      if (!isApi(req)) return;
      const nowMs = opts.now().getTime();
      if (perIp) {
        const wait = perIp.hit(clientKey(req.ip), nowMs);
        if (wait > 0)
          throw apiError(
            'NANNY_ERR_RATE_LIMITED',
            `Too many requests from this address; retry in ${wait} s`,
            {
              headers: { 'retry-after': String(wait) },
            },
          );
      }
      const auth = bearerToken(req.headers.authorization);
      if (perToken && auth) {
        // Keyed on the parsed token, not the raw header: `bearer X`, `Bearer  X ` and `Bearer X` are
        // one bucket. The key is a hash: the token itself is never kept outside the request.
        const key = createHash('sha1').update(auth).digest('base64');
        const wait = perToken.hit(key, nowMs);
        if (wait > 0)
          throw apiError('NANNY_ERR_RATE_LIMITED', `Too many requests for this token; retry in ${wait} s`, {
            headers: { 'retry-after': String(wait) },
          });
      }
    });
  }
  // Path parameters and query strings are names, ids, times: never control characters. PostgreSQL
  // text cannot hold NUL at all (`/api/nodes/%00` was a 500 there, a 404 on SQLite).
  app.addHook('preValidation', async (req: FastifyRequest) => {
    const bad = controlCharIn(req.params) ?? controlCharIn(req.query);
    if (bad !== undefined)
      throw apiError('NANNY_ERR_INVALID_REQUEST', `${bad}: control characters are not allowed`);
  });
  // preParsing: after the cookie plugin (onRequest) parsed the cookies, before the body is read.
  app.addHook('preParsing', async (req, _reply, payload) => {
    checkForgery(req);
    return payload;
  });
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    if (isApi(req)) {
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
      reply.header('cache-control', 'no-store');
    }
    // Only over TLS (direct or per a trusted proxy): on plain HTTP the header is meaningless and,
    // sent to a browser that reached us over http by mistake, would not be honoured anyway.
    if (isHttps(req)) reply.header('strict-transport-security', 'max-age=31536000');
    return payload;
  });
}

// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f]/;

/** the name of the first parameter (or query field) holding a control character */
function controlCharIn(values: unknown): string | undefined {
  if (!values || typeof values !== 'object') return undefined;
  for (const [k, v] of Object.entries(values)) {
    const vs: unknown[] = Array.isArray(v) ? v : [v];
    if (CONTROL.test(k) || vs.some((x) => typeof x === 'string' && CONTROL.test(x)))
      return JSON.stringify(k).slice(1, -1);
  }
  return undefined;
}
