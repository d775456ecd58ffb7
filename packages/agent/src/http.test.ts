import { budgets, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPooledClient, httpRequest, type HttpClient } from './http.ts';

const tls = { allowInsecureHttp: false };

async function serve(
  t: { after: (fn: () => Promise<void>) => void },
  handler: Parameters<typeof createServer>[1],
) {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const clients: Array<[string, () => HttpClient & { close?: () => void }]> = [
  ['the one-shot client', () => httpRequest],
  ['the pooled client', () => createPooledClient()],
];

for (const [name, make] of clients) {
  test(`${name} sends the body as JSON and returns status, headers and text`, async (t) => {
    const url = await serve(t, (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        res.writeHead(201, { 'x-seen-type': req.headers['content-type'] ?? '' }).end(`echo:${body}`);
      });
    });
    const client = make();
    const res = await client({ method: 'POST', url: `${url}/x`, body: '{"a":1}', timeoutMs: 2000, tls });
    client.close?.();
    assert.equal(res.status, 201);
    assert.equal(res.headers['x-seen-type'], 'application/json');
    assert.equal(res.text, 'echo:{"a":1}');
  });

  test(`${name} gives up after its deadline with an error naming the URL`, async (t) => {
    const url = await serve(t, () => {
      /* never answers */
    });
    const client = make();
    await assert.rejects(client({ method: 'GET', url: `${url}/slow`, timeoutMs: 200, tls }), (e: Error) => {
      assert.match(e.message, /GET http:\/\/127\.0\.0\.1:\d+\/slow: no answer within 200 ms/);
      return true;
    });
    client.close?.();
  });

  test(`${name} refuses an answer larger than 32 MiB`, async (t) => {
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    const url = await serve(t, (_req, res) => {
      res.writeHead(200);
      let sent = 0;
      const push = () => {
        while (sent < 40) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', push);
        }
        res.end();
      };
      push();
    });
    const client = make();
    await assert.rejects(
      // the limit under test is the size; the deadline only bounds a crowded machine
      client({ method: 'GET', url: `${url}/big`, timeoutMs: budgets.long, tls }),
      /response too large/,
    );
    client.close?.();
  });
}
