import { Type, type Static } from '@sinclair/typebox';

/** Proxmox's 0/1 flags (`quorate`, `online`, `local`) travel as integers on the wire, as the spec shows. */
export const Flag01 = Type.Integer({ minimum: 0, maximum: 1, description: '1 = yes, 0 = no' });

/** ISO-8601 timestamp with a time zone, e.g. `2026-11-25T22:00:00.000Z`. */
export const IsoTimestamp = Type.String({ format: 'date-time', maxLength: 40 });

/** Bounded strings: a real Proxmox value is short; the bound keeps a hostile body cheap to reject. */
export const ShortString = (description?: string) =>
  Type.String({ maxLength: 256, ...(description ? { description } : {}) });
export const LongString = (description?: string) =>
  Type.String({ maxLength: 65536, ...(description ? { description } : {}) });

export const NonNegInt = (description: string) => Type.Integer({ minimum: 0, description });
export const NonNegNumber = (description: string) => Type.Number({ minimum: 0, description });

/** `{"success": true, "message": "Data ingested successfully"}` — exactly the spec's success envelope. */
export const SuccessEnvelope = Type.Object({
  success: Type.Literal(true),
  message: Type.String(),
});
export type SuccessEnvelope = Static<typeof SuccessEnvelope>;
export const INGEST_SUCCESS_MESSAGE = 'Data ingested successfully';

/** The spec's error envelope; `error` is one of {@link ErrorCode}. */
export const ErrorCode = Type.Union(
  [
    Type.Literal('unauthorized'),
    Type.Literal('invalid_request'),
    Type.Literal('payload_too_large'),
    Type.Literal('rate_limited'),
    Type.Literal('quota_exceeded'),
    Type.Literal('not_found'),
    Type.Literal('forbidden'),
    Type.Literal('conflict'),
    Type.Literal('server_error'),
    Type.Literal('unavailable'),
  ],
  { description: 'stable machine-readable error code' },
);
export type ErrorCode = Static<typeof ErrorCode>;

export const ErrorEnvelope = Type.Object({
  success: Type.Literal(false),
  error: ErrorCode,
  error_description: Type.String(),
});
export type ErrorEnvelope = Static<typeof ErrorEnvelope>;

/** Fields every agent report carries besides the spec's own (all optional: the spec's bodies lack them). */
export const ReportMeta = {
  cluster_fingerprint: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9:_-]{8,128}$',
      description:
        'stable identity of the cluster (or of a standalone node): sha256 of /etc/pve/pve-root-ca.pem, hex. See DESIGN.md §3',
    }),
  ),
  collected_at: Type.Optional(IsoTimestamp),
  agent_version: Type.Optional(ShortString('nannyagent version that built the report')),
  trigger: Type.Optional(
    Type.Union([Type.Literal('cycle'), Type.Literal('change'), Type.Literal('heartbeat')], {
      description:
        'why the agent sent it: its full cycle, a membership/quorum change seen between cycles, or the /proc-only heartbeat',
    }),
  ),
};
