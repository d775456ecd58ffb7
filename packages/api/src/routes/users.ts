/** Users, sessions, personal tokens, enrollment tokens and agents, for the web UI and scripts. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  AgentView,
  ApiTokenView,
  CreatedSecret,
  DataEnvelope,
  EnrollmentTokenView,
  LoginResponse,
  MeResponse,
  OkEnvelope,
} from '@nanny/schema';
import { apiError } from '../errors.ts';
import { isHttps } from '../hardening.ts';
import { SESSION_COOKIE, type AuthHelpers } from '../auth/auth.ts';
import { DEVICE_COOKIE, type DeviceCookies } from '../auth/device-cookie.ts';
import {
  DUMMY_PASSWORD_HASH,
  TOKEN_PREFIX,
  hashPassword,
  hashToken,
  newToken,
  verifyPassword,
} from '../auth/tokens.ts';
import type { Storage } from '../storage/storage.ts';
import { MAX_ENROLLMENT_TTL_MS, MAX_TOKEN_TTL_MS, parseDuration } from '../duration.ts';
import {
  MIN_PASSWORD_LENGTH,
  createLoginThrottle,
  createSemaphore,
  passwordProblem,
  type LoginThrottleOptions,
} from '../auth/login-guard.ts';
import { IdParam, replies } from './schemas.ts';

// Bodies are strict: a misspelt field is an error that names it, not silently ignored.
const strict = { additionalProperties: false } as const;

const Login = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  strict,
);
const Password = Type.Object(
  {
    current_password: Type.String({ maxLength: 1024 }),
    new_password: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 }),
  },
  strict,
);
const NewToken = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    scope: Type.Optional(Type.Union([Type.Literal('read'), Type.Literal('write')])),
    ttl: Type.Optional(
      Type.String({
        pattern: '^\\d{1,9}[smhd]$',
        description: 'expires after, e.g. "90d"; default never; at most 3650d',
      }),
    ),
  },
  strict,
);
const NewEnrollment = Type.Object(
  {
    uses: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    ttl: Type.Optional(
      Type.String({ pattern: '^\\d{1,9}[smhd]$', description: 'lifetime, e.g. "24h", "7d"; at most 30d' }),
    ),
  },
  strict,
);

export async function userRoutes(
  fastify: FastifyInstance,
  deps: {
    storage: Storage;
    auth: AuthHelpers;
    now: () => Date;
    sessionTtlHours: number;
    /** scrypt computations at once (logins and password changes); more answer 503 at once */
    loginConcurrency: number;
    /** backoff tuning for tests; defaults in login-guard.ts */
    loginThrottle?: Omit<LoginThrottleOptions, 'now' | 'store'>;
    /** signs and checks the device cookies that exempt a known browser from the username's backoff */
    devices: DeviceCookies;
  },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { storage, auth, now } = deps;
  const throttle = createLoginThrottle({ now, store: storage, ...deps.loginThrottle });
  const scryptSlots = createSemaphore(deps.loginConcurrency);
  /** runs scrypt work in a slot, or refuses at once: queueing would only move the pile-up */
  const withScryptSlot = async <T>(work: () => Promise<T>): Promise<T> => {
    const release = scryptSlots.tryAcquire();
    if (!release)
      throw apiError('NANNY_ERR_UNAVAILABLE', 'Too many logins at once; retry in a second', {
        headers: { 'retry-after': '1' },
      });
    try {
      return await work();
    } finally {
      release();
    }
  };
  // M3: enrollment and agents are an administrator's (session or an admin's token)
  const admin = { admin: true } as const;

  app.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in; sets the session cookie',
        body: Login,
        response: replies(LoginResponse),
      },
    },
    async (req, reply) => {
      const body = req.body;
      const device = deps.devices.verify(req.cookies[DEVICE_COOKIE], body.username, now().getTime());
      // Refused before scrypt runs: a locked-out guesser costs no CPU, and a right guess during the
      // wait is refused too (otherwise the wait would not slow guessing down).
      const wait = await throttle.retryAfter(body.username, req.ip, device);
      if (wait > 0)
        throw apiError('NANNY_ERR_RATE_LIMITED', `Too many failed logins; retry in ${wait} s`, {
          headers: { 'retry-after': String(wait) },
        });
      const user = await storage.userByName(body.username);
      // Spend the scrypt time for unknown users too, so timing does not tell which names exist.
      const ok = await withScryptSlot(() =>
        verifyPassword(body.password, user?.password_hash ?? DUMMY_PASSWORD_HASH),
      );
      if (!user || !ok) {
        await throttle.failed(body.username, req.ip, device);
        throw apiError('NANNY_ERR_UNAUTHORIZED', 'Wrong username or password');
      }
      await throttle.succeeded(body.username, device);
      const sid = newToken(TOKEN_PREFIX.session);
      const expires = new Date(now().getTime() + deps.sessionTtlHours * 3600_000);
      await storage.createSession(hashToken(sid), {
        user_id: user.id,
        tenant_id: user.tenant_id,
        expires_at: expires.toISOString(),
        created_at: now().toISOString(),
      });
      // SameSite=Strict: the browser never sends it on cross-site requests, which is the CSRF defence.
      reply.setCookie(SESSION_COOKIE, sid, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        // Secure whenever the browser came over https, direct TLS or via a trusted TLS proxy.
        secure: isHttps(req),
        expires,
      });
      // this browser is now known for this user: a fresh device cookie each login
      const known = deps.devices.issue(user.username, now().getTime());
      reply.setCookie(DEVICE_COOKIE, known.value, {
        path: '/api/auth',
        httpOnly: true,
        sameSite: 'strict',
        secure: isHttps(req),
        expires: known.expires,
      });
      return { success: true as const, user: { id: user.id, username: user.username, role: user.role } };
    },
  );

  app.post(
    '/api/auth/logout',
    { schema: { tags: ['auth'], summary: 'Log out', response: replies(OkEnvelope) } },
    async (req, reply) => {
      const sid = req.cookies[SESSION_COOKIE];
      if (sid) await storage.deleteSession(hashToken(sid));
      reply.clearCookie(SESSION_COOKIE, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: isHttps(req),
      });
      return { success: true as const };
    },
  );

  app.get(
    '/api/auth/me',
    {
      schema: { tags: ['auth'], summary: 'The logged-in user', response: replies(MeResponse) },
      preHandler: auth.requireUser(),
    },
    async (req) => {
      const p = auth.principal(req);
      if (p.kind !== 'user') throw apiError('NANNY_ERR_UNAUTHORIZED', 'Log in first');
      const tenant = await storage.tenantById(p.tenantId);
      return {
        success: true as const,
        user: { id: p.userId, username: p.username, role: p.role, org: tenant?.name ?? null },
      };
    },
  );

  app.post(
    '/api/auth/password',
    {
      schema: {
        tags: ['auth'],
        summary: 'Change your password (ends all sessions)',
        body: Password,
        response: replies(OkEnvelope),
      },
      preHandler: auth.requireUser(),
    },
    async (req) => {
      const p = auth.principal(req);
      const body = req.body;
      if (p.kind !== 'user') throw apiError('NANNY_ERR_UNAUTHORIZED', 'Log in first');
      const device = deps.devices.verify(req.cookies[DEVICE_COOKIE], p.username, now().getTime());
      const wait = await throttle.retryAfter(p.username, req.ip, device);
      if (wait > 0)
        throw apiError('NANNY_ERR_RATE_LIMITED', `Too many failed attempts; retry in ${wait} s`, {
          headers: { 'retry-after': String(wait) },
        });
      const user = await storage.userById(p.userId);
      if (!user || !(await withScryptSlot(() => verifyPassword(body.current_password, user.password_hash)))) {
        // a stolen session must not become an unthrottled password oracle
        await throttle.failed(p.username, req.ip, device);
        throw apiError('NANNY_ERR_FORBIDDEN', 'Current password is wrong');
      }
      const weak = passwordProblem(body.new_password, user.username);
      if (weak) throw apiError('NANNY_ERR_INVALID_REQUEST', `new_password: ${weak}`);
      await storage.setPassword(
        user.id,
        await withScryptSlot(() => hashPassword(body.new_password)),
        now().toISOString(),
      );
      return { success: true as const };
    },
  );

  app.get(
    '/api/tokens',
    {
      schema: {
        tags: ['auth'],
        summary: 'Personal API tokens of your organisation',
        response: replies(DataEnvelope(Type.Array(ApiTokenView))),
      },
      preHandler: auth.requireUser(),
    },
    async (req) => {
      const p = auth.principal(req);
      const all = await storage.listApiTokens(p.tenantId);
      // a `user` sees their own tokens; the organisation's are an administrator's business
      const data = p.kind === 'user' && p.role !== 'admin' ? all.filter((t) => t.user_id === p.userId) : all;
      return { success: true as const, data };
    },
  );
  app.post(
    '/api/tokens',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create a personal API token (shown once)',
        body: NewToken,
        response: replies(CreatedSecret(ApiTokenView)),
      },
      preHandler: auth.requireUser(),
    },
    async (req) => {
      const p = auth.principal(req);
      const body = req.body;
      // M3: a `user` reads and acknowledges; a write token would let them do more than their session
      if (body.scope === 'write' && p.kind === 'user' && p.role !== 'admin')
        throw apiError('NANNY_ERR_FORBIDDEN', 'Only administrators can create write tokens');
      const ttl = body.ttl === undefined ? undefined : parseDuration(body.ttl);
      if (ttl === null || (ttl !== undefined && ttl > MAX_TOKEN_TTL_MS))
        throw apiError('NANNY_ERR_INVALID_REQUEST', 'ttl: a duration like 90d, at most 3650d');
      const secret = newToken(TOKEN_PREFIX.personal);
      const t = await storage.createApiToken(
        {
          expires_at: ttl === undefined ? null : new Date(now().getTime() + ttl).toISOString(),
          tenant_id: p.tenantId,
          user_id: p.kind === 'user' ? p.userId : null,
          name: body.name,
          scope: body.scope ?? 'read',
          created_at: now().toISOString(),
        },
        hashToken(secret),
      );
      return { success: true as const, data: t, token: secret };
    },
  );
  app.delete(
    '/api/tokens/:id',
    {
      schema: {
        tags: ['auth'],
        summary: 'Revoke a personal API token',
        params: IdParam,
        response: replies(OkEnvelope),
      },
      preHandler: auth.requireUser(),
    },
    async (req) => {
      const { id } = req.params;
      const p = auth.principal(req);
      // a `user` may revoke their own tokens only; someone else's answers as unknown
      const owner = p.kind === 'user' && p.role !== 'admin' ? p.userId : undefined;
      if (!(await storage.revokeApiToken(p.tenantId, id, now().toISOString(), owner)))
        throw apiError('NANNY_ERR_NOT_FOUND', 'No such token');
      return { success: true as const };
    },
  );

  app.get(
    '/api/enrollment-tokens',
    {
      schema: {
        tags: ['agent'],
        summary: 'Enrollment tokens',
        response: replies(DataEnvelope(Type.Array(EnrollmentTokenView))),
      },
      preHandler: auth.requireToken('read', admin),
    },
    async (req) => {
      return {
        success: true as const,
        data: await storage.listEnrollmentTokens(auth.principal(req).tenantId),
      };
    },
  );
  app.post(
    '/api/enrollment-tokens',
    {
      schema: {
        tags: ['agent'],
        summary: 'Create an enrollment token (shown once)',
        body: NewEnrollment,
        response: replies(CreatedSecret(EnrollmentTokenView)),
      },
      preHandler: auth.requireToken('write', admin),
    },
    async (req) => {
      const body = req.body;
      const ttl = parseDuration(body.ttl ?? '24h');
      if (ttl === null) throw apiError('NANNY_ERR_INVALID_REQUEST', 'ttl: use e.g. 30m, 24h, 7d');
      if (ttl > MAX_ENROLLMENT_TTL_MS)
        throw apiError(
          'NANNY_ERR_INVALID_REQUEST',
          'ttl: at most 30d (an enrollment token is for days, not years)',
        );
      const secret = newToken(TOKEN_PREFIX.enrollment);
      const t = await storage.createEnrollmentToken(
        {
          tenant_id: auth.principal(req).tenantId,
          max_uses: body.uses ?? 1,
          expires_at: new Date(now().getTime() + ttl).toISOString(),
          created_at: now().toISOString(),
        },
        hashToken(secret),
      );
      return { success: true as const, data: t, token: secret };
    },
  );

  app.delete(
    '/api/enrollment-tokens/:id',
    {
      schema: {
        tags: ['agent'],
        summary: 'Revoke an enrollment token: no agent registers with it any more',
        params: IdParam,
        response: replies(OkEnvelope),
      },
      preHandler: auth.requireToken('write', admin),
    },
    async (req) => {
      const { id } = req.params;
      if (!(await storage.revokeEnrollmentToken(auth.principal(req).tenantId, id, now().toISOString())))
        throw apiError('NANNY_ERR_NOT_FOUND', 'No such enrollment token');
      return { success: true as const };
    },
  );

  app.get(
    '/api/agents',
    {
      schema: {
        tags: ['agent'],
        summary: 'Registered agents',
        response: replies(DataEnvelope(Type.Array(AgentView))),
      },
      preHandler: auth.requireToken('read', admin),
    },
    async (req) => {
      return { success: true as const, data: await storage.listAgents(auth.principal(req).tenantId) };
    },
  );
  app.post(
    '/api/agents/:id/revoke',
    {
      schema: {
        tags: ['agent'],
        summary: 'Revoke an agent: its next request is refused',
        params: IdParam,
        response: replies(OkEnvelope),
      },
      preHandler: auth.requireToken('write', admin),
    },
    async (req) => {
      const { id } = req.params;
      if (!(await storage.revokeAgent(auth.principal(req).tenantId, id, now().toISOString())))
        throw apiError('NANNY_ERR_NOT_FOUND', 'No such agent');
      return { success: true as const };
    },
  );
  app.post(
    '/api/agents/:id/rebind',
    {
      schema: {
        tags: ['agent'],
        summary:
          'Forget the node and cluster an agent is bound to (a reinstalled or re-clustered node): its next report binds it again',
        params: IdParam,
        response: replies(OkEnvelope),
      },
      // the same guard as revoke (admins): whoever may end an agent may re-point it
      preHandler: auth.requireToken('write', admin),
    },
    async (req) => {
      const { id } = req.params;
      if (!(await storage.unbindAgent(auth.principal(req).tenantId, id)))
        throw apiError('NANNY_ERR_NOT_FOUND', 'No such agent');
      return { success: true as const };
    },
  );
}
