/**
 * The live module: `GET /api/stream`, server-sent events for the dashboard. A logged-in user (session
 * cookie; EventSource sends cookies and cannot send headers) gets the changes of their own tenant:
 * `change` after ingest (coalesced; the alerts an ingest fired or resolved are stored by then: the
 * alerts module's listener runs first), `resync` after a stall. Heartbeat comments keep proxies from closing an idle stream.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiModule, ModuleContext, ModuleInstance } from '../module-contract.ts';
import { createLiveHub, type LiveClient, type LiveHub } from './hub.ts';

/** streams one user may hold (tabs); the oldest is closed beyond this */
export const STREAMS_PER_USER = 6;
/** bytes buffered for one stream before it is skipped until it drains */
const MAX_BUFFERED = 256 * 1024;
const HEARTBEAT_MS = 15_000;
const COALESCE_MS = 300;

export interface LiveInstance extends ModuleInstance {
  hub: LiveHub;
}

async function streamRoute(app: FastifyInstance, ctx: ModuleContext, hub: LiveHub) {
  app.addHook('preClose', async () => hub.close());
  app.get(
    '/api/stream',
    {
      schema: {
        tags: ['read'],
        summary:
          'Server-sent events for the dashboard (session cookie): `change` after ingest, `resync` after a stall; `: ping` every 15 s',
      },
      preHandler: ctx.auth.requireUser(),
    },
    async (req, reply) => {
      const p = ctx.auth.principal(req);
      const raw = reply.raw;
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write('retry: 3000\n: connected\n\n');
      const client: LiveClient = {
        tenantId: p.tenantId,
        userKey: p.kind === 'user' ? p.userId : p.tenantId,
        write: (chunk) => {
          if (raw.writableLength > MAX_BUFFERED) return false;
          return raw.write(chunk) || raw.writableLength <= MAX_BUFFERED;
        },
        end: () => raw.end(),
      };
      const remove = hub.add(client);
      raw.on('drain', () => hub.drained(client));
      raw.on('close', remove);
    },
  );
}

export function createLive(ctx: ModuleContext): LiveInstance {
  const hub = createLiveHub({
    maxPerUser: STREAMS_PER_USER,
    coalesceMs: COALESCE_MS,
    heartbeatMs: HEARTBEAT_MS,
  });
  return {
    hub,
    routes: (app) => streamRoute(app, ctx, hub),
    ingestListener: {
      name: 'live',
      afterIngest: (rec) =>
        hub.note(rec.tenantId, {
          kind: rec.kind,
          clusterId: rec.clusterId,
          ...(rec.nodeId !== undefined ? { nodeId: rec.nodeId } : {}),
          events: rec.events.map((e) => e.type),
        }),
    },
  };
}

export const liveModule: ApiModule = { name: 'live', create: createLive };
