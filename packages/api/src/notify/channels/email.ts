/**
 * E-mail over SMTP with nodemailer. `secure: true` is implicit TLS (port 465); otherwise STARTTLS is
 * used when the server offers it, and `require_tls: true` refuses to send without it. With a
 * username, STARTTLS is required whatever `require_tls` says unless the server is on loopback: a
 * server (or a man in the middle) that hides STARTTLS must not receive the password in clear.
 * The TCP connection is opened by the outbound guard (nodemailer's `getSocket`), so SMTP hosts get
 * the same address check as every other channel, on the address actually connected to.
 * SMTP replies 5xx are permanent (bad recipient, auth refused); 4xx and connection failures retry.
 * The message is plain text only: there is no HTML part in which fleet text could become markup.
 */
import nodemailer from 'nodemailer';
import { oneLine } from '../escape.ts';
import { classify } from '../guard.ts';
import { str, title } from '../http.ts';
import { DeliveryError, type ChannelSpec, type Notification } from '../types.ts';

export function emailMessage(n: Notification): { subject: string; text: string } {
  const lines = [
    n.summary,
    '',
    `Rule:     ${n.rule}`,
    `Severity: ${n.severity}`,
    `State:    ${n.state}`,
    `Cluster:  ${n.cluster.name ?? n.cluster.id}`,
    ...(n.node ? [`Node:     ${n.node}`] : []),
    ...(n.vmid !== null ? [`Guest:    ${n.vmid}`] : []),
    `Started:  ${n.started_at}`,
    ...(n.resolved_at ? [`Resolved: ${n.resolved_at}`] : []),
    '',
    `Alert id: ${n.alert_id}`,
  ];
  return { subject: oneLine(`${title(n)}: ${n.summary}`).slice(0, 200), text: lines.join('\n') };
}

const list = (v: unknown): string[] | undefined => {
  const arr = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : undefined;
  const out = arr
    ?.filter((x): x is string => typeof x === 'string')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  return out && out.length > 0 ? out : undefined;
};

/** One status line for a failed SMTP exchange: reply code or error code and the command, no server text. */
function smtpStatus(err: unknown): string {
  const e = err as { code?: unknown; responseCode?: unknown; command?: unknown };
  const code = typeof e.responseCode === 'number' ? String(e.responseCode) : undefined;
  const ecode = typeof e.code === 'string' && /^[A-Z0-9_]{2,32}$/.test(e.code) ? e.code : undefined;
  const cmd = typeof e.command === 'string' && /^[A-Z ]{2,20}$/.test(e.command) ? e.command : undefined;
  if (ecode === 'ETLS') return 'SMTP: the server did not provide TLS (ETLS)';
  const what = [code, ecode].filter((x) => x !== undefined).join(' ');
  return `SMTP ${what || 'error'}${cmd ? ` (${cmd})` : ''}`;
}

export const email: ChannelSpec = {
  type: 'email',
  fields: [
    { name: 'host', required: true, description: 'SMTP server' },
    { name: 'port', required: false, description: 'default 587 (465 when secure)' },
    { name: 'secure', required: false, description: 'implicit TLS (true for port 465)' },
    { name: 'require_tls', required: false, description: 'refuse to send without STARTTLS' },
    { name: 'username', required: false, description: 'SMTP login' },
    { name: 'password', required: false, description: 'SMTP password' },
    { name: 'from', required: true, description: 'sender address' },
    { name: 'to', required: true, description: 'recipient(s): a list or a comma-separated string' },
  ],
  secretFields: ['password'],
  parse(b, out) {
    const errors: string[] = [];
    const host = str(b.host);
    const from = str(b.from);
    const to = list(b.to);
    const secure = b.secure === true;
    const port = b.port === undefined ? (secure ? 465 : 587) : Number(b.port);
    if (!host) errors.push('host: the SMTP server is required');
    const hostWhy = host === undefined ? undefined : out.checkHost(host);
    if (hostWhy) errors.push(`host: ${hostWhy}`);
    if (!from) errors.push('from: the sender address is required');
    if (!to) errors.push('to: at least one recipient is required');
    if (!Number.isInteger(port) || port < 1 || port > 65535) errors.push('port: 1-65535');
    if (errors.length || !host || !from || !to) return { ok: false, errors };
    const config: Record<string, unknown> = {
      host,
      port,
      secure,
      require_tls: b.require_tls === true,
      from,
      to,
    };
    const username = str(b.username);
    const password = str(b.password);
    if (username) config.username = username;
    if (password) config.password = password;
    return { ok: true, config };
  },
  async send(config, n, opts, out) {
    const username = str(config.username);
    const host = String(config.host);
    const port = Number(config.port);
    const secure = config.secure === true;
    const transport = nodemailer.createTransport({
      host,
      port,
      secure,
      requireTLS: config.require_tls === true,
      connectionTimeout: opts.timeoutMs,
      greetingTimeout: opts.timeoutMs,
      socketTimeout: opts.timeoutMs,
      ...(username ? { auth: { user: username, pass: str(config.password) ?? '' } } : {}),
      getSocket: (_o, cb) => {
        out.connect(host, port, opts.timeoutMs).then(
          ({ socket, address }) => {
            // decided on the address really connected to, not on the name
            const mustTls = !secure && username !== undefined && classify(address) !== 'loopback';
            cb(null, { connection: socket, ...(mustTls ? { requireTLS: true } : {}) });
          },
          (err: unknown) => cb(err as Error),
        );
      },
    });
    const { subject, text } = emailMessage(n);
    try {
      await transport.sendMail({
        from: String(config.from),
        to: (config.to as string[]).join(', '),
        subject,
        text,
        headers: { 'X-Nanny-Idempotency-Key': opts.idempotencyKey },
      });
    } catch (err) {
      if (err instanceof DeliveryError) throw err;
      const code = (err as { responseCode?: number }).responseCode;
      const tls = (err as { code?: unknown }).code === 'ETLS';
      throw new DeliveryError(smtpStatus(err), !tls && !(code !== undefined && code >= 500), {
        cause: err,
      });
    } finally {
      transport.close();
    }
  },
};
