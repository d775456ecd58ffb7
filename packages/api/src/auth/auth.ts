/**
 * Authentication for routes: sessions (cookie), personal API tokens, agent access tokens (JWT).
 * Route code uses the preHandlers `requireToken(scope)`, `requireUser()`, `requireAgent()` and reads
 * `req.principal` (always tenant-scoped).
 */
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { TokenResponse } from '@nanny/schema';
import { apiError } from '../errors.ts';
import type { Agent, Storage, TokenScope } from '../storage/storage.ts';
import { TOKEN_PREFIX, hashToken, newToken, signJwt, verifyJwt, type AgentClaims } from './tokens.ts';

export type Principal =
  | {
      kind: 'user';
      tenantId: string;
      userId: string;
      username: string;
      role: 'admin' | 'user';
      scope: TokenScope;
    }
  | {
      kind: 'token';
      tenantId: string;
      tokenId: string;
      userId: string | null;
      /**
       * A personal token acts with its creator's role (a CLI-made token, with no user, is an
       * administrator's); a `user` can only make read tokens, so a write token is an admin's.
       */
      role: 'admin' | 'user';
      scope: TokenScope;
    }
  | { kind: 'agent'; tenantId: string; agentId: string; tokenVersion: number };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export const SESSION_COOKIE = 'nannyapi_session';

export interface AuthHelpers {
  /**
   * a logged-in user (session cookie) or a personal API token (Bearer) with at least `scope`;
   * `admin: true` also demands the admin role (of the session's user or of the token's creator)
   */
  requireToken(scope: TokenScope, opts?: { admin?: boolean }): preHandlerAsyncHookHandler;
  /** a logged-in user (session cookie or a user's personal token); `admin: true` demands the admin role */
  requireUser(opts?: { admin?: boolean }): preHandlerAsyncHookHandler;
  /**
   * an agent access token. `deferRevocation` is for the ingest path only: it checks revocation
   * inside the batch transaction instead (storage.ingest refuses revoked agents' jobs).
   */
  requireAgent(opts?: { deferRevocation?: boolean }): preHandlerAsyncHookHandler;
  /** the authenticated principal, or a 401 */
  principal(req: FastifyRequest): Principal;
  issueAgentTokens(agent: Pick<Agent, 'id' | 'tenant_id' | 'token_version'>): Promise<TokenResponse>;
  verifyAgentToken(token: string): AgentClaims | null;
}

export interface AuthOptions {
  storage: Storage;
  jwtSecret: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  now: () => Date;
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/** Cached JWT verifications: HMAC + JSON.parse per request is measurable at 10k req/s. */
class VerifiedCache {
  private readonly map = new Map<string, AgentClaims>();
  get(token: string, nowSec: number): AgentClaims | undefined {
    const c = this.map.get(token);
    if (c && c.exp > nowSec) return c;
    if (c) this.map.delete(token);
    return undefined;
  }
  set(token: string, claims: AgentClaims) {
    if (this.map.size >= 50_000) this.map.clear();
    this.map.set(token, claims);
  }
}

export function createAuth(opts: AuthOptions): AuthHelpers {
  const { storage, now } = opts;
  const cache = new VerifiedCache();

  const verifyAgentToken = (token: string): AgentClaims | null => {
    const nowSec = Math.floor(now().getTime() / 1000);
    const hit = cache.get(token, nowSec);
    if (hit) return hit;
    const claims = verifyJwt(token, opts.jwtSecret, nowSec, opts.accessTokenTtlSeconds);
    if (claims) cache.set(token, claims);
    return claims;
  };

  async function sessionPrincipal(req: FastifyRequest): Promise<Principal | null> {
    const sid = req.cookies?.[SESSION_COOKIE];
    if (!sid) return null;
    const s = await storage.sessionByHash(hashToken(sid), now().toISOString());
    if (!s) return null;
    const u = await storage.userById(s.user_id);
    if (!u) return null;
    return {
      kind: 'user',
      tenantId: u.tenant_id,
      userId: u.id,
      username: u.username,
      role: u.role,
      scope: 'write',
    };
  }

  async function tokenPrincipal(token: string): Promise<Principal | null> {
    if (!token.startsWith(TOKEN_PREFIX.personal)) return null;
    const t = await storage.apiTokenByHash(hashToken(token));
    if (!t || t.revoked_at) return null;
    const at = now();
    if (t.expires_at !== null && t.expires_at <= at.toISOString()) return null;
    // last_used_at tells an admin which tokens are dead weight; written at most once a minute
    const notBefore = new Date(at.getTime() - 60_000).toISOString();
    if (t.last_used_at === null || t.last_used_at < notBefore)
      await storage.touchApiToken(t.id, at.toISOString(), notBefore);
    let role: 'admin' | 'user' = 'admin';
    if (t.user_id !== null) {
      const u = await storage.userById(t.user_id);
      // the creator is gone: their tokens go with them
      if (!u) return null;
      role = u.role;
    }
    return { kind: 'token', tenantId: t.tenant_id, tokenId: t.id, userId: t.user_id, role, scope: t.scope };
  }

  const requireToken = (scope: TokenScope, o?: { admin?: boolean }): preHandlerAsyncHookHandler =>
    async function (req: FastifyRequest, _reply: FastifyReply) {
      const tok = bearer(req);
      const p = tok ? await tokenPrincipal(tok) : await sessionPrincipal(req);
      if (!p)
        throw apiError(
          'NANNY_ERR_UNAUTHORIZED',
          tok ? 'Invalid API token' : 'Log in or send a personal API token',
        );
      if (p.kind !== 'agent' && scope === 'write' && p.scope !== 'write')
        throw apiError('NANNY_ERR_FORBIDDEN', 'This token has the read scope only');
      if (o?.admin && p.kind !== 'agent' && p.role !== 'admin')
        throw apiError('NANNY_ERR_FORBIDDEN', 'Administrators only');
      req.principal = p;
    };

  const requireUser = (o?: { admin?: boolean }): preHandlerAsyncHookHandler =>
    async function (req: FastifyRequest, _reply: FastifyReply) {
      const p = await sessionPrincipal(req);
      if (!p || p.kind !== 'user') throw apiError('NANNY_ERR_UNAUTHORIZED', 'Log in first');
      if (o?.admin && p.role !== 'admin') throw apiError('NANNY_ERR_FORBIDDEN', 'Administrators only');
      req.principal = p;
    };

  const requireAgent = (o?: { deferRevocation?: boolean }): preHandlerAsyncHookHandler =>
    async function (req: FastifyRequest, _reply: FastifyReply) {
      const tok = bearer(req);
      if (!tok) throw apiError('NANNY_ERR_UNAUTHORIZED', 'Missing access token');
      const claims = verifyAgentToken(tok);
      if (!claims) throw apiError('NANNY_ERR_UNAUTHORIZED', 'Invalid access token');
      if (!o?.deferRevocation) {
        const st = (await storage.agentAuthStates([claims.sub])).get(claims.sub);
        if (!st || st.revoked || st.token_version !== claims.ver)
          throw apiError('NANNY_ERR_UNAUTHORIZED', 'Access token revoked');
      }
      req.principal = { kind: 'agent', tenantId: claims.tid, agentId: claims.sub, tokenVersion: claims.ver };
    };

  return {
    requireToken,
    requireUser,
    requireAgent,
    verifyAgentToken,
    principal(req) {
      if (!req.principal) throw apiError('NANNY_ERR_UNAUTHORIZED', 'Not authenticated');
      return req.principal;
    },
    async issueAgentTokens(agent) {
      const nowSec = Math.floor(now().getTime() / 1000);
      const access = signJwt(
        {
          sub: agent.id,
          tid: agent.tenant_id,
          ver: agent.token_version,
          typ: 'agent',
          iat: nowSec,
          exp: nowSec + opts.accessTokenTtlSeconds,
        },
        opts.jwtSecret,
      );
      const refresh = newToken(TOKEN_PREFIX.refresh);
      await storage.storeRefreshToken({
        tokenHash: hashToken(refresh),
        agentId: agent.id,
        tenantId: agent.tenant_id,
        tokenVersion: agent.token_version,
        createdAt: now().toISOString(),
        expiresAt: new Date(now().getTime() + opts.refreshTokenTtlDays * 86400_000).toISOString(),
      });
      return {
        success: true,
        agent_id: agent.id,
        access_token: access,
        refresh_token: refresh,
        token_type: 'Bearer',
        expires_in: opts.accessTokenTtlSeconds,
      };
    },
  };
}
