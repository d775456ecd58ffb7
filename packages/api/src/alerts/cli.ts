/**
 * `nannyapi channel add|list|test|delete`: notification channels from the command line, straight on
 * the database (the server need not run). Type fields are flags: `--url`, `--secret`, `--topic`,
 * `--token`, `--host`, `--port`, `--from`, `--to a@x,b@y`, `--secure`, ...
 */
import { randomUUID } from 'node:crypto';
import type { CliCommand, CliContext } from '../module-contract.ts';
import { createAlertStore } from '../storage/alerts.ts';
import { NOTIFIERS } from '../notify/channels/index.ts';
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

/** `--a-b value` → { a_b: "value" }; a flag without a value (or followed by a flag) is `true`. */
export function parseFlags(args: string[]): { flags: Record<string, string | boolean>; rest: string[] } {
  const flags: Record<string, string | boolean> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      rest.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = (eq > 0 ? a.slice(2, eq) : a.slice(2)).replaceAll('-', '_');
    if (eq > 0) flags[name] = a.slice(eq + 1);
    else {
      const next = args[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        flags[name] = next;
        i++;
      } else flags[name] = true;
    }
  }
  return { flags, rest };
}

async function run(args: string[], cli: CliContext): Promise<number> {
  const [sub, ...more] = args;
  const { flags, rest } = parseFlags(more);
  if (!sub || sub === '--help' || flags.help) {
    cli.out(USAGE);
    return sub ? 0 : 2;
  }
  const org = typeof flags.org === 'string' ? flags.org : 'default';
  // The server creates the "default" organisation at its first start; the CLI may run before that.
  const tenant =
    org === 'default' ? await cli.storage.ensureTenant(org) : await cli.storage.tenantByName(org);
  if (!tenant) {
    cli.err(`no organisation named "${org}"`);
    return 1;
  }
  const store = cli.storage.extend(createAlertStore);
  const find = async (ref: string | undefined) => {
    if (!ref) return undefined;
    const all = await store.listChannels(tenant.id);
    return all.find((c) => c.id === ref) ?? all.find((c) => c.name === ref);
  };

  switch (sub) {
    case 'add': {
      const type = flags.type;
      if (typeof type !== 'string' || !CHANNEL_TYPES.includes(type as ChannelType)) {
        cli.err(`--type: one of ${CHANNEL_TYPES.join(', ')}`);
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
        cli.err('--min-severity: info, warning or critical');
        return 2;
      }
      const parsed = NOTIFIERS[type as ChannelType].parse(body);
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
        await NOTIFIERS[c.type].send(c.config, testNotification(c.name, cli.now().getTime()), {
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
  run,
};
