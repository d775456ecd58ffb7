/**
 * The JSON body parser: Fastify's own (proto-poisoning refused), behind a nesting-depth check. A
 * 10,000-deep array parses, but the schema validator and normalizer then recurse through it and
 * overflow the stack: a 500 for one request (issue 13, Low). No payload of the spec nests beyond
 * a handful of levels.
 */
import type { FastifyInstance } from 'fastify';
import { apiError } from './errors.ts';

export const MAX_JSON_DEPTH = 32;

/** the deepest nesting of objects and arrays in a JSON text (strings skipped), stopping past `limit` */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return max;
}

export function registerJsonBodyParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (jsonDepth(text, maxDepth) > maxDepth) {
      done(apiError('NANNY_ERR_INVALID_REQUEST', `JSON nested deeper than ${maxDepth} levels`), undefined);
      return;
    }
    void parse(req, text, done);
  });
}
