/**
 * Every connection a notification channel makes goes through here: HTTP(S) POSTs and SMTP sockets.
 *
 * The host is resolved once, every address it resolves to is checked against the address guard,
 * and the socket is opened to the checked address itself, never to the name again, so a DNS answer
 * that changes between the check and the connect (DNS rebinding) has no gap to use. Redirects are
 * never followed. Failures are short status lines ("HTTP 500", "connection refused"): the receiver's
 * body is never read into a message, so the test endpoint and the deliveries log cannot be used to
 * read internal services or tell a closed port from an open one.
 */
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createAddressGuard, parseCidrs } from './guard.ts';
import { DeliveryError } from '../errors.ts';

/** host name → its addresses (all of them: each is checked) */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface OutboundOptions {
  /** CIDRs that may be connected to although internal (NANNYAPI_ALLOWED_CHANNEL_NETWORKS) */
  allowedNetworks: readonly string[];
  /** default: the system resolver (dns.lookup, all addresses); tests inject one */
  resolve?: Resolver;
}

export interface Outbound {
  /** create-time check of a channel URL: undefined when acceptable, else why not */
  checkUrl(url: string): string | undefined;
  /** create-time check of a bare host name or address (SMTP) */
  checkHost(host: string): string | undefined;
  /** POSTs `body`; resolves on 2xx, throws a DeliveryError with a one-line status otherwise */
  post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<void>;
  /** a plain TCP socket, connected through the guard (SMTP; nodemailer adds TLS on it) */
  connect(host: string, port: number, timeoutMs: number): Promise<{ socket: Socket; address: string }>;
}

const refused = (why: string): DeliveryError => new DeliveryError(`address not allowed: ${why}`, false);

const unbracket = (h: string): string => h.replace(/^\[(.*)\]$/, '$1');

/**
 * The host as a connection would read it: `2130706433`, `0x7f.1` and `0177.0.0.1` are 127.0.0.1
 * to the system resolver, and the WHATWG URL parser reads them the same way, so the literal check
 * sees the address that would really be used. Undefined for what is not a host at all.
 */
export function normalizeHost(host: string): string | undefined {
  const h = host.trim();
  if (h === '' || /[\s/?#@\\]/.test(h)) return undefined;
  try {
    const u = new URL(`http://${isIP(h) === 6 ? `[${h}]` : h}/`);
    return u.port === '' ? unbracket(u.hostname) : undefined;
  } catch {
    return undefined;
  }
}

/** "localhost" and *.localhost never leave the machine (RFC 6761): treat them as the loopback literal. */
const asLiteral = (host: string): string | undefined =>
  isIP(host) ? host : /(^|\.)localhost\.?$/i.test(host) ? '127.0.0.1' : undefined;

/** One status line for a failed connection: the error code only, never a peer's text. */
export function connectionStatus(err: unknown): string {
  if (err instanceof DeliveryError) return err.message;
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    case 'ETIMEDOUT':
    case 'ABORT_ERR':
      return 'timed out';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return 'host not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
  }
  if (typeof code === 'string' && /^[A-Z0-9_]{2,64}$/.test(code))
    return /CERT|TLS|SSL/.test(code) ? `TLS error (${code})` : `connection failed (${code})`;
  return 'connection failed';
}

export function createOutbound(o: OutboundOptions): Outbound {
  const { cidrs, errors } = parseCidrs(o.allowedNetworks);
  if (errors.length) throw new Error(`allowed channel networks: ${errors.join('; ')}`);
  const guard = createAddressGuard(cidrs);
  const resolve: Resolver = o.resolve ?? ((h) => lookup(h, { all: true, verbatim: true }));

  const literalWhy = (host: string): string | undefined => {
    const lit = asLiteral(host);
    if (lit === undefined) return undefined;
    const why = guard.refusal(lit);
    return why === undefined ? undefined : `${host} is ${why}`;
  };

  /** The one address to connect to, after every address of the name passed the guard. */
  async function resolveChecked(rawHost: string): Promise<string> {
    const host = normalizeHost(rawHost);
    if (host === undefined) throw new DeliveryError('invalid host', false);
    if (isIP(host)) {
      const why = guard.check(host);
      if (why) throw refused(why);
      return host;
    }
    let addrs: { address: string }[];
    try {
      addrs = await resolve(host);
    } catch (err) {
      throw new DeliveryError('host not found', true, { cause: err });
    }
    if (addrs.length === 0) throw new DeliveryError('host not found', true);
    // All must pass: a name that also points inside is refused, not raced (the resolver's order
    // and the connect's fallback order are not ours to rely on).
    for (const a of addrs) {
      const why = guard.refusal(a.address);
      // the internal address itself stays out of the message: it would make this a DNS oracle
      if (why) throw refused(`${host} resolves to an address that is ${why}`);
    }
    return addrs[0]!.address;
  }

  function withDeadline<T>(timeoutMs: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ac = new AbortController();
    let late: NodeJS.Immediate | undefined;
    // Aborted one turn of the event loop later: after a stall (the process stopped, a paused VM)
    // the overdue timer runs before the sockets are read, and an answer that arrived meanwhile
    // would count as a timeout — and the delivery be sent twice.
    const timer = setTimeout(() => {
      late = setImmediate(() => ac.abort(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    }, timeoutMs);
    return run(ac.signal).finally(() => {
      clearTimeout(timer);
      if (late) clearImmediate(late);
    });
  }

  function openSocket(
    host: string,
    port: number,
    tls: boolean,
    signal: AbortSignal,
  ): Promise<{ socket: Socket; address: string }> {
    // a resolver that never answers must not outlive the deadline
    const aborted = new Promise<never>((_, rej) =>
      signal.addEventListener('abort', () => rej(signal.reason as Error), { once: true }),
    );
    aborted.catch(() => undefined);
    return Promise.race([resolveChecked(host), aborted]).then(
      (address) =>
        new Promise((res, rej) => {
          if (signal.aborted) return rej(signal.reason as Error);
          const name = unbracket(host);
          const socket: Socket = tls
            ? tlsConnect({ host: address, port, ...(isIP(name) ? {} : { servername: name }) })
            : netConnect({ host: address, port });
          const onAbort = () => socket.destroy(signal.reason as Error);
          signal.addEventListener('abort', onAbort, { once: true });
          const done = (err?: Error) => {
            signal.removeEventListener('abort', onAbort);
            socket.off('error', done);
            if (err) {
              socket.destroy();
              rej(err);
            } else res({ socket, address });
          };
          socket.once(tls ? 'secureConnect' : 'connect', () => done());
          socket.once('error', done);
        }),
    );
  }

  function checkUrl(url: string): string | undefined {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return 'not a URL';
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an http(s) URL';
    if (u.username !== '' || u.password !== '')
      return 'must not contain a user name or password (use the channel’s token/secret fields)';
    const why = literalWhy(unbracket(u.hostname));
    return why === undefined ? undefined : `address not allowed: ${why}`;
  }

  return {
    checkUrl,
    checkHost(rawHost) {
      const host = normalizeHost(rawHost);
      if (host === undefined) return 'not a host name or address';
      const why = literalWhy(host);
      return why === undefined ? undefined : `address not allowed: ${why}`;
    },
    post(url, body, headers, timeoutMs) {
      const bad = checkUrl(url);
      if (bad?.startsWith('address not allowed')) return Promise.reject(new DeliveryError(bad, false));
      if (bad !== undefined) return Promise.reject(new DeliveryError(`invalid URL: ${bad}`, false));
      const u = new URL(url);
      const tls = u.protocol === 'https:';
      const port = Number(u.port || (tls ? 443 : 80));
      return withDeadline(timeoutMs, async (signal) => {
        let res: IncomingMessage;
        try {
          const { socket } = await openSocket(u.hostname, port, tls, signal);
          res = await new Promise<IncomingMessage>((resolveRes, rejectRes) => {
            const req = (tls ? httpsRequest : httpRequest)(
              u,
              {
                method: 'POST',
                headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
                signal,
                // the socket is already connected to the checked address; nothing resolves the name again
                createConnection: () => socket,
              },
              resolveRes,
            );
            req.on('error', rejectRes);
            req.end(body);
          });
        } catch (err) {
          throw new DeliveryError(connectionStatus(err), !(err instanceof DeliveryError) || err.retryable, {
            cause: err,
          });
        }
        // Discard the body unread (at most 64 KiB of it) so nothing of it can reach a message.
        await new Promise<void>((done) => {
          let seen = 0;
          res.on('data', (c: Buffer) => {
            seen += c.length;
            if (seen > 65536) res.destroy();
          });
          res.on('end', done);
          res.on('close', done);
          res.on('error', () => done());
        });
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return;
        if (status >= 300 && status < 400)
          throw new DeliveryError(`HTTP ${status} (redirects are not followed)`, false);
        // 408/429 and 5xx are the receiver's passing trouble; other 4xx will not change on a retry.
        throw new DeliveryError(`HTTP ${status}`, status >= 500 || status === 408 || status === 429);
      });
    },
    connect(host, port, timeoutMs) {
      return withDeadline(timeoutMs, (signal) =>
        openSocket(host, port, false, signal).catch((err: unknown) => {
          throw new DeliveryError(connectionStatus(err), !(err instanceof DeliveryError) || err.retryable, {
            cause: err,
          });
        }),
      );
    },
  };
}
