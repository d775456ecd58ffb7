/** Route schema pieces every route plugin shares: the error answer, ids, paging. */
import { Type, type TSchema } from '@sinclair/typebox';
import type { ErrorEnvelope } from '@nanny/schema';

/** The spec's error envelope, registered once in app.ts as the shared schema `ErrorEnvelope`. */
export const ErrorRef = Type.Unsafe<ErrorEnvelope>({ $ref: 'ErrorEnvelope#' });

/** Response schemas of a route: `ok` for 200 (or the given status), the error envelope otherwise. */
export function replies<T extends TSchema>(ok: T): { 200: T; default: typeof ErrorRef };
export function replies<T extends TSchema, S extends number>(
  ok: T,
  status: S,
): { [K in S]: T } & { default: typeof ErrorRef };
export function replies(ok: TSchema, status = 200) {
  return { [status]: ok, default: ErrorRef };
}

export const IdParam = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** `limit`/`offset` of a paged list; query strings are coerced, so these arrive as integers. */
export const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'page size (default 100)' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 999_999_999, description: 'rows to skip' })),
};
export const paging = (q: { limit?: number; offset?: number }) => ({
  limit: q.limit ?? 100,
  offset: q.offset ?? 0,
});
