/**
 * The first-start and background work that buildApp deliberately does not do: open the database,
 * create the default organisation and the first admin, make (or read) the JWT secret, and start the
 * modules' timers once the app is ready. `nannyapi serve` and the test helper call `launch`.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildOptions, type SetupInfo } from './app.ts';
import type { ApiConfig } from './config.ts';
import { TOKEN_PREFIX, hashPassword, newToken } from './auth/tokens.ts';
import { createStorage } from './storage/index.ts';
import type { Storage } from './storage/storage.ts';

/** Creates the default organisation and, on a fresh database, the first admin. */
export async function ensureAdmin(
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

export interface Bootstrapped {
  setup: SetupInfo;
  jwtSecret: string;
}

/** First-start work on an open storage: idempotent, safe for several replicas starting at once. */
export async function bootstrap(
  storage: Storage,
  config: Readonly<ApiConfig>,
  now: Date = new Date(),
): Promise<Bootstrapped> {
  const setup = await ensureAdmin(storage, config, now.toISOString());
  // Stored, not configured: every replica signs and verifies with the same secret.
  const jwtSecret = await storage.secret('jwt_secret', () => randomBytes(32).toString('hex'));
  return { setup, jwtSecret };
}

export interface LaunchOptions extends BuildOptions {
  /** use this storage (the caller closes it) instead of opening the configured database */
  storage?: Storage;
  /** start the modules' background work when the app is ready (default true) */
  background?: boolean;
}

/** Opens the storage (unless given), bootstraps, builds the app and starts its background work on ready. */
export async function launch(
  config: Readonly<ApiConfig>,
  opts: LaunchOptions = {},
): Promise<FastifyInstance> {
  const { storage: given, background = true, ...build } = opts;
  const storage = given ?? (await createStorage(config));
  let boot: Bootstrapped;
  try {
    boot = await bootstrap(storage, config, (build.now ?? (() => new Date()))());
  } catch (err) {
    if (!given) await storage.close();
    throw err;
  }
  const app = await buildApp(config, { storage, ...boot, closeStorage: !given }, build);
  if (background) app.addHook('onReady', () => app.nanny.background.start());
  return app;
}
