/**
 * The built-in nannyapi commands (org, enroll, token, user, agent): their options, checked per
 * subcommand, and what they do. cli.ts parses the command line and dispatches here.
 */
import { custom, oneOf, ValueProblem, type Kind, type OptionSpecs } from '@nanny/settings';
import type { CliContext } from './module-contract.ts';
import type { Storage } from './storage/storage.ts';
import { TOKEN_PREFIX, hashPassword, hashToken, newToken } from './auth/tokens.ts';
import { MAX_ENROLLMENT_TTL_MS, MAX_TOKEN_TTL_MS, parseDuration } from './duration.ts';
import { CliError } from './errors.ts';

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
export const ORG: OptionSpecs = {
  org: { type: 'string', arg: 'NAME', help: 'organisation (default: "default")' },
};

export interface Parsed {
  values: Record<string, unknown>;
  positionals: string[];
}

/** A built-in subcommand: its options (validated per subcommand), how many arguments, what it does. */
export interface Builtin {
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

const str = (p: Parsed, k: string): string | undefined => p.values[k] as string | undefined;

export const BUILTINS: Record<string, Builtin> = {
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
export class UsageError extends Error {}
