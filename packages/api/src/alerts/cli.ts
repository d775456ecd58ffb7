/**
 * `nannyapi channel add|list|test|delete`: notification channels from the command line, straight on
 * the database (the server need not run). Type fields are flags: `--url`, `--secret`, `--topic`,
 * `--token`, `--host`, `--port`, `--from`, `--to a@x,b@y`, `--secure`, ...
 */
import { randomUUID } from 'node:crypto';
import { parseCommandLine, type OptionSpec, type OptionSpecs } from '@nanny/settings';
import type { CliCommand, CliContext } from '../module-contract.ts';
import { createAlertStore } from '../storage/alerts.ts';
import { loadSecretKey, secretBoxFor } from '../auth/secret-box.ts';
import { createNotifiers, NOTIFIERS } from '../notify/channels/index.ts';
import { testNotification } from '../notify/message.ts';
import { CHANNEL_TYPES, type ChannelType } from '../notify/types.ts';
import type { Severity } from './types.ts';
import { channelView } from './views.ts';

const USAGE = `nannyapi channel add --type <${CHANNEL_TYPES.join('|')}> --name <name> [type fields] [--min-severity info|warning|critical] [--org <org>]
  webhook: --url <http(s)://...> [--secret <hmac key>]
  slack | discord: --url <incoming webhook URL>
  ntfy: --topic <topic> [--url <server, default https://ntfy.sh>] [--token <access token>]
  gotify: --url <server> --token <application token>
  email: --host <smtp host> [--port 587] [--secure] [--require-tls] [--username u --password p] --from <addr> --to <addr,addr>
nannyapi channel list [--org <org>] [--json]
nannyapi channel test <id or name> [--org <org>]      sends a test notification now
nannyapi channel delete <id or name> [--org <org>]`;

/** Channel fields that are switches on the command line (`--secure`); every other field takes a value. */
const SWITCH_FIELDS = new Set(['secure', 'require_tls']);

const fieldFlag = (field: string): string => field.replaceAll('_', '-');

/** Every field of every channel type, as options (the subcommand and the type check which apply). */
function fieldOptions(): Record<string, OptionSpec> {
  const o: Record<string, OptionSpec> = {};
  for (const n of Object.values(NOTIFIERS))
    for (const f of n.fields)
      o[fieldFlag(f.name)] = SWITCH_FIELDS.has(f.name)
        ? { type: 'boolean', help: f.description }
        : { type: 'string', help: f.description };
  return o;
}

const COMMON: OptionSpecs = { org: { type: 'string', arg: 'ORG' } };
const SUBCOMMANDS: Record<string, OptionSpecs> = {
  add: {
    ...COMMON,
    type: { type: 'string', arg: 'TYPE' },
    name: { type: 'string', arg: 'NAME' },
    'min-severity': { type: 'string', arg: 'SEVERITY' },
    ...fieldOptions(),
  },
  list: { ...COMMON, json: { type: 'boolean' } },
  test: COMMON,
  delete: COMMON,
};

/** All options of all subcommands: nannyapi uses them to tell channel options from its settings flags. */
export const CHANNEL_OPTIONS: OptionSpecs = Object.assign({}, ...Object.values(SUBCOMMANDS)) as OptionSpecs;

/**
 * Parses one subcommand's arguments with the shared parser: an unknown option (or one of another
 * subcommand) is an error naming it. Field options become body fields (`--require-tls` → require_tls).
 */
export function parseChannelArgs(
  sub: string,
  args: string[],
): { fields: Record<string, string | boolean>; rest: string[]; errors: string[] } {
  const p = parseCommandLine(args, SUBCOMMANDS[sub] ?? COMMON);
  const fields: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(p.values)) {
    if (typeof v === 'string' || typeof v === 'boolean') fields[k.replaceAll('-', '_')] = v;
  }
  return { fields, rest: p.positionals, errors: p.errors };
}

async function run(args: string[], cli: CliContext): Promise<number> {
  const [sub, ...more] = args;
  if (!sub || sub === '--help' || sub === '-h' || more.includes('--help')) {
    cli.out(USAGE);
    return sub ? 0 : 2;
  }
  if (!(sub in SUBCOMMANDS)) {
    cli.err(`unknown subcommand "${sub}"\n${USAGE}`);
    return 2;
  }
  const { fields: flags, rest, errors } = parseChannelArgs(sub, more);
  if (sub === 'add' && typeof flags.type === 'string' && CHANNEL_TYPES.includes(flags.type as ChannelType)) {
    // a field of another type would be silently dropped: refuse it, naming it
    const allowed = new Set(NOTIFIERS[flags.type as ChannelType].fields.map((f) => f.name));
    for (const k of Object.keys(flags)) {
      if (!['type', 'name', 'min_severity', 'org'].includes(k) && !allowed.has(k))
        errors.push(`--${fieldFlag(k)}: not a field of ${flags.type} channels`);
    }
  }
  if ((sub === 'add' || sub === 'list') && rest.length > 0) errors.push(`unexpected argument "${rest[0]}"`);
  if (errors.length > 0) {
    for (const e of errors) cli.err(`channel ${sub}: ${e}`);
    cli.err('(see nannyapi channel --help)');
    return 2;
  }
  const org = typeof flags.org === 'string' ? flags.org : 'default';
  // The server creates the "default" organisation at its first start; the CLI may run before that.
  const tenant =
    org === 'default'
      ? await cli.storage.ensureTenant(org, cli.now().toISOString())
      : await cli.storage.tenantByName(org);
  if (!tenant) {
    cli.err(`no organisation named "${org}"`);
    return 1;
  }
  const box = secretBoxFor(loadSecretKey(cli.config));
  const store = cli.storage.extend((h) => createAlertStore(h, box));
  // the same address guard as the server: NANNYAPI_ALLOWED_CHANNEL_NETWORKS
  const notifiers = () => createNotifiers({ allowedNetworks: cli.config.allowedChannelNetworks });
  const find = async (ref: string | undefined) => {
    if (!ref) return undefined;
    const all = await store.listChannels(tenant.id);
    return all.find((c) => c.id === ref) ?? all.find((c) => c.name === ref);
  };

  switch (sub) {
    case 'add': {
      const type = flags.type;
      if (typeof type !== 'string' || !CHANNEL_TYPES.includes(type as ChannelType)) {
        cli.err(
          `--type: must be one of ${CHANNEL_TYPES.join(', ')}${typeof type === 'string' ? ` (got ${type})` : ' (required)'}`,
        );
        return 2;
      }
      if (typeof flags.name !== 'string') {
        cli.err('--name: required');
        return 2;
      }
      const body: Record<string, unknown> = { ...flags };
      if (typeof body.port === 'string') body.port = Number(body.port);
      const sev = flags.min_severity;
      if (sev !== undefined && sev !== 'info' && sev !== 'warning' && sev !== 'critical') {
        cli.err(`--min-severity: must be one of info, warning, critical (got ${String(sev)})`);
        return 2;
      }
      const parsed = notifiers()[type as ChannelType].parse(body);
      if (!parsed.ok) {
        for (const e of parsed.errors) cli.err(e);
        return 2;
      }
      const c = {
        id: randomUUID(),
        tenantId: tenant.id,
        type: type as ChannelType,
        name: flags.name,
        config: parsed.config,
        minSeverity: (sev ?? 'info') as Severity,
      };
      if (!(await store.createChannel(c, cli.now().toISOString()))) {
        cli.err(`a channel named "${flags.name}" exists already`);
        return 1;
      }
      cli.out(`added ${c.type} channel "${c.name}"`);
      cli.out(c.id);
      return 0;
    }
    case 'list': {
      const all = (await store.listChannels(tenant.id)).map(channelView);
      if (flags.json) cli.out(JSON.stringify(all, null, 2));
      else if (all.length === 0) cli.out('no channels');
      else for (const c of all) cli.out(`${c.id}  ${c.type.padEnd(8)} ${c.name}  (min ${c.min_severity})`);
      return 0;
    }
    case 'test': {
      const c = await find(rest[0]);
      if (!c) {
        cli.err(`no channel "${rest[0] ?? ''}" (give an id or a name)`);
        return 1;
      }
      try {
        await notifiers()[c.type].send(c.config, testNotification(c.name, cli.now().getTime()), {
          idempotencyKey: `test:${randomUUID()}`,
          timeoutMs: 10_000,
        });
      } catch (err) {
        cli.err(`test notification to "${c.name}" failed: ${(err as Error).message}`);
        return 1;
      }
      cli.out(`test notification delivered to "${c.name}"`);
      return 0;
    }
    case 'delete': {
      const c = await find(rest[0]);
      if (!c || !(await store.deleteChannel(tenant.id, c.id))) {
        cli.err(`no channel "${rest[0] ?? ''}"`);
        return 1;
      }
      cli.out(`deleted channel "${c.name}"`);
      return 0;
    }
    default:
      cli.err(`unknown subcommand "${sub}"\n${USAGE}`);
      return 2;
  }
}

export const channelCommand: CliCommand = {
  name: 'channel',
  summary: 'notification channels: add | list | test | delete',
  usage: USAGE,
  options: CHANNEL_OPTIONS,
  run,
};
