/**
 * The nannyapi command line. Every command works against the configured data dir / database, also
 * while the server runs (SQLite in WAL mode with a busy timeout; PostgreSQL anyway).
 * A command that creates a secret prints it alone on the last line of its output.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  custom,
  oneOf,
  optionsHelp,
  parseCommandLine,
  settingOptions,
  settingsHelp,
  ValueProblem,
  type Kind,
  type OptionSpecs,
} from '@nanny/settings';
import { launch } from './bootstrap.ts';
import { API_SETTINGS, loadConfig, type ApiConfig } from './config.ts';
import { MODULES } from './modules.ts';
import type { CliCommand, CliContext } from './module-contract.ts';
import { createStorage } from './storage/index.ts';
import type { Storage } from './storage/storage.ts';
import { TOKEN_PREFIX, hashPassword, hashToken, newToken } from './auth/tokens.ts';
import { MAX_ENROLLMENT_TTL_MS, MAX_TOKEN_TTL_MS, parseDuration } from './duration.ts';
import { databaseLabel, noteServer, runningServers } from './runtime-file.ts';
import { CliError } from './errors.ts';

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

const positive = custom('positive integer', (v) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new ValueProblem('must be a positive integer');
  return Number(v);
});
const duration = custom('duration', (v) => {
  const ms = parseDuration(v);
  if (ms === null) throw new ValueProblem('must be a duration like 30m, 24h, 7d');
  if (ms > MAX_ENROLLMENT_TTL_MS) throw new ValueProblem('at most 30d');
  return ms;
});
const tokenTtl = custom('duration', (v) => {
  const ms = parseDuration(v);
  if (ms === null) throw new ValueProblem('must be a duration like 30d, 90d');
  if (ms > MAX_TOKEN_TTL_MS) throw new ValueProblem('at most 3650d');
  return ms;
});
const ORG: OptionSpecs = { org: { type: 'string', arg: 'NAME', help: 'organisation (default: "default")' } };

interface Parsed {
  values: Record<string, unknown>;
  positionals: string[];
}

/** A built-in subcommand: its options (validated per subcommand), how many arguments, what it does. */
interface Builtin {
  usage: string;
  summary: string;
  options: OptionSpecs;
  /** option values are parsed (and checked) by these kinds */
  kinds?: Record<string, Kind<unknown>>;
  /** names of the positional arguments (at most that many) */
  args?: string[];
  run(p: Parsed, ctx: CliContext): Promise<number>;
}

async function tenantId(storage: Storage, org: string | undefined, now: string): Promise<string> {
  const name = org ?? 'default';
  const t =
    name === 'default' ? await storage.ensureTenant('default', now) : await storage.tenantByName(name);
  if (!t) throw new CliError(`no organisation named "${name}" (create it with: nannyapi org create ${name})`);
  return t.id;
}

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

const str = (p: Parsed, k: string): string | undefined => p.values[k] as string | undefined;

const BUILTINS: Record<string, Builtin> = {
  'org create': {
    usage: 'org create NAME',
    summary: 'create an organisation (tenant); "default" always exists',
    options: {},
    args: ['NAME'],
    async run(p, { storage, out, now }) {
      const name = p.positionals[0];
      if (!name || !/^[A-Za-z0-9._-]{1,64}$/.test(name))
        throw new CliError('usage: nannyapi org create NAME (letters, digits, . _ -)');
      if (await storage.tenantByName(name)) throw new CliError(`organisation "${name}" exists already`);
      const t = await storage.createTenant(name, now().toISOString());
      out(`created organisation ${t.name}`);
      out(t.id);
      return 0;
    },
  },
  'org list': {
    usage: 'org list',
    summary: 'list organisations',
    options: {},
    async run(_p, { storage, out }) {
      for (const t of await storage.listTenants()) out(`${t.id}  ${t.name}`);
      return 0;
    },
  },
  'enroll create': {
    usage: 'enroll create [--org NAME] [--uses N] [--ttl 24h]',
    summary: 'create an enrollment token for agents (prints it last)',
    options: {
      ...ORG,
      uses: { type: 'string', arg: 'N', help: 'how many agents may register with it (default 1)' },
      ttl: {
        type: 'string',
        arg: 'DURATION',
        help: 'valid for, e.g. 30m, 24h, 7d (default 24h, at most 30d)',
      },
    },
    kinds: { uses: positive, ttl: duration },
    async run(p, ctx) {
      const uses = (p.values.uses as number | undefined) ?? 1;
      const ttl = (p.values.ttl as number | undefined) ?? 24 * 3_600_000;
      const org = str(p, 'org');
      const tid = await tenantId(ctx.storage, org, ctx.now().toISOString());
      const secret = newToken(TOKEN_PREFIX.enrollment);
      const expires = new Date(ctx.now().getTime() + ttl).toISOString();
      await ctx.storage.createEnrollmentToken(
        { tenant_id: tid, max_uses: uses, expires_at: expires, created_at: ctx.now().toISOString() },
        hashToken(secret),
      );
      ctx.out(`enrollment token for organisation ${org ?? 'default'}: ${uses} use(s), expires ${expires}`);
      ctx.out(`register an agent with: nannyagent register --url <API URL> --enroll-token <the token below>`);
      ctx.out(secret);
      return 0;
    },
  },
  'enroll list': {
    usage: 'enroll list [--org NAME]',
    summary: 'list enrollment tokens (id, uses left, expiry, revoked)',
    options: { ...ORG },
    async run(p, ctx) {
      const tid = await tenantId(ctx.storage, str(p, 'org'), ctx.now().toISOString());
      for (const e of await ctx.storage.listEnrollmentTokens(tid))
        ctx.out(
          `${e.id}  ${e.uses_left}/${e.max_uses} left  expires ${e.expires_at}${e.revoked_at ? `  revoked ${e.revoked_at}` : ''}`,
        );
      return 0;
    },
  },
  'enroll revoke': {
    usage: 'enroll revoke TOKEN_ID',
    summary: 'revoke an enrollment token: no agent registers with it any more',
    options: {},
    args: ['TOKEN_ID'],
    async run(p, ctx) {
      const id = p.positionals[0];
      if (!id) throw new CliError('usage: nannyapi enroll revoke TOKEN_ID (see nannyapi enroll list)');
      if (!(await ctx.storage.revokeEnrollmentToken(undefined, id, ctx.now().toISOString())))
        throw new CliError(`no unrevoked enrollment token ${id}`);
      ctx.out(`enrollment token ${id} revoked`);
      return 0;
    },
  },
  'token create': {
    usage: 'token create --name NAME [--scope read|write] [--ttl 90d] [--org NAME]',
    summary: 'create a personal API token (prints it last)',
    options: {
      name: { type: 'string', arg: 'NAME', help: 'what the token is for (required)' },
      scope: { type: 'string', arg: 'SCOPE', help: 'read (default) or write' },
      ttl: {
        type: 'string',
        arg: 'DURATION',
        help: 'expires after, e.g. 90d (default: never; at most 3650d)',
      },
      ...ORG,
    },
    kinds: { scope: oneOf(['read', 'write']), ttl: tokenTtl },
    async run(p, ctx) {
      const name = str(p, 'name');
      if (!name) throw new UsageError('--name: required (nannyapi token create --name NAME)');
      const scope = (str(p, 'scope') ?? 'read') as 'read' | 'write';
      const org = str(p, 'org');
      const tid = await tenantId(ctx.storage, org, ctx.now().toISOString());
      const secret = newToken(TOKEN_PREFIX.personal);
      const ttl = p.values.ttl as number | undefined;
      const expires_at = ttl === undefined ? null : new Date(ctx.now().getTime() + ttl).toISOString();
      await ctx.storage.createApiToken(
        { tenant_id: tid, user_id: null, name, scope, created_at: ctx.now().toISOString(), expires_at },
        hashToken(secret),
      );
      ctx.out(
        `personal API token "${name}" (${scope}) for organisation ${org ?? 'default'}; send it as "Authorization: Bearer <token>"`,
      );
      ctx.out(secret);
      return 0;
    },
  },
  'user create': {
    usage: 'user create NAME [--org NAME] [--admin]',
    summary: 'create a user with a generated password (prints it last)',
    options: { ...ORG, admin: { type: 'boolean', help: 'an admin of the organisation' } },
    args: ['NAME'],
    async run(p, { storage, out, now }) {
      const name = p.positionals[0];
      if (!name || !/^[A-Za-z0-9._@-]{1,128}$/.test(name))
        throw new CliError('usage: nannyapi user create NAME [--org NAME] [--admin]');
      if (await storage.userByName(name)) throw new CliError(`user "${name}" exists already`);
      const org = str(p, 'org');
      const tid = await tenantId(storage, org, now().toISOString());
      const password = newToken('');
      const admin = p.values.admin === true;
      await storage.createUser({
        tenant_id: tid,
        username: name,
        password_hash: await hashPassword(password),
        role: admin ? 'admin' : 'user',
        created_at: now().toISOString(),
      });
      out(`created ${admin ? 'admin ' : ''}user ${name} in organisation ${org ?? 'default'}; password:`);
      out(password);
      return 0;
    },
  },
  'user password': {
    usage: 'user password NAME',
    summary: 'set a new generated password (prints it last)',
    options: {},
    args: ['NAME'],
    async run(p, { storage, out, now }) {
      const name = p.positionals[0];
      const u = name ? await storage.userByName(name) : undefined;
      if (!u) throw new CliError('usage: nannyapi user password NAME (an existing user)');
      const password = newToken('');
      await storage.setPassword(u.id, await hashPassword(password), now().toISOString());
      out(`new password for ${u.username}:`);
      out(password);
      return 0;
    },
  },
  'agent list': {
    usage: 'agent list [--org NAME]',
    summary: 'list registered agents',
    options: { ...ORG },
    async run(p, { storage, out, now }) {
      const org = str(p, 'org');
      const tid = org !== undefined ? await tenantId(storage, org, now().toISOString()) : undefined;
      const agents = await storage.listAgents(tid);
      if (agents.length === 0) out('no agents registered');
      for (const a of agents)
        out(
          `${a.id}  ${a.hostname.padEnd(20)} ${a.revoked_at ? 'REVOKED ' : 'active  '} last seen ${a.last_seen_at ?? 'never'}${a.cluster_name ? `  cluster ${a.cluster_name}` : ''}${a.bound_node ? `  node ${a.bound_node}` : ''}`,
        );
      return 0;
    },
  },
  'agent revoke': {
    usage: 'agent revoke AGENT_ID',
    summary: 'revoke an agent: its next request is refused',
    options: {},
    args: ['AGENT_ID'],
    async run(p, ctx) {
      const id = p.positionals[0];
      if (!id) throw new CliError('usage: nannyapi agent revoke AGENT_ID (see nannyapi agent list)');
      if (!(await ctx.storage.revokeAgent(undefined, id, ctx.now().toISOString())))
        throw new CliError(`no agent ${id}`);
      ctx.out(`agent ${id} revoked: its next request is refused; it must enroll again`);
      return 0;
    },
  },
  'agent rebind': {
    usage: 'agent rebind AGENT_ID',
    summary:
      'forget the node and cluster an agent is bound to (a reinstalled node): its next report binds it',
    options: {},
    args: ['AGENT_ID'],
    async run(p, ctx) {
      const id = p.positionals[0];
      if (!id) throw new CliError('usage: nannyapi agent rebind AGENT_ID (see nannyapi agent list)');
      if (!(await ctx.storage.unbindAgent(undefined, id))) throw new CliError(`no agent ${id}`);
      ctx.out(`agent ${id} unbound: its next report binds it to the node and cluster it names`);
      return 0;
    },
  },
};

/** A mistake in how the command was called: exit 2 (CliError, a refusal of the operation, is 1). */
class UsageError extends Error {}

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
      `nannyapi: warning: cannot write ${config.runtimeDir} (${(e as Error).message}); the CLI cannot check it uses this server's database`,
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
