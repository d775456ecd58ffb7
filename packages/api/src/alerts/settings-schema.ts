/** TypeBox schema of AlertSettings (PUT /api/alerts/settings). */
import { Type } from '@sinclair/typebox';
import { RULE_DEFAULTS } from './settings.ts';

const RuleSettingsT = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    trigger: Type.Optional(Type.Number({ minimum: 0 })),
    clear: Type.Optional(Type.Number({ minimum: 0 })),
    critical: Type.Optional(Type.Number({ minimum: 0 })),
    sustainSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86400 })),
    graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 90 * 86400 })),
    factor: Type.Optional(Type.Number({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);
const RuleMapT = Type.Object(
  Object.fromEntries(Object.keys(RULE_DEFAULTS).map((id) => [id, Type.Optional(RuleSettingsT)])),
  { additionalProperties: false },
);
// A Record's key schema is only a pattern: without it and `additionalProperties: false`, keys with
// newlines or of any length were accepted (issue 13, Low). Printable, 1–300 characters.
const SCOPE_KEY = '^[^\\u0000-\\u001f\\u007f]{1,300}$';
const Scoped = Type.Record(Type.String({ pattern: SCOPE_KEY }), RuleMapT, {
  maxProperties: 10_000,
  additionalProperties: false,
});

export const AlertSettingsSchema = Type.Object(
  {
    rules: Type.Optional(RuleMapT),
    clusters: Type.Optional(Scoped),
    nodes: Type.Optional(Scoped),
    tags: Type.Optional(Scoped),
    defaultIntervalSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
  },
  { additionalProperties: false },
);
