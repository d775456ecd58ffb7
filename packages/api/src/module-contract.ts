/**
 * The API module contract (DESIGN.md §7: extension points with the same roles). The list of modules
 * is in modules.ts; this file imports no module, so a module importing its contract makes no circle.
 *
 * A module is a factory: `create(ctx)` runs once per app and returns the parts (routes, an ingest
 * listener, background work). Whatever those parts share lives in that call's closure, so two apps in
 * one process (tests) never share state and no module keeps state at module level. Its tables come
 * from a migration appended to storage/migrations/index.ts, and its SQL lives in storage/<module>*.ts
 * behind `storage.extend(factory)`. See packages/api/README.md.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { OptionSpecs } from '@nanny/settings';
import type { ApiConfig } from './config.ts';
import type { Storage } from './storage/storage.ts';
import type { AuthHelpers } from './auth/auth.ts';
import type { IngestListener } from './ingest/listeners.ts';
import type { Leadership } from './leader.ts';

export interface ModuleContext {
  config: Readonly<ApiConfig>;
  storage: Storage;
  log: FastifyBaseLogger;
  auth: AuthHelpers;
  now: () => Date;
  /**
   * which replica leads (leader.ts): work that must run once across replicas runs while
   * `leader.role()` is 'leader' (and commits under `leader.epoch()` where a stale leader could harm:
   * the epoch read when the work began, since it is undefined once the leader notices its loss)
   */
  leader: Leadership;
}

export interface CliContext {
  config: Readonly<ApiConfig>;
  storage: Storage;
  /** a line of normal output (stdout); a created secret goes alone on the last line */
  out: (line: string) => void;
  /** a line of diagnostics (stderr) */
  err: (line: string) => void;
  now: () => Date;
}

export interface CliCommand {
  /** first word after `nannyapi`, e.g. "channel" */
  name: string;
  /** one line for `nannyapi --help` */
  summary: string;
  /** usage text for `nannyapi <name> --help` */
  usage: string;
  /**
   * every option of the command (all its subcommands), so `nannyapi` refuses unknown ones and
   * tells them from its settings flags; the command checks which subcommand takes which
   */
  options?: OptionSpecs;
  /** args after the command name (settings flags taken out); returns the exit code */
  run(args: string[], ctx: CliContext): Promise<number>;
}

/** One app's instance of a module: what `create(ctx)` returns. */
export interface ModuleInstance {
  /** registered as a Fastify plugin after the core routes; use ctx.auth for access control */
  routes?: (app: FastifyInstance) => Promise<void>;
  /** called after each committed ingest */
  ingestListener?: IngestListener;
  /**
   * Background work (timers, workers). Not started by buildApp: the bootstrap step (serve, tests
   * through makeTestApp) starts it once the app is ready; the returned function stops it.
   */
  start?: () => Promise<() => Promise<void>>;
}

export interface ApiModule {
  name: string;
  /** built once per app with that app's context */
  create?: (ctx: ModuleContext) => ModuleInstance;
  cli?: readonly CliCommand[];
}
