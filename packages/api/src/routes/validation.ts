/**
 * Request validation with two Ajv configurations: bodies exactly as sent (the spec is law:
 * `"vmid": "100"` is an error, nothing is stripped or defaulted), query strings and path
 * parameters coerced (they are text on the wire, so `?limit=50` must become the integer the
 * schema declares). Fastify hands each schema's HTTP part to the compiler, which picks the Ajv.
 */
import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

type BuildValidator = ReturnType<typeof AjvCompiler>;

/** `schemaController` option of `Fastify()`; `customOptions` are the app's Ajv options for bodies. */
export function schemaController(
  customOptions: Record<string, unknown>,
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
    return (route) =>
      (route.httpPart === 'querystring' || route.httpPart === 'params' ? coercing : strict)(route);
  };
  return { compilersFactory: { buildValidator } } as NonNullable<FastifyServerOptions['schemaController']>;
}
