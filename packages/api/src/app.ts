/**
 * buildApp(config): the whole API as a Fastify instance, not listening (tests use inject()).
 * main.ts / cli.ts listen. Everything the app needs is passed in or built here: no singletons.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  ErrorEnvelope,
  ProxmoxCluster,
  ProxmoxLXC,
  ProxmoxNode,
  ProxmoxQEMU,
  RefreshRequest,
  RegisterRequest,
  SuccessEnvelope,
  TokenResponse,
} from '@nanny/schema';
import type { ApiConfig } from './config.ts';
import { ApiError, codeForStatus, envelope } from './errors.ts';
import { createAuth, type AuthHelpers } from './auth/auth.ts';
import { TOKEN_PREFIX, hashPassword, newToken } from './auth/tokens.ts';
import type { Storage } from './storage/storage.ts';
import { createStorage } from './storage/index.ts';
import { createGroupCommitter, type GroupCommitter } from './ingest/committer.ts';
import type { IngestListener } from './ingest/listeners.ts';
import { ingestRoutes, type IngestCounters } from './ingest/routes.ts';
import { agentRoutes } from './routes/agent.ts';
import { userRoutes } from './routes/users.ts';
import { readRoutes } from './routes/read.ts';
import { opsRoutes, type ServerCounters } from './routes/ops.ts';
import { schemaController } from './routes/validation.ts';
import { registerHardening } from './hardening.ts';
import { MODULES, type ApiModule, type ModuleContext } from './modules.ts';

export interface BuildOptions {
  /** use this storage (the caller closes it) instead of opening the configured database */
  storage?: Storage;
  /** modules to load; default: the MODULES list */
  modules?: readonly ApiModule[];
  /** extra ingest listeners (tests) */
  listeners?: readonly IngestListener[];
  now?: () => Date;
  /** a pino logger config or `false`; default follows config.logLevel */
  logger?: boolean | Record<string, unknown>;
}

export interface SetupInfo {
  /** set when this start created the first admin */
  adminCreated: boolean;
  username: string;
  /** the one-time setup password, when it was generated (not when given by NANNYAPI_ADMIN_PASSWORD) */
  generatedPassword?: string;
}

export interface Nanny {
  storage: Storage;
  auth: AuthHelpers;
  committer: GroupCommitter;
  setup: SetupInfo;
  config: Readonly<ApiConfig>;
}

declare module 'fastify' {
  interface FastifyInstance {
    nanny: Nanny;
  }
}

/** Creates the default organisation and, on a fresh database, the first admin. */
export async function bootstrap(
  storage: Storage,
  config: Readonly<ApiConfig>,
  now: string,
): Promise<SetupInfo> {
  const tenant = await storage.ensureTenant('default', now);
  if ((await storage.countUsers()) > 0) return { adminCreated: false, username: config.adminUser };
  const generated = config.adminPassword === undefined ? newToken(TOKEN_PREFIX.setup) : undefined;
  try {
    await storage.createUser({
      tenant_id: tenant.id,
      username: config.adminUser,
      password_hash: await hashPassword(config.adminPassword ?? generated!),
      role: 'admin',
      created_at: now,
    });
  } catch (err) {
    // Another replica or a concurrent CLI created the admin first: that is fine.
    if ((await storage.countUsers()) > 0) return { adminCreated: false, username: config.adminUser };
    throw err;
  }
  return {
    adminCreated: true,
    username: config.adminUser,
    ...(generated ? { generatedPassword: generated } : {}),
  };
}

export async function buildApp(
  config: Readonly<ApiConfig>,
  opts: BuildOptions = {},
): Promise<FastifyInstance> {
  const now = opts.now ?? (() => new Date());
  const ownsStorage = !opts.storage;
  const storage = opts.storage ?? (await createStorage(config));
  const verbose = config.logLevel === 'debug' || config.logLevel === 'trace';
  const app = Fastify({
    logger: opts.logger ?? (config.logLevel === 'silent' ? false : { level: config.logLevel }),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // Per-request log lines cost more than the ingest itself at 10k req/s; errors are still logged.
    logController: new LogController({ disableRequestLogging: !verbose }),
    ...(config.tlsCert && config.tlsKey ? { https: { cert: config.tlsCert, key: config.tlsKey } } : {}),
    // The spec is law: "vmid": "100" is an error, not 100; nothing is stripped or defaulted. Query
    // strings and path parameters are text on the wire, so those alone are coerced.
    schemaController: schemaController({
      coerceTypes: false,
      removeAdditional: false,
      useDefaults: false,
      allErrors: false,
    }),
  });
  try {
    const setup = await bootstrap(storage, config, now().toISOString());
    const jwtSecret = await storage.secret('jwt_secret', () => randomBytes(32).toString('hex'));
    const auth = createAuth({
      storage,
      jwtSecret,
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      refreshTokenTtlDays: config.refreshTokenTtlDays,
      now,
    });
    const modules = opts.modules ?? MODULES;
    const ctx: ModuleContext = { config, storage, log: app.log, auth, now };
    const listeners = [
      ...modules.flatMap((m) => (m.ingestListener ? [m.ingestListener(ctx)] : [])),
      ...(opts.listeners ?? []),
    ];
    const committer = createGroupCommitter(storage, listeners, app.log);
    app.decorate('nanny', { storage, auth, committer, setup, config });
    app.decorateRequest('principal', null);

    const counters: IngestCounters = { accepted: { cluster: 0, node: 0, lxc: 0, qemu: 0 }, rejected: 0 };
    const server: ServerCounters = { requests: new Map(), started: now().getTime() };
    app.addHook('onResponse', async (_req, reply) => {
      const k = String(reply.statusCode);
      server.requests.set(k, (server.requests.get(k) ?? 0) + 1);
    });

    app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
      if (err instanceof ApiError) {
        if (err.status >= 500) req.log.error({ err: err.cause ?? err }, err.message);
        void reply.code(err.status).headers(err.headers).send(envelope(err.code, err.message));
        return;
      }
      const fe = err as FastifyError & {
        validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[];
      };
      if (fe.validation) {
        const parts = fe.validation.slice(0, 5).map((v) => {
          // a missing field, or an unknown one (strict bodies): name it
          const missing = v.params?.['missingProperty'] ?? v.params?.['additionalProperty'];
          const path = (v.instancePath ?? '').slice(1).replaceAll('/', '.');
          const field = [path, typeof missing === 'string' ? missing : ''].filter((x) => x !== '').join('.');
          return `${field || (fe.validationContext ?? 'body')}: ${v.message ?? 'invalid'}`;
        });
        void reply.code(400).send(envelope('invalid_request', parts.join('; ')));
        return;
      }
      const status = fe.statusCode ?? 500;
      if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
        void reply
          .code(413)
          .send(envelope('payload_too_large', `Body larger than ${config.bodyLimitBytes} bytes`));
        return;
      }
      if (
        fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
        fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
        err instanceof SyntaxError
      ) {
        void reply.code(400).send(envelope('invalid_request', 'Malformed JSON body'));
        return;
      }
      if (status >= 500) {
        req.log.error({ err }, 'request failed');
        void reply.code(500).send(envelope('server_error', 'Internal server error'));
        return;
      }
      void reply.code(status).send(envelope(codeForStatus(status), fe.message));
    });
    app.setNotFoundHandler((req, reply) => {
      void reply.code(404).send(envelope('not_found', `No route ${req.method} ${req.url.split('?')[0]}`));
    });

    registerHardening(app, {
      rateLimit: config.rateLimit,
      rateLimitIp: config.rateLimitIp,
      tls: !!config.tlsCert,
      now,
    });
    await app.register(cookie);

    for (const s of [
      ProxmoxCluster,
      ProxmoxNode,
      ProxmoxLXC,
      ProxmoxQEMU,
      RegisterRequest,
      RefreshRequest,
      TokenResponse,
    ])
      app.addSchema(s);
    app.addSchema({ ...SuccessEnvelope, $id: 'SuccessEnvelope' });
    app.addSchema({ ...ErrorEnvelope, $id: 'ErrorEnvelope' });

    await app.register(swagger, {
      openapi: {
        info: {
          title: 'nannyapi',
          version: '0.1.0',
          description:
            'Proxmox VE monitoring API: ingestion (PROXMOX_INTEGRATION.md), agents, read API. See docs/api.md.',
        },
        components: {
          securitySchemes: {
            bearerAuth: {
              type: 'http',
              scheme: 'bearer',
              description: 'agent access token (JWT) or personal API token',
            },
            cookieAuth: { type: 'apiKey', in: 'cookie', name: 'nannyapi_session' },
          },
        },
        security: [{ bearerAuth: [] }, { cookieAuth: [] }],
      },
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, i) => String(json['$id'] ?? `def-${i}`),
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

    await app.register(async (a) => ingestRoutes(a, { auth, committer, now, counters }));
    await app.register(async (a) => agentRoutes(a, { storage, auth, now }));
    await app.register(async (a) =>
      userRoutes(a, {
        storage,
        auth,
        now,
        sessionTtlHours: config.sessionTtlHours,
        secureCookie: !!config.tlsCert,
      }),
    );
    await app.register(async (a) => readRoutes(a, { storage, auth, now }));
    await app.register(async (a) =>
      opsRoutes(a, { storage, auth, committer, ingest: counters, server, now }),
    );
    for (const m of modules) if (m.routes) await app.register(async (a) => m.routes!(a, ctx));

    const stops: (() => Promise<void>)[] = [];
    let pruneTimer: NodeJS.Timeout | undefined;
    app.addHook('onReady', async () => {
      for (const m of modules) if (m.start) stops.push(await m.start(ctx));
      const prune = async () => {
        try {
          const before = new Date(now().getTime() - config.retentionDays * 86400_000).toISOString();
          const r = await storage.prune(before);
          app.log.debug({ ...r }, 'retention: history pruned');
        } catch (err) {
          app.log.error({ err }, 'retention pruning failed');
        }
      };
      pruneTimer = setInterval(() => void prune(), 3600_000);
      pruneTimer.unref();
    });
    app.addHook('onClose', async () => {
      if (pruneTimer) clearInterval(pruneTimer);
      // Drain first: reports acknowledged before the close still reach the modules' listeners
      // (alerts) while those are running.
      await committer.drain();
      for (const stop of stops.reverse()) await stop();
      if (ownsStorage) await storage.close();
    });
    return app;
  } catch (err) {
    if (ownsStorage) await storage.close();
    throw err;
  }
}
