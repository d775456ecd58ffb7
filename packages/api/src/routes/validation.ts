/**
 * Request validation with two Ajv configurations: bodies exactly as sent (the spec is law:
 * `"vmid": "100"` is an error, nothing is stripped or defaulted), query strings and path
 * parameters coerced (they are text on the wire, so `?limit=50` must become the integer the
 * schema declares). Fastify hands each schema's HTTP part to the compiler, which picks the Ajv.
 *
 * Compiling every route's validators and response serializers costs ~0.6 s of CPU per app (a CPU
 * profile of `app.close()` on an app never made ready: 60 % in Ajv and fast-json-stringify). A
 * server builds one app and pays it once; the test suite builds hundreds. A `CompileCache` shared
 * by apps of one process lets them reuse what the first compiled: the compiled functions are pure
 * (a validator keeps its last `errors` only until its next synchronous call).
 */
import AjvCompiler from '@fastify/ajv-compiler';
import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type BuildValidator = ReturnType<typeof AjvCompiler>;
type BuildSerializer = ReturnType<typeof SerializerSelector>;

/** compiled validators and serializers by what they were compiled from */
export interface CompileCache {
  readonly compiled: Map<string, unknown>;
  /** how many compilations the cache saved (the tests check it is used) */
  hits: number;
}

export function createCompileCache(): CompileCache {
  return { compiled: new Map(), hits: 0 };
}

/**
 * The key of one compilation: what kind, the route part or status it is for, the shared schemas
 * it may reference (by id) and the schema itself. Apps that share a cache must share the same
 * `addSchema` set, as apps built by `buildApp` do; the ids guard against mixing others in.
 */
function keyOf(kind: string, part: unknown, external: unknown, schema: unknown): string {
  const ids = external && typeof external === 'object' ? Object.keys(external).sort().join(',') : '';
  return `${kind}\u0000${String(part)}\u0000${ids}\u0000${JSON.stringify(schema)}`;
}

function memo<R>(cache: CompileCache | undefined, key: () => string, compile: () => R): R {
  if (!cache) return compile();
  const k = key();
  if (cache.compiled.has(k)) {
    cache.hits++;
    return cache.compiled.get(k) as R;
  }
  const made = compile();
  cache.compiled.set(k, made);
  return made;
}

/** `schemaController` option of `Fastify()`; `customOptions` are the app's Ajv options for bodies. */
export function schemaController(
  customOptions: Record<string, unknown>,
  cache?: CompileCache,
): NonNullable<FastifyServerOptions['schemaController']> {
  // One pool per app: the compilers are cached by external schemas + options inside it.
  const pool: BuildValidator = AjvCompiler();
  const buildValidator: BuildValidator = (externalSchemas, options) => {
    // Fastify passes its `ajv` server option (plugins, onCreate); the Ajv options are ours.
    const shared = {
      plugins: options?.plugins ?? [],
      ...(options?.onCreate ? { onCreate: options.onCreate } : {}),
    };
    const strict = pool(externalSchemas, { ...shared, customOptions });
    const coercing = pool(externalSchemas, {
      ...shared,
      // Ajv's strictNumbers (its default) skips `maximum` for a value coercion made non-finite:
      // `?limit=1e400` became Infinity, passed, and reached SQL (500). Without it the bound holds.
      customOptions: { ...customOptions, coerceTypes: true, strictNumbers: false },
    });
    return (route) => {
      const coerce = route.httpPart === 'querystring' || route.httpPart === 'params';
      return memo(
        cache,
        () => keyOf(coerce ? 'coerce' : 'strict', route.httpPart, externalSchemas, route.schema),
        () => (coerce ? coercing : strict)(route),
      );
    };
  };
  const serializers = SerializerSelector();
  const buildSerializer: BuildSerializer = (externalSchemas, serializerOpts) => {
    const compile = serializers(externalSchemas, serializerOpts);
    return (route) =>
      memo(
        cache,
        () => {
          // Fastify also passes the content type of a response schema given per content type
          const type = (route as { contentType?: string }).contentType ?? '';
          return keyOf('serialize', `${route.httpStatus}:${type}`, externalSchemas, route.schema);
        },
        () => compile(route),
      );
  };
  return { compilersFactory: { buildValidator, buildSerializer } } as NonNullable<
    FastifyServerOptions['schemaController']
  >;
}
