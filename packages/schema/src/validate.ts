/**
 * Validation of the payloads with TypeBox's compiled checkers: the agent checks what it is about to
 * send, tests check fixtures. The API uses the same schemas as its route schemas.
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { PAYLOAD_SCHEMAS, type Payload, type PayloadKind } from './payloads.ts';
import { normalizePayload } from './normalize.ts';
import { OPS_SCHEMAS, type OpsKind, type OpsPayload } from './ops.ts';

// TypeBox ships no string formats; register the one we use.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set(
    'date-time',
    (v) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) &&
      !Number.isNaN(Date.parse(v)),
  );
}

const checkers = new Map<TSchema, TypeCheck<TSchema>>();
function checkerFor(schema: TSchema): TypeCheck<TSchema> {
  let c = checkers.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    checkers.set(schema, c);
  }
  return c;
}

export interface ValidationIssue {
  /** JSON pointer of the offending field, e.g. "/vmid" */
  path: string;
  message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

/** Validates any schema; issues name the field. */
export function validateAgainst<T>(schema: TSchema, value: unknown): ValidationResult<T> {
  const checker = checkerFor(schema);
  if (checker.Check(value)) return { ok: true, value: value as T };
  const issues: ValidationIssue[] = [];
  for (const e of checker.Errors(value)) {
    issues.push({ path: e.path || '/', message: e.message });
    if (issues.length >= 20) break;
  }
  return { ok: false, issues };
}

/** Normalises upstream aliases, then validates against the canonical payload schema. */
export function validatePayload<K extends PayloadKind>(kind: K, body: unknown): ValidationResult<Payload<K>> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, issues: [{ path: '/', message: 'body must be a JSON object' }] };
  }
  const { body: normalized } = normalizePayload(kind, body);
  return validateAgainst<Payload<K>>(PAYLOAD_SCHEMAS[kind], normalized);
}

/** One line naming the fields, for `error_description`. */
export function describeIssues(issues: ValidationIssue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path === '/' ? 'body' : i.path.slice(1).replaceAll('/', '.')}: ${i.message}`)
    .join('; ');
}

/** Validates an operations report (ops.ts): no upstream aliases to normalise there. */
export function validateOps<K extends OpsKind>(kind: K, body: unknown): ValidationResult<OpsPayload<K>> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, issues: [{ path: '/', message: 'body must be a JSON object' }] };
  }
  return validateAgainst<OpsPayload<K>>(OPS_SCHEMAS[kind], body);
}
