/**
 * The API's error catalogue: stable codes (fastify's FST_ERR_* idea) mapped to the spec's error
 * envelope `{"success": false, "error": "<code>", "error_description": "<text>"}`.
 * Throw `apiError('NANNY_ERR_…', text)` anywhere; the one error handler below renders it.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import type { ErrorCode, ErrorEnvelope } from '@nanny/schema';

export interface CatalogueEntry {
  status: number;
  code: ErrorCode;
}

export const ERRORS = {
  NANNY_ERR_UNAUTHORIZED: { status: 401, code: 'unauthorized' },
  NANNY_ERR_FORBIDDEN: { status: 403, code: 'forbidden' },
  NANNY_ERR_INVALID_REQUEST: { status: 400, code: 'invalid_request' },
  NANNY_ERR_PAYLOAD_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  NANNY_ERR_NOT_FOUND: { status: 404, code: 'not_found' },
  NANNY_ERR_CONFLICT: { status: 409, code: 'conflict' },
  NANNY_ERR_RATE_LIMITED: { status: 429, code: 'rate_limited' },
  NANNY_ERR_UNAVAILABLE: { status: 503, code: 'unavailable' },
  NANNY_ERR_SERVER: { status: 500, code: 'server_error' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorKey = keyof typeof ERRORS;

export class ApiError extends Error {
  readonly key: ErrorKey;
  readonly status: number;
  readonly code: ErrorCode;
  /** extra response headers, e.g. Retry-After */
  readonly headers: Record<string, string>;
  constructor(
    key: ErrorKey,
    description: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(description, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.key = key;
    this.status = ERRORS[key].status;
    this.code = ERRORS[key].code;
    this.headers = options?.headers ?? {};
  }
}

export function apiError(
  key: ErrorKey,
  description: string,
  options?: { cause?: unknown; headers?: Record<string, string> },
): ApiError {
  return new ApiError(key, description, options);
}

export function envelope(code: ErrorCode, description: string): ErrorEnvelope {
  return { success: false, error: code, error_description: description };
}

/** Status → code for errors that did not come from the catalogue (fastify's own, plugins'). */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413) return 'payload_too_large';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  if (status >= 400 && status < 500) return 'invalid_request';
  return 'server_error';
}

/**
 * The one error handler: catalogue errors as they are, validation and body errors as
 * invalid_request / payload_too_large, anything else by status; 5xx are logged with stack and cause.
 */
export function registerErrorHandlers(app: FastifyInstance, opts: { bodyLimitBytes: number }): void {
  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      if (err.status >= 500) req.log.error({ err: err.cause ?? err }, err.message);
      void reply.code(err.status).headers(err.headers).send(envelope(err.code, err.message));
      return;
    }
    const fe = err as FastifyError & {
      validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[];
    };
    if (fe.validation) {
      const parts = fe.validation.slice(0, 5).map((v) => {
        const missing = v.params?.['missingProperty'];
        const path = (v.instancePath ?? '').slice(1).replaceAll('/', '.');
        const field = [path, typeof missing === 'string' ? missing : ''].filter((x) => x !== '').join('.');
        return `${field || (fe.validationContext ?? 'body')}: ${v.message ?? 'invalid'}`;
      });
      void reply.code(400).send(envelope('invalid_request', parts.join('; ')));
      return;
    }
    const status = fe.statusCode ?? 500;
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
      void reply
        .code(413)
        .send(envelope('payload_too_large', `Body larger than ${opts.bodyLimitBytes} bytes`));
      return;
    }
    if (
      fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
      err instanceof SyntaxError
    ) {
      void reply.code(400).send(envelope('invalid_request', 'Malformed JSON body'));
      return;
    }
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      void reply.code(500).send(envelope('server_error', 'Internal server error'));
      return;
    }
    void reply.code(status).send(envelope(codeForStatus(status), fe.message));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(envelope('not_found', `No route ${req.method} ${req.url.split('?')[0]}`));
  });
}
