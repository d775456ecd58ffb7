/**
 * The nannyapi command line. Every command works against the configured data dir / database, also
 * while the server runs (SQLite in WAL mode with a busy timeout; PostgreSQL anyway).
 * A command that creates a secret prints it alone on the last line of its output.
 */
import { readFileSync } from 'node:fs';
import { launch } from './bootstrap.ts';
import { extractConfigFlags, loadConfig, type ApiConfig } from './config.ts';
import { MODULES } from './modules.ts';
import type { CliCommand, CliContext } from './module-contract.ts';
import { createStorage } from './storage/index.ts';
import type { Storage } from './storage/storage.ts';
import { TOKEN_PREFIX, hashPassword, hashToken, newToken } from './auth/tokens.ts';
import { parseDuration } from './duration.ts';
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

const HELP = `nannyapi — Proxmox VE monitoring API server

Usage: nannyapi <command> [options]

Commands:
  serve                                   start the server (also: npm start)
  org create NAME                         create an organisation (tenant); "default" always exists
  org list                                list organisations
  enroll create [--org NAME] [--uses N] [--ttl 24h]
                                          create an enrollment token for agents (prints it last)
  token create --name NAME [--scope read|write] [--org NAME]
                                          create a personal API token (prints it last)
  user create NAME [--org NAME] [--admin] create a user with a generated password (prints it last)
  user password NAME                      set a new generated password (prints it last)
  agent list [--org NAME]                 list registered agents
  agent revoke AGENT_ID                   revoke an agent: its next request is refused
@@MODULES@@
Settings (environment or flags, see docs/api-configuration.md):
  --port / NANNYAPI_PORT (8080)           --host / NANNYAPI_HOST (127.0.0.1)
  --data-dir / NANNYAPI_DATA_DIR (~/.local/share/nannyapi)
  --database-url / NANNYAPI_DATABASE_URL (postgres://… ; default SQLite in the data dir)
  --rate-limit / NANNYAPI_RATE_LIMIT (1200 per minute per agent token, 0 = off)
  --retention-days / NANNYAPI_RETENTION_DAYS (30)
  NANNYAPI_ADMIN_USER (admin), NANNYAPI_ADMIN_PASSWORD (default: a generated one-time secret)
`;

function help(extra: readonly CliCommand[]): string {
  const lines = extra.map((c) => `  ${c.name.padEnd(40)}${c.summary}`).join('\n');
  return HELP.replace('@@MODULES@@', lines ? `${lines}\n` : '');
}

/** `--name value` / `--name=value` / boolean `--admin` options of a subcommand. */
function opts(args: string[], booleans: string[] = []) {
  const named: Record<string, string> = {};
  const positional: string[] = [];
  const errors: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      positional.push(a);
      continue;
    }
    const key = m[1]!;
    if (booleans.includes(key)) {
      named[key] = m[2] ?? 'true';
      continue;
    }
    const v = m[2] ?? args[++i];
    if (v === undefined) errors.push(`--${key} needs a value`);
    else named[key] = v;
  }
  return { named, positional, errors };
}

async function tenantId(storage: Storage, org: string | undefined): Promise<string> {
  const name = org ?? 'default';
  const t = name === 'default' ? await storage.ensureTenant('default') : await storage.tenantByName(name);
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

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const now = io.now ?? (() => new Date());
  const { flags, rest, errors: flagErrors } = extractConfigFlags(argv);
  const [cmd, sub, ...args] = rest;
  const extra = MODULES.flatMap((m) => m.cli ?? []);
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    for (const l of help(extra).trimEnd().split('\n')) io.out(l);
    return cmd ? 0 : 1;
  }
  if (cmd === '--version' || cmd === 'version') {
    io.out(readVersion());
    return 0;
  }
  const { config, errors } = loadConfig(io.env, flags);
  const allErrors = [...flagErrors, ...errors];
  if (allErrors.length > 0) {
    for (const e of allErrors) io.err(`config error: ${e}`);
    return 2;
  }
  if (cmd === 'serve') return serve(config, io);

  const ext = extra.find((c) => c.name === cmd);
  const known = ['org', 'enroll', 'token', 'user', 'agent'];
  if (!ext && !known.includes(cmd)) {
    io.err(`unknown command "${cmd}" (see nannyapi --help)`);
    return 2;
  }
  if (sub === '--help' || sub === '-h') {
    io.out(ext ? ext.usage : help(extra));
    return 0;
  }
  const storage = await createStorage(config);
  const ctx: CliContext = { config, storage, out: io.out, err: io.err, now };
  try {
    if (ext) return await ext.run(sub === undefined ? args : [sub, ...args], ctx);
    return await builtin(cmd, sub, args, ctx);
  } catch (err) {
    if (err instanceof CliError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  } finally {
    await storage.close();
  }
}

async function builtin(
  cmd: string,
  sub: string | undefined,
  args: string[],
  ctx: CliContext,
): Promise<number> {
  const { storage, out } = ctx;
  const o = opts(args, ['admin']);
  if (o.errors.length > 0) throw new CliError(o.errors.join('; '));
  const key = `${cmd} ${sub ?? ''}`.trim();
  switch (key) {
    case 'org create': {
      const name = o.positional[0];
      if (!name || !/^[A-Za-z0-9._-]{1,64}$/.test(name))
        throw new CliError('usage: nannyapi org create NAME (letters, digits, . _ -)');
      if (await storage.tenantByName(name)) throw new CliError(`organisation "${name}" exists already`);
      const t = await storage.createTenant(name);
      out(`created organisation ${t.name}`);
      out(t.id);
      return 0;
    }
    case 'org list': {
      for (const t of await storage.listTenants()) out(`${t.id}  ${t.name}`);
      return 0;
    }
    case 'enroll create': {
      const uses = o.named['uses'] === undefined ? 1 : Number(o.named['uses']);
      if (!Number.isInteger(uses) || uses < 1) throw new CliError('--uses: a positive integer');
      const ttl = parseDuration(o.named['ttl'] ?? '24h');
      if (ttl === null) throw new CliError('--ttl: e.g. 30m, 24h, 7d');
      const tid = await tenantId(storage, o.named['org']);
      const secret = newToken(TOKEN_PREFIX.enrollment);
      const expires = new Date(ctx.now().getTime() + ttl).toISOString();
      await storage.createEnrollmentToken(
        { tenant_id: tid, max_uses: uses, expires_at: expires },
        hashToken(secret),
      );
      out(
        `enrollment token for organisation ${o.named['org'] ?? 'default'}: ${uses} use(s), expires ${expires}`,
      );
      out(`register an agent with: nannyagent register --url <API URL> --enroll-token <the token below>`);
      out(secret);
      return 0;
    }
    case 'token create': {
      const name = o.named['name'];
      if (!name)
        throw new CliError('usage: nannyapi token create --name NAME [--scope read|write] [--org NAME]');
      const scope = o.named['scope'] ?? 'read';
      if (scope !== 'read' && scope !== 'write') throw new CliError('--scope: read or write');
      const tid = await tenantId(storage, o.named['org']);
      const secret = newToken(TOKEN_PREFIX.personal);
      await storage.createApiToken({ tenant_id: tid, user_id: null, name, scope }, hashToken(secret));
      out(
        `personal API token "${name}" (${scope}) for organisation ${o.named['org'] ?? 'default'}; send it as "Authorization: Bearer <token>"`,
      );
      out(secret);
      return 0;
    }
    case 'user create': {
      const name = o.positional[0];
      if (!name || !/^[A-Za-z0-9._@-]{1,128}$/.test(name))
        throw new CliError('usage: nannyapi user create NAME [--org NAME] [--admin]');
      if (await storage.userByName(name)) throw new CliError(`user "${name}" exists already`);
      const tid = await tenantId(storage, o.named['org']);
      const password = newToken('');
      await storage.createUser({
        tenant_id: tid,
        username: name,
        password_hash: await hashPassword(password),
        role: o.named['admin'] ? 'admin' : 'user',
      });
      out(
        `created ${o.named['admin'] ? 'admin ' : ''}user ${name} in organisation ${o.named['org'] ?? 'default'}; password:`,
      );
      out(password);
      return 0;
    }
    case 'user password': {
      const name = o.positional[0];
      const u = name ? await storage.userByName(name) : undefined;
      if (!u) throw new CliError('usage: nannyapi user password NAME (an existing user)');
      const password = newToken('');
      await storage.setPassword(u.id, await hashPassword(password));
      out(`new password for ${u.username}:`);
      out(password);
      return 0;
    }
    case 'agent list': {
      const tid = o.named['org'] ? await tenantId(storage, o.named['org']) : undefined;
      const agents = await storage.listAgents(tid);
      if (agents.length === 0) out('no agents registered');
      for (const a of agents)
        out(
          `${a.id}  ${a.hostname.padEnd(20)} ${a.revoked_at ? 'REVOKED ' : 'active  '} last seen ${a.last_seen_at ?? 'never'}${a.cluster_name ? `  cluster ${a.cluster_name}` : ''}`,
        );
      return 0;
    }
    case 'agent revoke': {
      const id = o.positional[0];
      if (!id) throw new CliError('usage: nannyapi agent revoke AGENT_ID (see nannyapi agent list)');
      if (!(await storage.revokeAgent(undefined, id, ctx.now().toISOString())))
        throw new CliError(`no agent ${id}`);
      out(`agent ${id} revoked: its next request is refused; it must enroll again`);
      return 0;
    }
    default:
      throw new CliError(`unknown command "${key}" (see nannyapi --help)`);
  }
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
  await app.close();
  return 0;
}
