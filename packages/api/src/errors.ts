/**
 * The API's one error catalogue: stable keys (fastify's FST_ERR_* idea) with the HTTP status and the
 * spec's error code `{"success": false, "error": "<code>", "error_description": "<text>"}` they are
 * answered with. Every error the API makes on purpose is a NannyError with one of these keys:
 * ApiError (thrown from routes), DeliveryError (notifications) and CliError (the nannyapi command).
 * Throw `apiError('NANNY_ERR_…', text)` in a route; the one error handler below renders it.
 * docs/api.md's error table lists the same keys (errors.test.ts keeps them in step).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode, ErrorEnvelope } from '@nanny/schema';

export interface CatalogueEntry {
  status: number;
  code: ErrorCode;
}

export const ERRORS = {
  NANNY_ERR_INVALID_REQUEST: { status: 400, code: 'invalid_request' },
  NANNY_ERR_UNAUTHORIZED: { status: 401, code: 'unauthorized' },
  NANNY_ERR_FORBIDDEN: { status: 403, code: 'forbidden' },
  NANNY_ERR_NOT_FOUND: { status: 404, code: 'not_found' },
  NANNY_ERR_CONFLICT: { status: 409, code: 'conflict' },
  NANNY_ERR_PAYLOAD_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  NANNY_ERR_RATE_LIMITED: { status: 429, code: 'rate_limited' },
  /** an organisation holds as many clusters, nodes or guests as its quota allows */
  NANNY_ERR_QUOTA_EXCEEDED: { status: 403, code: 'quota_exceeded' },
  NANNY_ERR_SERVER: { status: 500, code: 'server_error' },
  NANNY_ERR_UNAVAILABLE: { status: 503, code: 'unavailable' },
  /** a notification was not delivered (the queue retries it unless `retryable` is false) */
  NANNY_ERR_DELIVERY: { status: 503, code: 'unavailable' },
  /** a nannyapi command refused what it was given (the CLI prints the text, exit 1) */
  NANNY_ERR_CLI: { status: 400, code: 'invalid_request' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorKey = keyof typeof ERRORS;

/** Base of every catalogued error: a stable key, the status/code it is answered with, `cause` kept. */
export class NannyError extends Error {
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
    this.name = 'NannyError';
    this.key = key;
    this.status = ERRORS[key].status;
    this.code = ERRORS[key].code;
    this.headers = options?.headers ?? {};
  }
}

/** An error answered to an HTTP client as the spec's error envelope. */
export class ApiError extends NannyError {
  constructor(
    key: ErrorKey,
    description: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(key, description, options);
    this.name = 'ApiError';
  }
}

export function apiError(
  key: ErrorKey,
  description: string,
  options?: { cause?: unknown; headers?: Record<string, string> },
): ApiError {
  return new ApiError(key, description, options);
}

/** A failed send; `retryable: false` means trying again cannot help (e.g. 404, bad credentials). */
export class DeliveryError extends NannyError {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super('NANNY_ERR_DELIVERY', message, options);
    this.name = 'DeliveryError';
  }
}

/** A nannyapi command refused its input: the CLI prints the message and exits 1. */
export class CliError extends NannyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NANNY_ERR_CLI', message, options);
    this.name = 'CliError';
  }
}

/** The text of anything thrown (an Error's message, else its string form). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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
  app.setErrorHandler((err: FastifyError | NannyError, req, reply) => {
    if (err instanceof NannyError) {
      // the whole chain: pino's err serialiser appends each cause's message and stack
      if (err.status >= 500) req.log.error({ err }, err.message);
      void reply.code(err.status).headers(err.headers).send(envelope(err.code, err.message));
      return;
    }
    const fe = err as FastifyError & {
      validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[];
    };
    if (fe.validation) {
      const parts = fe.validation.slice(0, 5).map((v) => {
        // a missing field, or an unknown one (strict bodies): name it
        const missing = v.params?.['missingProperty'] ?? v.params?.['additionalProperty'];
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

/**
 * Fastify answers a URL it cannot route on its own (`/api/nodes/%C0%AF`: not valid UTF-8 once
 * decoded; a path parameter over `maxParamLength`) before any route or error handler runs, with its
 * own JSON. Those answers go through the envelope too, as the 400 they are.
 */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const text =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'A path parameter is too long'
      : err.code === 'FST_ERR_BAD_URL'
        ? 'The path is not valid percent-encoded UTF-8'
        : 'Bad request';
  void reply.code(400).send(envelope('invalid_request', text));
}
