/**
 * The nannyapi command line. Every command works against the configured data dir / database, also
 * while the server runs (SQLite in WAL mode with a busy timeout; PostgreSQL anyway).
 * A command that creates a secret prints it alone on the last line of its output.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  optionsHelp,
  parseCommandLine,
  settingOptions,
  settingsHelp,
  ValueProblem,
  type OptionSpecs,
} from '@nanny/settings';
import { launch } from './bootstrap.ts';
import { API_SETTINGS, loadConfig, type ApiConfig } from './config.ts';
import { MODULES } from './modules.ts';
import type { CliCommand, CliContext } from './module-contract.ts';
import { createStorage } from './storage/index.ts';
import type { Storage } from './storage/storage.ts';
import { databaseLabel, noteServer, runningServers } from './runtime-file.ts';
import { CliError, errorMessage } from './errors.ts';
import { BUILTINS, UsageError, type Builtin, type Parsed } from './cli-commands.ts';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
  now?: () => Date;
  /** serve: resolves when the server should stop (default: SIGINT/SIGTERM) */
  stopSignal?: Promise<void>;
  /** serve: called once listening, with the URL */
  onListening?: (url: string) => void;
}

const GENERAL: OptionSpecs = {
  help: { type: 'boolean', short: 'h', help: 'help (per command: nannyapi COMMAND --help)' },
  version: { type: 'boolean', help: 'print the version' },
};
const SETTING_OPTIONS = settingOptions(API_SETTINGS);

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.1.0';
  }
}

const SETTINGS_HELP = `Settings (flag, environment variable, default; a flag wins; docs/api-configuration.md):
${settingsHelp(API_SETTINGS)}`;

function help(extra: readonly CliCommand[]): string {
  const lines = [
    `  ${'serve'.padEnd(40)}start the server (also: npm start)`,
    ...Object.values(BUILTINS).map((b) =>
      b.usage.length < 39
        ? `  ${b.usage.padEnd(40)}${b.summary}`
        : `  ${b.usage}\n  ${''.padEnd(40)}${b.summary}`,
    ),
    ...extra.map((c) => `  ${c.name.padEnd(40)}${c.summary}`),
  ];
  return `nannyapi — Proxmox VE monitoring API server

Usage: nannyapi <command> [options]     (nannyapi <command> --help for details)

Commands:
${lines.join('\n')}

Every command reads the same settings as the server, so it works on the server's database.
${SETTINGS_HELP}
`;
}

function builtinHelp(b: Builtin): string {
  const own = optionsHelp(b.options);
  return `Usage: nannyapi ${b.usage}\n\n${b.summary}\n${own ? `\nOptions:\n${own}\n` : ''}\n${SETTINGS_HELP}\n`;
}

const print = (io: CliIo, text: string): void => {
  for (const l of text.trimEnd().split('\n')) io.out(l);
};

function usageErrors(io: CliIo, errors: string[], cmd: string): number {
  for (const e of errors) io.err(`nannyapi: ${e}`);
  io.err(`(see nannyapi ${cmd ? `${cmd} ` : ''}--help)`);
  return 2;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const now = io.now ?? (() => new Date());
  const extra = MODULES.flatMap((m) => m.cli ?? []);
  // First pass, to find the command words: every option any command knows, so that the value of
  // `--org acme` is not taken for a command.
  const every: Record<string, OptionSpecs[string]> = { ...GENERAL, ...SETTING_OPTIONS };
  for (const b of Object.values(BUILTINS)) Object.assign(every, b.options);
  for (const c of extra) Object.assign(every, c.options ?? {});
  const [cmd, sub] = parseCommandLine(argv, every).positionals;

  const ext = extra.find((c) => c.name === cmd);
  const groups = new Set(Object.keys(BUILTINS).map((k) => k.split(' ')[0]!));
  const builtinKey = `${cmd ?? ''} ${sub ?? ''}`;
  const builtin = BUILTINS[builtinKey];
  let own: OptionSpecs = {};
  if (ext) own = ext.options ?? {};
  else if (builtin) own = builtin.options;
  // The command's own options win over a setting of the same name (`channel add --host` is the
  // SMTP host, not the address nannyapi listens on).
  const p = parseCommandLine(argv, { ...GENERAL, ...SETTING_OPTIONS, ...own });
  if (cmd === undefined || cmd === 'help') {
    if (p.errors.length > 0) return usageErrors(io, p.errors, '');
    if (p.values.version === true) {
      io.out(readVersion());
      return 0;
    }
    print(io, help(extra));
    return p.values.help === true || cmd === 'help' ? 0 : 2;
  }
  if (cmd === 'version') {
    io.out(readVersion());
    return 0;
  }
  if (cmd !== 'serve' && !ext && !builtin) {
    if (groups.has(cmd)) {
      const subs = Object.keys(BUILTINS).filter((k) => k.startsWith(`${cmd} `));
      io.err(`nannyapi: unknown command "${builtinKey.trim()}" (${subs.join(', ')}; see nannyapi --help)`);
    } else io.err(`nannyapi: unknown command "${cmd}" (see nannyapi --help)`);
    return 2;
  }
  if (p.values.help === true) {
    if (ext) print(io, ext.usage);
    else if (builtin) print(io, builtinHelp(builtin));
    else print(io, `Usage: nannyapi serve [settings]\n\nstart the server\n\n${SETTINGS_HELP}`);
    return 0;
  }
  if (p.errors.length > 0) return usageErrors(io, p.errors, builtin ? builtinKey : cmd);

  const settingFlags: Record<string, string | boolean | string[]> = {};
  const ownValues: Record<string, unknown> = {};
  const commandIndexes = new Set<number>();
  for (const u of p.used) {
    if (u.name in own) for (const i of u.indexes) commandIndexes.add(i);
  }
  for (const [k, v] of Object.entries(p.values)) {
    if (k in own) ownValues[k] = v;
    else if (k in SETTING_OPTIONS) settingFlags[k] = v;
  }
  const { config, errors, warnings } = loadConfig(io.env, settingFlags);
  for (const w of warnings) io.err(`nannyapi: warning: ${w}`);
  if (errors.length > 0) {
    for (const e of errors) io.err(`config error: ${e}`);
    return 2;
  }
  if (cmd === 'serve') {
    if (p.positionals.length > 1) return usageErrors(io, [`unexpected argument "${p.positionals[1]}"`], cmd);
    return serve(config, io);
  }

  let parsed: Parsed = { values: {}, positionals: [] };
  if (builtin) {
    const problems: string[] = [];
    const args = p.positionals.slice(2);
    if (args.length > (builtin.args?.length ?? 0))
      problems.push(`unexpected argument "${args[builtin.args?.length ?? 0]}"`);
    for (const [k, v] of Object.entries(ownValues)) {
      const kind = builtin.kinds?.[k];
      if (kind === undefined || typeof v !== 'string') {
        parsed.values[k] = v;
        continue;
      }
      try {
        parsed.values[k] = kind.parse(v);
      } catch (e) {
        if (!(e instanceof ValueProblem)) throw e;
        problems.push(`--${k}: ${e.message} (got ${v})`);
      }
    }
    if (problems.length > 0) return usageErrors(io, problems, builtinKey);
    parsed = { ...parsed, positionals: args };
  }

  const storage = await openDatabase(config, io);
  const ctx: CliContext = { config, storage, out: io.out, err: io.err, now };
  try {
    if (ext) {
      // The module parses its own arguments: hand it argv without the command word and without
      // the settings flags (already applied to config).
      const optionIndexes = new Set(p.used.flatMap((u) => u.indexes));
      const cmdIndex = argv.findIndex((a, i) => a === cmd && !optionIndexes.has(i));
      const rest = argv.filter((_, i) => i !== cmdIndex && (commandIndexes.has(i) || !optionIndexes.has(i)));
      return await ext.run(rest, ctx);
    }
    return await builtin!.run(parsed, ctx);
  } catch (err) {
    if (err instanceof UsageError) return usageErrors(io, [err.message], builtinKey);
    if (err instanceof CliError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  } finally {
    await storage.close();
  }
}

/**
 * Opens the configured database and says which one on stderr, with a warning when it is new (a
 * different NANNYAPI_DATA_DIR than the server's is the usual cause) or when a running server on
 * this machine uses another one: a token made here would be refused there.
 */
async function openDatabase(config: Readonly<ApiConfig>, io: CliIo): Promise<Storage> {
  const label = databaseLabel(config);
  const fresh = config.databaseUrl === undefined && !existsSync(config.sqliteFile);
  const storage = await createStorage(config);
  io.err(`nannyapi: database ${label}`);
  if (fresh)
    io.err(
      `nannyapi: warning: created a NEW database (${config.sqliteFile}): if your server uses another NANNYAPI_DATA_DIR, what this command writes is not seen there`,
    );
  const servers = runningServers(config.runtimeDir);
  if (servers.length > 0 && !servers.some((s) => s.database === label)) {
    for (const s of servers)
      io.err(
        `nannyapi: warning: the running server (pid ${s.pid}, ${s.url}) uses ${s.database}, not this database: set the same NANNYAPI_DATA_DIR / NANNYAPI_DATABASE_URL as the server`,
      );
  }
  return storage;
}

async function serve(config: Readonly<ApiConfig>, io: CliIo): Promise<number> {
  const app = await launch(config, io.now ? { now: io.now } : {});
  const setup = app.nanny.setup;
  await app.listen({ host: config.host, port: config.port });
  const addr = app.server.address();
  const port = addr && typeof addr === 'object' ? addr.port : config.port;
  const scheme = config.tlsCert ? 'https' : 'http';
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = config.publicUrl ?? `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  io.out(`nannyapi listening on ${url}  (dashboard: ${url}/, API docs: ${url}/docs)`);
  io.out(`storage: ${config.databaseUrl ? 'PostgreSQL' : `SQLite ${config.sqliteFile}`}`);
  // Noted for the CLI: a command run with another data dir warns instead of silently writing elsewhere.
  let unnote = (): void => undefined;
  try {
    unnote = noteServer(config.runtimeDir, {
      pid: process.pid,
      database: databaseLabel(config),
      url,
      started_at: new Date().toISOString(),
    });
  } catch (e) {
    io.err(
      `nannyapi: warning: cannot write ${config.runtimeDir} (${errorMessage(e)}); the CLI cannot check it uses this server's database`,
    );
  }
  if (setup.adminCreated) {
    io.out('');
    io.out('First start: created the admin user.');
    io.out(`  username: ${setup.username}`);
    if (setup.generatedPassword) {
      io.out(`  password: ${setup.generatedPassword}`);
      io.out(
        '  (shown once; change it with POST /api/auth/password, or reset it with: nannyapi user password admin)',
      );
    } else io.out('  password: from NANNYAPI_ADMIN_PASSWORD');
    io.out('Next: create an enrollment token for your agents with: npx nannyapi enroll create');
  }
  io.onListening?.(url);
  const stop =
    io.stopSignal ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
  await stop;
  io.out('nannyapi: shutting down');
  unnote();
  await app.close();
  return 0;
}
