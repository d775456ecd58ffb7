/**
 * The compiled-schema cache (validation.ts): apps sharing it reuse compilations and still
 * validate, coerce and serialise exactly as an app compiling its own.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { createCompileCache, schemaController, type CompileCache } from './validation.ts';

const STRICT = { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false };

async function appWith(cache: CompileCache | undefined, maximum = 10): Promise<FastifyInstance> {
  const app = Fastify({ schemaController: schemaController(STRICT, cache) });
  app.post(
    '/r',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', maximum } },
          additionalProperties: false,
        },
        body: { type: 'object', properties: { vmid: { type: 'integer' } }, required: ['vmid'] },
        response: {
          200: { type: 'object', properties: { vmid: { type: 'integer' }, limit: { type: 'integer' } } },
        },
      },
    },
    (req) => ({
      vmid: (req.body as { vmid: number }).vmid,
      limit: (req.query as { limit?: number }).limit,
      secret: 'not in the response schema',
    }),
  );
  await app.ready();
  return app;
}

async function behaviour(app: FastifyInstance) {
  const post = (url: string, payload: Record<string, unknown>) =>
    app.inject({ method: 'POST', url, payload });
  const ok = await post('/r?limit=5', { vmid: 100 });
  const stringVmid = await post('/r', { vmid: '100' });
  const overMax = await post('/r?limit=11', { vmid: 100 });
  return {
    ok: [ok.statusCode, ok.json()],
    stringVmid: stringVmid.statusCode,
    overMax: overMax.statusCode,
  };
}

test('apps sharing a compile cache reuse its compilations and behave as apps without one', async (t) => {
  const cache = createCompileCache();
  const first = await appWith(cache);
  t.after(() => first.close());
  const compiled = cache.compiled.size;
  assert.ok(compiled >= 3, `querystring, body and response compiled into the cache (${compiled})`);
  assert.equal(cache.hits, 0);

  const second = await appWith(cache);
  t.after(() => second.close());
  assert.equal(cache.compiled.size, compiled, 'the second app compiled nothing new');
  assert.ok(cache.hits >= 3, `the second app took its compilations from the cache (${cache.hits} hits)`);

  const alone = await appWith(undefined);
  t.after(() => alone.close());
  const expected = {
    ok: [200, { vmid: 100, limit: 5 }], // the query coerced; the extra field not serialised
    stringVmid: 400, // bodies are not coerced
    overMax: 400,
  };
  assert.deepEqual(await behaviour(alone), expected);
  assert.deepEqual(await behaviour(first), expected);
  assert.deepEqual(await behaviour(second), expected);
});

test('a different schema is compiled anew, not taken from the cache', async (t) => {
  const cache = createCompileCache();
  const tight = await appWith(cache, 10);
  t.after(() => tight.close());
  const loose = await appWith(cache, 1000);
  t.after(() => loose.close());
  const q = (app: FastifyInstance) =>
    app.inject({ method: 'POST', url: '/r?limit=500', payload: { vmid: 1 } });
  assert.equal((await q(tight)).statusCode, 400);
  assert.equal((await q(loose)).statusCode, 200);
});
