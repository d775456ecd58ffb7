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
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiError } from './errors.ts';

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

export function registerHardening(
  app: FastifyInstance,
  opts: { rateLimit: number; rateLimitIp: number; tls: boolean; now: () => Date },
) {
  const perToken = opts.rateLimit > 0 ? createLimiter(opts.rateLimit) : null;
  const perIp = opts.rateLimitIp > 0 ? createLimiter(opts.rateLimitIp) : null;
  if (perToken || perIp) {
    app.addHook('onRequest', async (req: FastifyRequest) => {
      if (!isApi(req)) return;
      const nowMs = opts.now().getTime();
      if (perIp) {
        const wait = perIp.hit(req.ip, nowMs);
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
        // The key is a hash of the parsed token (not of the raw header, where `bearer  X` would get
        // a fresh bucket): the token itself is never kept outside the request.
        const key = createHash('sha1').update(auth).digest('base64');
        const wait = perToken.hit(key, nowMs);
        if (wait > 0)
          throw apiError('NANNY_ERR_RATE_LIMITED', `Too many requests for this token; retry in ${wait} s`, {
            headers: { 'retry-after': String(wait) },
          });
      }
    });
  }
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    if (isApi(req)) {
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
      reply.header('cache-control', 'no-store');
    }
    if (opts.tls) reply.header('strict-transport-security', 'max-age=31536000');
    return payload;
  });
}
