/** The agent ↔ API registration contract (POST /api/agent/register, POST /api/agent/refresh). */
import { Type, type Static } from '@sinclair/typebox';
import { ShortString } from './common.ts';

export const RegisterRequest = Type.Object(
  {
    enrollment_token: Type.String({ minLength: 1, maxLength: 512 }),
    hostname: ShortString('the node name / hostname of the agent'),
    agent_version: Type.Optional(ShortString()),
    pve_version: Type.Optional(ShortString()),
    cluster_name: Type.Optional(ShortString()),
    cluster_fingerprint: Type.Optional(ShortString()),
  },
  { $id: 'RegisterRequest', additionalProperties: true },
);
export type RegisterRequest = Static<typeof RegisterRequest>;

export const RefreshRequest = Type.Object(
  { refresh_token: Type.String({ minLength: 1, maxLength: 512 }) },
  { $id: 'RefreshRequest', additionalProperties: true },
);
export type RefreshRequest = Static<typeof RefreshRequest>;

/** Answer of both register and refresh. `expires_in` is the access token's lifetime in seconds. */
export const TokenResponse = Type.Object(
  {
    success: Type.Literal(true),
    agent_id: Type.String(),
    access_token: Type.String(),
    refresh_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ minimum: 1 }),
  },
  { $id: 'TokenResponse' },
);
export type TokenResponse = Static<typeof TokenResponse>;

/** The ingest endpoints, keyed by payload kind: `/api/proxmox/<kind>`. */
export const INGEST_PATH_PREFIX = '/api/proxmox/';
export const REGISTER_PATH = '/api/agent/register';
export const REFRESH_PATH = '/api/agent/refresh';
