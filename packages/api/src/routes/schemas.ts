/** Route schema pieces every route plugin shares: the error answer, ids, paging. */
import { Type, type TSchema } from '@sinclair/typebox';
import type { ErrorEnvelope } from '@nanny/schema';
import { apiError } from '../errors.ts';

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

/** `2024-05-01`, `2024-05-01T10:00`, `…:00Z`, `…:00.123+02:00`: a calendar date, optionally a time */
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A time from a query string as ISO-8601 UTC, or a 400. `Date.parse` alone takes `-1` (year −1),
 * `1` (2001) and `2024-02-30` (1 March), so the form is checked first and the day must exist.
 */
export function isoParam(name: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const m = ISO_TIME.exec(v);
  const t = m ? Date.parse(v.replace(' ', 'T')) : NaN;
  const [, y, mo, d, h, mi, s] = m ?? [];
  const dayExists =
    m !== null && new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d))).getUTCDate() === Number(d);
  if (
    Number.isNaN(t) ||
    !dayExists ||
    Number(mo) < 1 ||
    Number(mo) > 12 ||
    Number(h ?? 0) > 23 ||
    Number(mi ?? 0) > 59 ||
    Number(s ?? 0) > 59
  )
    throw apiError('NANNY_ERR_INVALID_REQUEST', `${name}: not an ISO-8601 time`);
  return new Date(t).toISOString();
}
