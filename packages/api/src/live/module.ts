/**
 * The live module: `GET /api/stream`, server-sent events for the dashboard. A logged-in user (session
 * cookie; EventSource sends cookies and cannot send headers) gets the changes of their own tenant:
 * `change` after ingest (coalesced; the alerts an ingest fired or resolved are stored by then: the
 * alerts module's listener runs first), `resync` after a stall. Heartbeat comments keep proxies from closing an idle stream.
 *
 * Alerts are evaluated by the leader replica, also without any ingest (the timer rules: a silent
 * agent, a missing backup, a threshold held long enough). So what the leader fires or resolves comes
 * to every replica's streams through the database: the leader writes it to `live_changes` in its
 * evaluation transaction, and each replica reads the new rows every second.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiModule, ModuleContext, ModuleInstance } from '../module-contract.ts';
import { createLiveHub, type LiveClient, type LiveHub } from './hub.ts';
import { createLiveChangeStore, type LiveChangeStore } from '../storage/live-changes.ts';

/** streams one user may hold (tabs); the oldest is closed beyond this */
export const STREAMS_PER_USER = 6;
/** bytes buffered for one stream before it is skipped until it drains */
const MAX_BUFFERED = 256 * 1024;
const HEARTBEAT_MS = 15_000;
const COALESCE_MS = 300;
/** how often a replica with open streams reads the change feed */
export const FEED_POLL_MS = 1000;
/** feed rows read per look */
const FEED_BATCH = 500;

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

/**
 * Reads the change feed into the hub: `start()` takes the newest row as the cursor (streams opened
 * later load their page whole anyway), each `look()` passes on the rows after it. A tenant with no
 * open stream here is skipped by the hub.
 */
export function createFeedReader(store: LiveChangeStore, hub: LiveHub) {
  let cursor = 0;
  return {
    async start(): Promise<void> {
      cursor = await store.latest();
    },
    async look(): Promise<void> {
      for (;;) {
        const rows = await store.since(cursor, FEED_BATCH);
        for (const r of rows) {
          hub.note(r.tenantId, { kind: r.kind, clusterId: r.clusterId, events: [] });
          cursor = r.seq;
        }
        if (rows.length < FEED_BATCH) return;
      }
    },
  };
}

export function createLive(ctx: ModuleContext): LiveInstance {
  const hub = createLiveHub({
    maxPerUser: STREAMS_PER_USER,
    coalesceMs: COALESCE_MS,
    heartbeatMs: HEARTBEAT_MS,
  });
  const feed = createFeedReader(ctx.storage.extend(createLiveChangeStore), hub);
  return {
    hub,
    start: async () => {
      await feed.start();
      let running: Promise<void> | undefined;
      const timer = setInterval(() => {
        // one look at a time: a slow database does not pile looks up
        running ??= feed
          .look()
          .catch((err: unknown) => ctx.log.warn({ err }, 'live change feed not read'))
          .finally(() => (running = undefined));
      }, FEED_POLL_MS);
      timer.unref();
      return async () => {
        clearInterval(timer);
        await running;
      };
    },
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
