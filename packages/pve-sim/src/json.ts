// JSON as pvesh prints it (PVE::CLIFormatter via Perl's JSON module, canonical = sorted keys):
// `json` is one line; `json-pretty` is indented by 3 spaces with `"key" : value`. Perl prints
// floating point numbers with 15 significant digits (%.15g), so we round to that before printing.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function num(n: number): string {
  if (!Number.isFinite(n)) return 'null';
  if (Number.isInteger(n)) return String(n);
  return JSON.stringify(Number(n.toPrecision(15)));
}

function sortedKeys(o: Record<string, unknown>): string[] {
  return Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
}

/** One line, sorted keys (pvesh --output-format json). No trailing newline. */
export function canonicalJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return num(v);
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${sortedKeys(o)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

/** Perl JSON->pretty->canonical layout (pvesh --output-format json-pretty). No trailing newline. */
export function prettyJson(v: unknown, indent = ''): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return num(v);
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  const inner = indent + '   ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => inner + prettyJson(x, inner)).join(',\n')}\n${indent}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = sortedKeys(o);
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)} : ${prettyJson(o[k], inner)}`).join(',\n')}\n${indent}}`;
}
