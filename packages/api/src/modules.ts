/**
 * The one explicit list of API modules (DESIGN.md §7: extension points registered in one list).
 *
 * A module may add routes, an ingest listener, background work and CLI subcommands. Its tables
 * come from a migration appended to storage/migrations/index.ts, and its SQL lives in
 * storage/<module>*.ts behind `storage.extend(factory)`. See packages/api/README.md.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { OptionSpecs } from '@nanny/settings';
import type { ApiConfig } from './config.ts';
import type { Storage } from './storage/storage.ts';
import type { AuthHelpers } from './auth/auth.ts';
import type { IngestListener } from './ingest/listeners.ts';
import { alertsModule } from './alerts/module.ts';
import { webModule } from '@nanny/web';

export interface ModuleContext {
  config: Readonly<ApiConfig>;
  storage: Storage;
  log: FastifyBaseLogger;
  auth: AuthHelpers;
  now: () => Date;
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

export interface ApiModule {
  name: string;
  /** registered as a Fastify plugin after the core routes; use ctx.auth for access control */
  routes?: (app: FastifyInstance, ctx: ModuleContext) => Promise<void>;
  /** built once per app; called after each committed ingest */
  ingestListener?: (ctx: ModuleContext) => IngestListener;
  /** background work started when the app is ready; the returned function stops it (app.close()) */
  start?: (ctx: ModuleContext) => Promise<() => Promise<void>>;
  cli?: CliCommand[];
}

// The list. The alerts helper adds e.g. `import { alertsModule } from './alerts/module.ts';` and
// appends `alertsModule` here.
export const MODULES: readonly ApiModule[] = [alertsModule, webModule];
