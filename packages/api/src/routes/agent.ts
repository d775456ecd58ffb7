/** POST /api/agent/register and /api/agent/refresh: the registration contract of packages/schema. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  REFRESH_PATH,
  REGISTER_PATH,
  type RefreshRequest,
  type RegisterRequest,
  type TokenResponse,
} from '@nanny/schema';
import { apiError } from '../errors.ts';
import type { AuthHelpers } from '../auth/auth.ts';
import { hashToken } from '../auth/tokens.ts';
import type { Storage } from '../storage/storage.ts';
import { replies } from './schemas.ts';

// The shared schemas app.ts registers (packages/schema), referenced so OpenAPI shows them once.
const RegisterBody = Type.Unsafe<RegisterRequest>({ $ref: 'RegisterRequest#' });
const RefreshBody = Type.Unsafe<RefreshRequest>({ $ref: 'RefreshRequest#' });
const Tokens = Type.Unsafe<TokenResponse>({ $ref: 'TokenResponse#' });

export async function agentRoutes(
  fastify: FastifyInstance,
  deps: { storage: Storage; auth: AuthHelpers; now: () => Date },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { storage, auth, now } = deps;
  app.post(
    REGISTER_PATH,
    {
      schema: {
        tags: ['agent'],
        summary: 'Exchange an enrollment token for an access token and a refresh token',
        body: RegisterBody,
        response: replies(Tokens),
      },
    },
    async (req) => {
      const body = req.body;
      const taken = await storage.consumeEnrollmentToken(
        hashToken(body.enrollment_token),
        now().toISOString(),
      );
      if (!taken) throw apiError('NANNY_ERR_UNAUTHORIZED', 'Invalid, expired or used-up enrollment token');
      const agent = await storage.createAgent({
        tenant_id: taken.tenant_id,
        hostname: body.hostname,
        cluster_name: body.cluster_name ?? null,
        cluster_fingerprint: body.cluster_fingerprint ?? null,
        agent_version: body.agent_version ?? null,
        pve_version: body.pve_version ?? null,
        created_at: now().toISOString(),
      });
      req.log.info({ agent_id: agent.id, hostname: agent.hostname }, 'agent registered');
      return auth.issueAgentTokens(agent);
    },
  );
  app.post(
    REFRESH_PATH,
    {
      schema: {
        tags: ['agent'],
        summary: 'Rotate the refresh token and get a new access token',
        body: RefreshBody,
        response: replies(Tokens),
      },
    },
    async (req) => {
      const body = req.body;
      const r = await storage.useRefreshToken(hashToken(body.refresh_token), now().toISOString());
      if (r.kind === 'reused') {
        req.log.warn({ agent_id: r.agentId }, 'refresh token reused: all tokens of the agent revoked');
        throw apiError('NANNY_ERR_UNAUTHORIZED', 'Refresh token already used; the agent must enroll again');
      }
      if (r.kind === 'invalid') throw apiError('NANNY_ERR_UNAUTHORIZED', 'Invalid or expired refresh token');
      return auth.issueAgentTokens(r.agent);
    },
  );
}
