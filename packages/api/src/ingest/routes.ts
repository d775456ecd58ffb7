/**
 * POST /api/proxmox/{cluster,node,lxc,qemu}: the spec's four ingest endpoints; and the operations
 * reports (issue 15), one endpoint per entry of OPS_KINDS (`backups`, `ha`, `replication`, …),
 * registered the same way and stored through the same group commit.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  INGEST_PATH_PREFIX,
  INGEST_SUCCESS_MESSAGE,
  OPS_KINDS,
  OPS_SCHEMAS,
  PAYLOAD_KINDS,
  type OpsKind,
  normalizePayload,
  type PayloadKind,
  type SuccessEnvelope,
} from '@nanny/schema';
import { apiError } from '../errors.ts';
import { boundOpsReport, boundReport } from '../domain/extra.ts';
import type { AuthHelpers } from '../auth/auth.ts';
import type { GroupCommitter } from './committer.ts';
import type { Quotas } from '../storage/storage.ts';
import { replies } from '../routes/schemas.ts';

export interface IngestCounters {
  accepted: Record<PayloadKind | OpsKind, number>;
  rejected: number;
  /** unknown report fields not stored (domain/extra.ts) */
  extraDropped: number;
}

const SUCCESS = { success: true as const, message: INGEST_SUCCESS_MESSAGE };

// The spec's bodies by reference to the shared schemas app.ts registers: they keep accepting extra
// fields (DESIGN.md §2), and the handler gets the canonical payload as a plain record.
const Payload = (kind: PayloadKind) => Type.Unsafe<Record<string, unknown>>({ $ref: `${schemaId(kind)}#` });
const Success = Type.Unsafe<SuccessEnvelope>({ $ref: 'SuccessEnvelope#' });

export async function ingestRoutes(
  fastify: FastifyInstance,
  deps: {
    auth: AuthHelpers;
    committer: GroupCommitter;
    now: () => Date;
    counters: IngestCounters;
    quotas: Quotas;
  },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const requireAgent = deps.auth.requireAgent({ deferRevocation: true });
  const store = async (
    req: FastifyRequest,
    kind: PayloadKind | OpsKind,
    payload: Record<string, unknown>,
  ): Promise<typeof SUCCESS> => {
    const p = deps.auth.principal(req);
    if (p.kind !== 'agent') throw apiError('NANNY_ERR_UNAUTHORIZED', 'Agent token required');
    const outcome = await deps.committer.submit({
      tenantId: p.tenantId,
      agentId: p.agentId,
      tokenVersion: p.tokenVersion,
      kind,
      payload,
      receivedAt: deps.now().toISOString(),
      quotas: deps.quotas,
    });
    if (!outcome.ok) {
      deps.counters.rejected++;
      if (outcome.reason === 'revoked') throw apiError('NANNY_ERR_UNAUTHORIZED', 'Access token revoked');
      if (outcome.reason === 'forbidden') throw apiError('NANNY_ERR_FORBIDDEN', outcome.message);
      if (outcome.reason === 'quota') throw apiError('NANNY_ERR_QUOTA_EXCEEDED', outcome.message);
      throw apiError('NANNY_ERR_SERVER', 'Storing the report failed', {
        cause: 'error' in outcome ? outcome.error : undefined,
      });
    }
    deps.counters.accepted[kind]++;
    return SUCCESS;
  };
  for (const kind of OPS_KINDS) {
    app.post(
      `${INGEST_PATH_PREFIX}${kind}`,
      {
        schema: {
          tags: ['ingest'],
          summary: `Ingest the ${kind} report (our addition, docs/wire-contract.md)`,
          security: [{ bearerAuth: [] }],
          body: Type.Unsafe<Record<string, unknown>>({ $ref: `${OPS_SCHEMAS[kind].$id}#` }),
          response: replies(Success),
        },
        onRequest: requireAgent,
      },
      // Bounded by its schema (maxItems, maxLength); stored with the fields it knows (issue 13, M7).
      async (req) => {
        const bounded = boundOpsReport(kind, req.body);
        deps.counters.extraDropped += bounded.dropped;
        return store(req, kind, bounded.payload);
      },
    );
  }
  for (const kind of PAYLOAD_KINDS) {
    app.post(
      `${INGEST_PATH_PREFIX}${kind}`,
      {
        schema: {
          tags: ['ingest'],
          summary: `Ingest ${kind} data (spec: PROXMOX_INTEGRATION.md)`,
          security: [{ bearerAuth: [] }],
          body: Payload(kind),
          response: replies(Success),
        },
        // Authenticate before the body is validated: an unauthenticated caller learns nothing.
        onRequest: requireAgent,
        // Upstream agents' field names (nodeid, pveversion, px_cluster_id, cpu…) become canonical
        // before the schema sees them.
        preValidation: async (req: FastifyRequest) => {
          req.body = normalizePayload(kind, req.body).body;
        },
      },
      async (req) => {
        // Stored: the known fields and a bounded map of unknown scalars (issue 13, M7).
        const bounded = boundReport(kind, req.body);
        deps.counters.extraDropped += bounded.dropped;
        return store(req, kind, bounded.payload);
      },
    );
  }
}

export function schemaId(kind: PayloadKind): string {
  return {
    cluster: 'ProxmoxCluster',
    node: 'ProxmoxNode',
    lxc: 'ProxmoxLXC',
    qemu: 'ProxmoxQEMU',
    storage: 'ProxmoxStorage',
  }[kind];
}
