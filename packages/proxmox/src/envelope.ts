/**
 * `pvesh get … --output-format json` prints only the data; the HTTPS API (/api2/json/…) wraps it
 * in `{"data": …}` (plus `errors`/`success`/`message`/`total` on some answers). This strips the
 * envelope so every source hands the same value to the parsers.
 */
const ENVELOPE_KEYS = new Set(['data', 'errors', 'success', 'message', 'total', 'status']);

export function unwrapEnvelope(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  if (!('data' in o)) return v;
  return Object.keys(o).every((k) => ENVELOPE_KEYS.has(k)) ? o.data : v;
}
