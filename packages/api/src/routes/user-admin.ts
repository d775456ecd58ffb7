/**
 * The users of an organisation, for its administrators (settings → users in the dashboard): list,
 * create with a generated password (shown once, as `nannyapi user create` prints it), change the
 * role, delete. A `user` session or a `user`'s token gets 403 (docs/security.md, roles). An
 * organisation always keeps one administrator, and an administrator cannot delete themselves.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { DataEnvelope, OkEnvelope, UserCreated, UserView } from '@nanny/schema';
import { apiError } from '../errors.ts';
import type { AuthHelpers } from '../auth/auth.ts';
import { hashPassword, newToken } from '../auth/tokens.ts';
import type { Storage } from '../storage/storage.ts';
import { createUserAdminStore, type UserChange } from '../storage/user-admin.ts';
import { IdParam, replies } from './schemas.ts';

const strict = { additionalProperties: false } as const;
const Role = Type.Union([Type.Literal('admin'), Type.Literal('user')]);
const NewUser = Type.Object(
  {
    // what login accepts, without spaces or control characters that would hide in a list
    username: Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\s\\x00-\\x1f]+$' }),
    role: Type.Optional(Role),
  },
  strict,
);
const RoleChange = Type.Object({ role: Role }, strict);

function refuse(result: UserChange, what: string): void {
  if (result === 'not_found') throw apiError('NANNY_ERR_NOT_FOUND', 'No such user in your organisation');
  if (result === 'last_admin')
    throw apiError('NANNY_ERR_CONFLICT', `${what} would leave the organisation without an administrator`);
}

export async function userAdminRoutes(
  fastify: FastifyInstance,
  deps: { storage: Storage; auth: AuthHelpers; now: () => Date },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { auth, now } = deps;
  const users = deps.storage.extend(createUserAdminStore);
  const admin = { admin: true } as const;

  app.get(
    '/api/users',
    {
      schema: {
        tags: ['auth'],
        summary: 'Users of your organisation (administrators)',
        response: replies(DataEnvelope(Type.Array(UserView))),
      },
      preHandler: auth.requireToken('read', admin),
    },
    async (req) => ({ success: true as const, data: await users.listUsers(auth.principal(req).tenantId) }),
  );

  app.post(
    '/api/users',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create a user with a generated password, shown once (administrators)',
        body: NewUser,
        response: replies(UserCreated),
      },
      preHandler: auth.requireToken('write', admin),
    },
    async (req) => {
      const p = auth.principal(req);
      const password = newToken('');
      const u = await users.createUser({
        tenant_id: p.tenantId,
        username: req.body.username,
        password_hash: await hashPassword(password),
        role: req.body.role ?? 'user',
        created_at: now().toISOString(),
      });
      if (!u) throw apiError('NANNY_ERR_CONFLICT', 'That username is taken');
      return { success: true as const, data: u, password };
    },
  );

  app.patch(
    '/api/users/:id',
    {
      schema: {
        tags: ['auth'],
        summary: "Change a user's role; it applies to their next request (administrators)",
        params: IdParam,
        body: RoleChange,
        response: replies(OkEnvelope),
      },
      preHandler: auth.requireToken('write', admin),
    },
    async (req) => {
      const p = auth.principal(req);
      refuse(await users.setRole(p.tenantId, req.params.id, req.body.role), 'This change');
      return { success: true as const };
    },
  );

  app.delete(
    '/api/users/:id',
    {
      schema: {
        tags: ['auth'],
        summary: 'Delete a user: their sessions end, their tokens are revoked (administrators)',
        params: IdParam,
        response: replies(OkEnvelope),
      },
      preHandler: auth.requireToken('write', admin),
    },
    async (req) => {
      const p = auth.principal(req);
      if (p.kind === 'user' && p.userId === req.params.id)
        throw apiError('NANNY_ERR_CONFLICT', 'You cannot delete yourself; another administrator can');
      refuse(await users.deleteUser(p.tenantId, req.params.id, now().toISOString()), 'Deleting this user');
      return { success: true as const };
    },
  );
}
