/**
 * Usage history of a node or a guest at the resolution the range asks for: raw samples for a
 * short range, 5-minute rollups up to a month, hourly beyond (or the finest that fits
 * `max_points`), never a resolution whose horizon has already dropped the range's start.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { DataEnvelope, GuestHistory, NodeHistory } from '@nanny/schema';
import { apiError } from '../errors.ts';
import type { AuthHelpers } from '../auth/auth.ts';
import type { Storage } from '../storage/storage.ts';
import {
  RESOLUTION_SECONDS,
  type HistoryHorizons,
  type HistoryResolution,
} from '../storage/history-types.ts';
import { IdParam, isoParam, replies } from './schemas.ts';

const DAY_MS = 86400_000;
/** the most points one answer carries (two years hourly) */
const MAX_POINTS = 20_000;
const ORDER: readonly HistoryResolution[] = ['raw', '5m', '1h'];

const HistoryQuery = Type.Object({
  from: Type.Optional(
    Type.String({ maxLength: 40, description: 'start, ISO-8601 (default: 24 h before `to`)' }),
  ),
  to: Type.Optional(Type.String({ maxLength: 40, description: 'end, ISO-8601 (default: now)' })),
  resolution: Type.Optional(
    Type.Union([Type.Literal('auto'), Type.Literal('raw'), Type.Literal('5m'), Type.Literal('1h')], {
      description: '`auto` (default): raw up to 2 days, 5-minute up to 30 days, else hourly',
    }),
  ),
  max_points: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_POINTS,
      description:
        'with `auto`, the finest resolution giving at most this many points; the latest points are kept',
    }),
  ),
});

/**
 * `auto`: raw up to 2 days, 5-minute up to 30 days, hourly beyond; coarser while the range would
 * need more than `maxPoints`, or while the resolution's horizon no longer reaches back to `from`.
 */
export function chooseResolution(
  fromMs: number,
  toMs: number,
  nowMs: number,
  h: HistoryHorizons,
  maxPoints?: number,
): HistoryResolution {
  const span = Math.max(0, toMs - fromMs);
  const kept: Record<HistoryResolution, number> = {
    raw: h.rawDays,
    '5m': h.fiveMinuteDays,
    '1h': h.hourlyDays,
  };
  let i = span <= 2 * DAY_MS ? 0 : span <= 30 * DAY_MS ? 1 : 2;
  for (; i < ORDER.length - 1; i++) {
    const r = ORDER[i]!;
    const tooMany = maxPoints !== undefined && span / (RESOLUTION_SECONDS[r] * 1000) > maxPoints;
    const dropped = fromMs < nowMs - kept[r] * DAY_MS;
    if (!tooMany && !dropped) break;
  }
  return ORDER[i]!;
}

/** A query time in epoch ms, checked as strictly as every read route checks it (schemas.ts). */
function timeParam(name: string, v: string | undefined): number | undefined {
  const iso = isoParam(name, v);
  return iso === undefined ? undefined : Date.parse(iso);
}

export async function historyRoutes(
  fastify: FastifyInstance,
  deps: { storage: Storage; auth: AuthHelpers; now: () => Date; horizons: HistoryHorizons },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { storage, auth } = deps;
  const read = auth.requireToken('read');
  const tenant = (req: Parameters<AuthHelpers['principal']>[0]) => auth.principal(req).tenantId;
  const rangeOf = (q: { from?: string; to?: string; resolution?: string; max_points?: number }) => {
    const now = deps.now().getTime();
    const to = timeParam('to', q.to) ?? now;
    const from = timeParam('from', q.from) ?? to - DAY_MS;
    if (from > to) throw apiError('NANNY_ERR_INVALID_REQUEST', '`from` is after `to`');
    const resolution =
      q.resolution === undefined || q.resolution === 'auto'
        ? chooseResolution(from, to, now, deps.horizons, q.max_points)
        : (q.resolution as HistoryResolution);
    const range = {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      resolution,
      limit: q.max_points ?? MAX_POINTS,
    };
    return {
      range,
      meta: { from: range.from, to: range.to, resolution, step_seconds: RESOLUTION_SECONDS[resolution] },
    };
  };

  app.get(
    '/api/nodes/:id/history',
    {
      schema: {
        tags: ['read'],
        summary: 'A node’s usage history (cpu, memory, root fs, load) at the resolution the range asks for',
        params: IdParam,
        querystring: HistoryQuery,
        response: replies(DataEnvelope(NodeHistory)),
      },
      preHandler: read,
    },
    async (req) => {
      const { range, meta } = rangeOf(req.query);
      const points = await storage.nodeHistory(tenant(req), req.params.id, range);
      if (!points) throw apiError('NANNY_ERR_NOT_FOUND', 'No such node');
      return { success: true as const, data: { ...meta, points } };
    },
  );
  app.get(
    '/api/guests/:id/history',
    {
      schema: {
        tags: ['read'],
        summary:
          'A guest’s usage history (cpu, memory, disk, network counters) at the resolution the range asks for',
        params: IdParam,
        querystring: HistoryQuery,
        response: replies(DataEnvelope(GuestHistory)),
      },
      preHandler: read,
    },
    async (req) => {
      const { range, meta } = rangeOf(req.query);
      const points = await storage.guestHistory(tenant(req), req.params.id, range);
      if (!points) throw apiError('NANNY_ERR_NOT_FOUND', 'No such guest');
      return { success: true as const, data: { ...meta, points } };
    },
  );
}
