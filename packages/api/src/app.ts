/**
 * buildApp(config, deps): the whole API as a Fastify instance, not listening (tests use inject()).
 * It has no side effects: no database is opened, no user or secret created, no timer started. The
 * first-start work and the background work are bootstrap.ts's (serve and the test helper call it).
 */
import { registerJsonBodyParser } from './json-body.ts';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  ErrorEnvelope,
  OPS_KINDS,
  OPS_SCHEMAS,
  ProxmoxCluster,
  ProxmoxLXC,
  ProxmoxNode,
  ProxmoxQEMU,
  ProxmoxStorage,
  RefreshRequest,
  RegisterRequest,
  SuccessEnvelope,
  TokenResponse,
} from '@nanny/schema';
import type { ApiConfig } from './config.ts';
import { frameworkErrors, registerErrorHandlers } from './errors.ts';
import { createAuth, type AuthHelpers } from './auth/auth.ts';
import { createDeviceCookies } from './auth/device-cookie.ts';
import type { Storage } from './storage/storage.ts';
import { createGroupCommitter, type GroupCommitter } from './ingest/committer.ts';
import type { IngestListener } from './ingest/listeners.ts';
import { ingestRoutes, type IngestCounters } from './ingest/routes.ts';
import { agentRoutes } from './routes/agent.ts';
import { userRoutes } from './routes/users.ts';
import { userAdminRoutes } from './routes/user-admin.ts';
import { readRoutes } from './routes/read.ts';
import { proxmoxOpsRoutes } from './routes/proxmox-ops.ts';
import { historyRoutes } from './routes/history.ts';
import { storageRoutes } from './routes/storage.ts';
import { opsRoutes, type ServerCounters } from './routes/ops.ts';
import { schemaController, type CompileCache } from './routes/validation.ts';
import { DOCS_CSP, limitConnectionsPerAddress, registerHardening } from './hardening.ts';
import { MODULES } from './modules.ts';
import { createLeadership, type Leadership } from './leader.ts';
import type { ApiModule, ModuleContext, ModuleInstance } from './module-contract.ts';

export interface BuildOptions {
  /** modules to load; default: the MODULES list */
  modules?: readonly ApiModule[];
  /** extra ingest listeners (tests) */
  listeners?: readonly IngestListener[];
  now?: () => Date;
  /** a pino logger config or `false`; default follows config.logLevel */
  logger?: boolean | Record<string, unknown>;
  /** compiled validators and serializers shared with other apps of this process (tests build many) */
  compileCache?: CompileCache;
}

export interface SetupInfo {
  /** set when this start created the first admin */
  adminCreated: boolean;
  username: string;
  /** the one-time setup password, when it was generated (not when given by NANNYAPI_ADMIN_PASSWORD) */
  generatedPassword?: string;
}

/** What the app is built on: made by bootstrap.ts (or by a test). */
export interface AppDeps {
  storage: Storage;
  jwtSecret: string;
  setup: SetupInfo;
  /** close the storage when the app closes (it was opened for this app) */
  closeStorage?: boolean;
}

export interface Background {
  /** starts the modules' background work once (bootstrap calls it when the app is ready) */
  start(): Promise<void>;
  /** stops what start() started; app.close() calls it */
  stop(): Promise<void>;
}

export interface Nanny {
  storage: Storage;
  auth: AuthHelpers;
  committer: GroupCommitter;
  setup: SetupInfo;
  config: Readonly<ApiConfig>;
  /** this app's module instances by module name */
  modules: ReadonlyMap<string, ModuleInstance>;
  background: Background;
  /** which replica leads (leader.ts) */
  leader: Leadership;
}

declare module 'fastify' {
  interface FastifyInstance {
    nanny: Nanny;
  }
}

export async function buildApp(
  config: Readonly<ApiConfig>,
  deps: AppDeps,
  opts: BuildOptions = {},
): Promise<FastifyInstance> {
  const now = opts.now ?? (() => new Date());
  const { storage } = deps;
  const verbose = config.logLevel === 'debug' || config.logLevel === 'trace';
  // Slow clients (M4): the whole request within requestTimeout, its headers within headersTimeout
  // (slowloris), idle keep-alive connections closed. Node checks the first two on a timer that
  // ticks every 30 s by default, which would let a slow header live 40 s; tick at a tenth of it.
  const timeouts = {
    requestTimeout: config.requestTimeoutMs,
    headersTimeout: config.headersTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(config.headersTimeoutMs / 10))),
  };
  const app = Fastify({
    logger: opts.logger ?? (config.logLevel === 'silent' ? false : { level: config.logLevel }),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    frameworkErrors,
    // Per-request log lines cost more than the ingest itself at 10k req/s; errors are still logged.
    logController: new LogController({ disableRequestLogging: !verbose }),
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    ...(config.tlsCert && config.tlsKey
      ? { https: { cert: config.tlsCert, key: config.tlsKey, ...timeouts } }
      : { http: timeouts }),
    // The spec is law: "vmid": "100" is an error, not 100; nothing is stripped or defaulted. Query
    // strings and path parameters are text on the wire, so those alone are coerced.
    schemaController: schemaController(
      { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false },
      opts.compileCache,
    ),
  });
  try {
    limitConnectionsPerAddress(app.server, config.maxConnectionsPerAddress);
    const auth = createAuth({
      storage,
      jwtSecret: deps.jwtSecret,
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      refreshTokenTtlDays: config.refreshTokenTtlDays,
      now,
    });
    // One leader across the replicas on this database (on SQLite, this process): the alert engine
    // evaluates there. Started with the background work, after the modules listen for it.
    const leader = createLeadership({ lock: storage.leaderLock('nanny'), now, log: app.log });
    const ctx: ModuleContext = { config, storage, log: app.log, auth, now, leader };
    const instances = new Map<string, ModuleInstance>();
    for (const m of opts.modules ?? MODULES) if (m.create) instances.set(m.name, m.create(ctx));
    const listeners = [
      ...[...instances.values()].flatMap((i) => (i.ingestListener ? [i.ingestListener] : [])),
      ...(opts.listeners ?? []),
    ];
    const committer = createGroupCommitter(storage, listeners, app.log);
    const background = createBackground(instances, leader);
    app.decorate('nanny', {
      storage,
      auth,
      committer,
      setup: deps.setup,
      config,
      modules: instances,
      background,
      leader,
    });
    app.decorateRequest('principal', null);

    const counters: IngestCounters = {
      accepted: {
        cluster: 0,
        node: 0,
        lxc: 0,
        qemu: 0,
        storage: 0,
        ...(Object.fromEntries(OPS_KINDS.map((k) => [k, 0])) as Record<(typeof OPS_KINDS)[number], number>),
      },
      rejected: 0,
      extraDropped: 0,
    };
    const server: ServerCounters = { requests: new Map(), started: now().getTime() };
    app.addHook('onResponse', async (_req, reply) => {
      const k = String(reply.statusCode);
      server.requests.set(k, (server.requests.get(k) ?? 0) + 1);
    });

    registerErrorHandlers(app, { bodyLimitBytes: config.bodyLimitBytes });
    app.removeContentTypeParser('application/json');
    registerJsonBodyParser(app);

    registerHardening(app, {
      rateLimit: config.rateLimit,
      rateLimitIp: config.rateLimitIp,
      now,
    });
    await app.register(cookie);

    for (const s of [
      ProxmoxCluster,
      ProxmoxNode,
      ProxmoxLXC,
      ProxmoxQEMU,
      ...Object.values(OPS_SCHEMAS),
      ProxmoxStorage,
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
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: DOCS_CSP,
      // no badge from validator.swagger.io: the page loads nothing from elsewhere
      uiConfig: { validatorUrl: null },
    });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

    await app.register(async (a) =>
      ingestRoutes(a, { auth, committer, now, counters, quotas: config.quotas }),
    );
    await app.register(async (a) => agentRoutes(a, { storage, auth, now }));
    await app.register(async (a) =>
      userRoutes(a, {
        storage,
        auth,
        now,
        sessionTtlHours: config.sessionTtlHours,
        loginConcurrency: config.loginConcurrency,
        devices: createDeviceCookies(deps.jwtSecret),
      }),
    );
    await app.register(async (a) => userAdminRoutes(a, { storage, auth, now }));
    await app.register(async (a) => readRoutes(a, { storage, auth, now }));
    await app.register(async (a) => proxmoxOpsRoutes(a, { storage, auth }));
    await app.register(async (a) => historyRoutes(a, { storage, auth, now, horizons: config.history }));
    await app.register(async (a) => storageRoutes(a, { storage, auth }));
    await app.register(async (a) =>
      opsRoutes(a, { storage, auth, committer, ingest: counters, server, now, leader }),
    );
    for (const i of instances.values()) if (i.routes) await app.register(async (a) => i.routes!(a));

    app.addHook('onClose', async () => {
      // Drain first: reports acknowledged before the close still reach the modules' listeners
      // (alerts) while those are running.
      await committer.drain();
      await background.stop();
      if (deps.closeStorage) await storage.close();
    });
    return app;
  } catch (err) {
    if (deps.closeStorage) await storage.close();
    throw err;
  }
}

function createBackground(instances: ReadonlyMap<string, ModuleInstance>, leader: Leadership): Background {
  let started: Promise<void> | undefined;
  const stops: (() => Promise<void>)[] = [];
  return {
    start() {
      started ??= (async () => {
        for (const i of instances.values()) if (i.start) stops.push(await i.start());
        stops.unshift(() => leader.stop());
        await leader.start();
      })();
      return started;
    },
    async stop() {
      if (started) await started.catch(() => undefined);
      // modules first, the lock last: a successor takes over at once, with nothing in flight here
      for (const stop of stops.reverse()) await stop();
      stops.length = 0;
    },
  };
}
