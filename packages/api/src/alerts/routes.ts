/**
 * HTTP API of alerts, silences, settings and notification channels. Read endpoints need a read
 * token (or a session); acknowledging needs write; settings, silences and channels need an
 * administrator. Every query is scoped by the caller's tenant.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  AlertDetail,
  AlertRuleView,
  AlertView,
  ChannelView,
  DataEnvelope,
  DeliveryView,
  IdData,
  SilenceView,
} from '@nanny/schema';
import { apiError, errorMessage } from '../errors.ts';
import type { ModuleContext } from '../module-contract.ts';
import type { AlertStore } from '../storage/alerts.ts';
import { testNotification } from '../notify/message.ts';
import { CHANNEL_TYPES, type Channel, type ChannelType } from '../notify/types.ts';
import { RULES } from './rules/index.ts';
import { RULE_DEFAULTS } from './settings.ts';
import type { AlertService } from './service.ts';
import { AlertSettingsSchema } from './settings-schema.ts';
import type { AlertSettings, Severity } from './types.ts';
import { alertView, channelView, silenceView } from './views.ts';
import { IdParam, Paging, paging, replies } from '../routes/schemas.ts';

const AlertQuery = Type.Object({
  state: Type.Optional(Type.Union([Type.Literal('firing'), Type.Literal('resolved')])),
  cluster: Type.Optional(Type.String({ maxLength: 64, description: 'cluster id' })),
  rule: Type.Optional(Type.String({ maxLength: 64 })),
  ...Paging,
});
const SilenceBody = Type.Object(
  {
    cluster_id: Type.Optional(
      Type.String({ maxLength: 256, description: 'cluster id or name; absent = every cluster' }),
    ),
    node: Type.Optional(Type.String({ maxLength: 256 })),
    rule: Type.Optional(Type.String({ maxLength: 64 })),
    starts_at: Type.Optional(Type.String({ maxLength: 40, description: 'ISO-8601, default now' })),
    ends_at: Type.Optional(Type.String({ maxLength: 40, description: 'ISO-8601' })),
    duration_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 366 * 86400 })),
    comment: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
const SeverityT = Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]);
const ChannelBody = Type.Object(
  {
    type: Type.String({ maxLength: 32, description: CHANNEL_TYPES.join(' | ') }),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    min_severity: Type.Optional(SeverityT),
  },
  { additionalProperties: true, description: 'plus the fields of the type: see docs/alerts.md' },
);

const tags = ['alerts'];

export interface AlertRouteDeps {
  ctx: ModuleContext;
  store: AlertStore;
  service: AlertService;
}

export async function alertRoutes(
  fastify: FastifyInstance,
  { ctx, store, service }: AlertRouteDeps,
): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const read = ctx.auth.requireToken('read');
  const write = ctx.auth.requireToken('write');
  // M3: a `user` reads alerts and acknowledges them; settings, silences and channels (whose
  // configuration holds secrets and outbound addresses) are an administrator's.
  const adminRead = ctx.auth.requireToken('read', { admin: true });
  const adminWrite = ctx.auth.requireToken('write', { admin: true });
  const tenant = (req: FastifyRequest) => ctx.auth.principal(req).tenantId;
  const nowIso = () => ctx.now().toISOString();
  /** who did it: a user's name, or the token's owner, or the token id */
  const who = async (req: FastifyRequest): Promise<string> => {
    const p = ctx.auth.principal(req);
    if (p.kind === 'user') return p.username;
    if (p.kind === 'token') {
      const u = p.userId ? await ctx.storage.userById(p.userId) : undefined;
      return u ? u.username : `token:${p.tokenId}`;
    }
    return `agent:${p.agentId}`;
  };

  app.get(
    '/api/alerts',
    {
      schema: {
        tags,
        summary: 'Alerts, newest first; `state=firing|resolved`',
        querystring: AlertQuery,
        response: replies(DataEnvelope(Type.Array(AlertView))),
      },
      preHandler: read,
    },
    async (req) => {
      const q = req.query;
      const rows = await store.listAlerts(tenant(req), {
        state: q.state,
        clusterId: q.cluster,
        rule: q.rule,
        ...paging(q),
      });
      return { success: true as const, data: rows.map(alertView) };
    },
  );

  app.get(
    '/api/alerts/rules',
    {
      schema: {
        tags,
        summary: 'Every rule with its severity and defaults',
        response: replies(DataEnvelope(Type.Array(AlertRuleView))),
      },
      preHandler: read,
    },
    async () => ({
      success: true as const,
      data: RULES.map((r) => ({
        id: r.id,
        severity: r.severity,
        title: r.title,
        defaults: RULE_DEFAULTS[r.id],
      })),
    }),
  );

  app.get(
    '/api/alerts/settings',
    {
      schema: {
        tags,
        summary: 'Thresholds and overrides of this organisation',
        response: replies(DataEnvelope(AlertSettingsSchema)),
      },
      preHandler: read,
    },
    async (req) => ({
      success: true as const,
      data: (await store.getSettings(tenant(req))) ?? {},
    }),
  );
  app.put(
    '/api/alerts/settings',
    {
      schema: {
        tags,
        summary: 'Replace thresholds and overrides (global, per cluster, node, guest tag)',
        body: AlertSettingsSchema,
        response: replies(DataEnvelope(AlertSettingsSchema)),
      },
      preHandler: adminWrite,
    },
    async (req) => {
      const settings: AlertSettings = req.body;
      await store.putSettings(tenant(req), settings, nowIso());
      service.settingsChanged(tenant(req));
      return { success: true as const, data: settings };
    },
  );

  app.get(
    '/api/alerts/silences',
    {
      schema: {
        tags,
        summary: 'Silences not yet ended',
        response: replies(DataEnvelope(Type.Array(SilenceView))),
      },
      preHandler: read,
    },
    async (req) => ({
      success: true as const,
      data: (await store.listSilences(tenant(req), nowIso())).map(silenceView),
    }),
  );
  app.post(
    '/api/alerts/silences',
    {
      schema: {
        tags,
        summary: 'Silence notifications by cluster, node and/or rule for a time window',
        body: SilenceBody,
        response: replies(DataEnvelope(SilenceView), 201),
      },
      preHandler: adminWrite,
    },
    async (req, reply) => {
      const b = req.body;
      const now = ctx.now().getTime();
      const starts = b.starts_at === undefined ? now : Date.parse(b.starts_at);
      if (Number.isNaN(starts))
        throw apiError('NANNY_ERR_INVALID_REQUEST', 'starts_at: not an ISO-8601 time');
      let ends: number;
      if (b.ends_at !== undefined) ends = Date.parse(b.ends_at);
      else if (b.duration_seconds !== undefined) ends = starts + b.duration_seconds * 1000;
      else throw apiError('NANNY_ERR_INVALID_REQUEST', 'ends_at or duration_seconds is required');
      if (Number.isNaN(ends) || ends <= starts)
        throw apiError('NANNY_ERR_INVALID_REQUEST', 'ends_at: must be after starts_at');
      if (b.rule !== undefined && !RULES.some((r) => r.id === b.rule))
        throw apiError('NANNY_ERR_INVALID_REQUEST', `rule: unknown rule ${b.rule}`);
      const s = {
        id: randomUUID(),
        tenant_id: tenant(req),
        cluster_id: b.cluster_id ?? null,
        node: b.node ?? null,
        rule: b.rule ?? null,
        starts_at: new Date(starts).toISOString(),
        ends_at: new Date(ends).toISOString(),
        comment: b.comment ?? null,
        created_by: await who(req),
        created_at: nowIso(),
      };
      await store.createSilence(s);
      return reply.code(201).send({ success: true as const, data: silenceView(s) });
    },
  );
  app.delete(
    '/api/alerts/silences/:id',
    {
      schema: { tags, summary: 'End a silence', params: IdParam, response: replies(IdData) },
      preHandler: adminWrite,
    },
    async (req) => {
      const { id } = req.params;
      if (!(await store.deleteSilence(tenant(req), id)))
        throw apiError('NANNY_ERR_NOT_FOUND', 'No such silence');
      return { success: true as const, data: { id } };
    },
  );

  app.get(
    '/api/alerts/:id',
    {
      schema: { tags, summary: 'One alert', params: IdParam, response: replies(DataEnvelope(AlertDetail)) },
      preHandler: read,
    },
    async (req) => {
      const { id } = req.params;
      const a = await store.getAlert(tenant(req), id);
      if (!a) throw apiError('NANNY_ERR_NOT_FOUND', 'No such alert');
      return {
        success: true as const,
        data: {
          ...alertView(a),
          deliveries: await store.listDeliveries(tenant(req), { alertId: id, limit: 100 }),
        },
      };
    },
  );
  app.post(
    '/api/alerts/:id/acknowledge',
    {
      schema: {
        tags,
        summary: 'Acknowledge an alert (records who and when; the first acknowledgement stays)',
        params: IdParam,
        response: replies(DataEnvelope(AlertView)),
      },
      preHandler: write,
    },
    async (req) => {
      const { id } = req.params;
      const a = await store.acknowledge(tenant(req), id, await who(req), nowIso());
      if (!a) throw apiError('NANNY_ERR_NOT_FOUND', 'No such alert');
      return { success: true as const, data: alertView(a) };
    },
  );

  // ------------------------------------------------------------------ notification channels
  app.post(
    '/api/notification-channels',
    {
      schema: {
        tags,
        summary: 'Add a notification channel (webhook, slack, discord, ntfy, gotify, email)',
        body: ChannelBody,
        response: replies(DataEnvelope(ChannelView), 201),
      },
      preHandler: adminWrite,
    },
    async (req, reply) => {
      const b = req.body;
      if (!CHANNEL_TYPES.includes(b.type as ChannelType))
        throw apiError('NANNY_ERR_INVALID_REQUEST', `type: one of ${CHANNEL_TYPES.join(', ')}`);
      const parsed = service.notifiers[b.type as ChannelType].parse(b);
      if (!parsed.ok) throw apiError('NANNY_ERR_INVALID_REQUEST', parsed.errors.join('; '));
      const c: Channel = {
        id: randomUUID(),
        tenantId: tenant(req),
        type: b.type as ChannelType,
        name: b.name,
        config: parsed.config,
        minSeverity: (b.min_severity ?? 'info') as Severity,
      };
      if (!(await store.createChannel(c, nowIso())))
        throw apiError('NANNY_ERR_CONFLICT', `A channel named "${b.name}" exists already`);
      return reply.code(201).send({ success: true as const, data: channelView(c) });
    },
  );
  app.get(
    '/api/notification-channels',
    {
      schema: {
        tags,
        summary: 'Notification channels (secrets hidden)',
        response: replies(DataEnvelope(Type.Array(ChannelView))),
      },
      preHandler: adminRead,
    },
    async (req) => ({
      success: true as const,
      data: (await store.listChannels(tenant(req))).map(channelView),
    }),
  );
  app.get(
    '/api/notification-channels/:id',
    {
      schema: {
        tags,
        summary: 'One notification channel (secrets hidden)',
        params: IdParam,
        response: replies(DataEnvelope(ChannelView)),
      },
      preHandler: adminRead,
    },
    async (req) => {
      const { id } = req.params;
      const c = await store.getChannel(tenant(req), id);
      if (!c) throw apiError('NANNY_ERR_NOT_FOUND', 'No such channel');
      return { success: true as const, data: channelView(c) };
    },
  );
  app.delete(
    '/api/notification-channels/:id',
    {
      schema: {
        tags,
        summary: 'Delete a channel (its queued deliveries are dropped)',
        params: IdParam,
        response: replies(IdData),
      },
      preHandler: adminWrite,
    },
    async (req) => {
      const { id } = req.params;
      if (!(await store.deleteChannel(tenant(req), id)))
        throw apiError('NANNY_ERR_NOT_FOUND', 'No such channel');
      return { success: true as const, data: { id } };
    },
  );
  app.post(
    '/api/notification-channels/:id/test',
    {
      schema: {
        tags,
        summary: 'Send a test notification now (not queued); answers whether it arrived',
        params: IdParam,
        response: replies(DataEnvelope(Type.Object({ delivered: Type.Boolean() }))),
      },
      preHandler: adminWrite,
    },
    async (req) => {
      const { id } = req.params;
      const c = await store.getChannel(tenant(req), id);
      if (!c) throw apiError('NANNY_ERR_NOT_FOUND', 'No such channel');
      try {
        await service.notifiers[c.type].send(c.config, testNotification(c.name, ctx.now().getTime()), {
          idempotencyKey: `test:${randomUUID()}`,
          timeoutMs: 10_000,
        });
      } catch (err) {
        throw apiError('NANNY_ERR_UNAVAILABLE', `Test notification failed: ${errorMessage(err)}`, {
          cause: err,
        });
      }
      return { success: true as const, data: { delivered: true } };
    },
  );
  app.get(
    '/api/notification-channels/:id/deliveries',
    {
      schema: {
        tags,
        summary: 'Recent deliveries of a channel with their status and last error',
        params: IdParam,
        response: replies(DataEnvelope(Type.Array(DeliveryView))),
      },
      preHandler: adminRead,
    },
    async (req) => {
      const { id } = req.params;
      // An unknown (or another organisation's) channel is a 404, not an empty log.
      if (!(await store.getChannel(tenant(req), id)))
        throw apiError('NANNY_ERR_NOT_FOUND', 'No such channel');
      return {
        success: true as const,
        data: await store.listDeliveries(tenant(req), { channelId: id, limit: 100 }),
      };
    },
  );
}
