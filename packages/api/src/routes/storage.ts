/** GET /api/storage (issue 15): every storage pool, a shared one once per cluster. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { DataEnvelope, StoragePoolView } from '@nanny/schema';
import type { AuthHelpers } from '../auth/auth.ts';
import type { Storage } from '../storage/storage.ts';
import { replies } from './schemas.ts';

const StorageQuery = Type.Object({
  cluster: Type.Optional(Type.String({ maxLength: 64, description: 'cluster id' })),
  node: Type.Optional(
    Type.String({ maxLength: 256, description: 'node name (its shared storages included)' }),
  ),
});

export async function storageRoutes(fastify: FastifyInstance, deps: { storage: Storage; auth: AuthHelpers }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/storage',
    {
      schema: {
        tags: ['read'],
        summary: 'Storage pools: use, fill ratio and days until full; a shared storage once per cluster',
        querystring: StorageQuery,
        response: replies(DataEnvelope(Type.Array(StoragePoolView))),
      },
      preHandler: deps.auth.requireToken('read'),
    },
    async (req) => {
      const tenantId = deps.auth.principal(req).tenantId;
      const data = await deps.storage.listStoragePools(tenantId, {
        ...(req.query.cluster !== undefined ? { clusterId: req.query.cluster } : {}),
        ...(req.query.node !== undefined ? { node: req.query.node } : {}),
      });
      return { success: true as const, data };
    },
  );
}
