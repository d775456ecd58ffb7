/** Real loopback receivers for tests and the benchmark: an HTTP server and an SMTP server on port 0. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { within, type BudgetName } from '@nanny/testing';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface HttpReceiver {
  url: string;
  received: Received[];
  /** status to answer with, per request (default 200) */
  respond: (r: Received) => number;
  /** resolves when `n` requests have arrived (rejects after the budget, default `short`) */
  waitFor(n: number, budget?: BudgetName | number): Promise<Received[]>;
  close(): Promise<void>;
}

// The budget comes from @nanny/testing (scaled by NANNY_TIME_SCALE), not a constant of its own.
function waiter<T>(list: T[], waiters: { n: number; resolve: () => void }[], what: string) {
  return (n: number, budget: BudgetName | number = 'short'): Promise<T[]> => {
    if (list.length >= n) return Promise.resolve(list);
    const arrived = new Promise<T[]>((resolve) => waiters.push({ n, resolve: () => resolve(list) }));
    return within(arrived, { what: `${n} ${what} (got ${list.length} so far)`, budget });
  };
}

export async function startHttpReceiver(): Promise<HttpReceiver> {
  const received: Received[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const rec: HttpReceiver = {
    url: '',
    received,
    respond: () => 200,
    waitFor: waiter(received, waiters, 'requests'),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      received.push(r);
      const status = rec.respond(r);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
      for (const w of waiters.splice(0)) {
        if (received.length >= w.n) w.resolve();
        else waiters.push(w);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  rec.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return rec;
}

export interface Mail {
  from: string;
  to: string[];
  raw: string;
}

export interface SmtpReceiver {
  port: number;
  mails: Mail[];
  /** SMTP reply code for RCPT TO of this address, if it should be refused */
  refuse: Map<string, number>;
  waitFor(n: number, budget?: BudgetName | number): Promise<Mail[]>;
  close(): Promise<void>;
}

export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const mails: Mail[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const refuse = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, cb) {
      const code = refuse.get(address.address);
      if (code) return cb(Object.assign(new Error('refused'), { responseCode: code }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const from = session.envelope.mailFrom;
        mails.push({
          from: from ? from.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
        for (const w of waiters.splice(0)) {
          if (mails.length >= w.n) w.resolve();
          else waiters.push(w);
        }
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.server.address() as AddressInfo;
  return {
    port: addr.port,
    mails,
    refuse,
    waitFor: waiter(mails, waiters, 'mails'),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
