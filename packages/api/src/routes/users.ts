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
import { SESSION_COOKIE, type AuthHelpers } from '../auth/auth.ts';
import {
  DUMMY_PASSWORD_HASH,
  TOKEN_PREFIX,
  hashPassword,
  hashToken,
  newToken,
  verifyPassword,
} from '../auth/tokens.ts';
import type { Storage } from '../storage/storage.ts';
import { parseDuration } from '../duration.ts';
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
    new_password: Type.String({ minLength: 8, maxLength: 1024 }),
  },
  strict,
);
const NewToken = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    scope: Type.Optional(Type.Union([Type.Literal('read'), Type.Literal('write')])),
  },
  strict,
);
const NewEnrollment = Type.Object(
  {
    uses: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    ttl: Type.Optional(Type.String({ pattern: '^\\d+[smhd]$', description: 'lifetime, e.g. "24h", "7d"' })),
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
    secureCookie: boolean;
  },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { storage, auth, now } = deps;

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
      const user = await storage.userByName(body.username);
      // Spend the scrypt time for unknown users too, so timing does not tell which names exist.
      const ok = await verifyPassword(body.password, user?.password_hash ?? DUMMY_PASSWORD_HASH);
      if (!user || !ok) throw apiError('NANNY_ERR_UNAUTHORIZED', 'Wrong username or password');
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
        secure: deps.secureCookie,
        expires,
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
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
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
      const user = await storage.userById(p.userId);
      if (!user || !(await verifyPassword(body.current_password, user.password_hash)))
        throw apiError('NANNY_ERR_FORBIDDEN', 'Current password is wrong');
      await storage.setPassword(user.id, await hashPassword(body.new_password));
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
      return { success: true as const, data: await storage.listApiTokens(auth.principal(req).tenantId) };
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
      const secret = newToken(TOKEN_PREFIX.personal);
      const t = await storage.createApiToken(
        {
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
      if (!(await storage.revokeApiToken(auth.principal(req).tenantId, id, now().toISOString())))
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
      preHandler: auth.requireToken('write'),
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
      preHandler: auth.requireToken('write'),
    },
    async (req) => {
      const body = req.body;
      const ttl = parseDuration(body.ttl ?? '24h');
      if (ttl === null) throw apiError('NANNY_ERR_INVALID_REQUEST', 'ttl: use e.g. 30m, 24h, 7d');
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

  app.get(
    '/api/agents',
    {
      schema: {
        tags: ['agent'],
        summary: 'Registered agents',
        response: replies(DataEnvelope(Type.Array(AgentView))),
      },
      preHandler: auth.requireToken('read'),
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
      preHandler: auth.requireToken('write'),
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
      // the same guard as revoke: whoever may end an agent may re-point it
      preHandler: auth.requireToken('write'),
    },
    async (req) => {
      const { id } = req.params;
      if (!(await storage.unbindAgent(auth.principal(req).tenantId, id)))
        throw apiError('NANNY_ERR_NOT_FOUND', 'No such agent');
      return { success: true as const };
    },
  );
}
