// A validator for the schema dialect of PVE's API description (pve-docs apidata / apidoc.json):
// type, properties + optional, items, enum, minimum/maximum, pattern, maxLength,
// additionalProperties, and indexed property names such as `net[n]`. Used by the conformance tests
// to hold every simulator response to the official `returns` schema. Pure: the caller loads the JSON.

export interface PveSchema {
  type?: string;
  properties?: Record<string, PveSchema>;
  items?: PveSchema;
  optional?: number | boolean;
  enum?: (string | number)[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  maxLength?: number;
  additionalProperties?: number | boolean | PveSchema;
}

export interface ApiNode {
  path: string;
  info?: Record<string, { returns?: PveSchema }>;
  children?: ApiNode[];
}

export function findEndpoint(tree: ApiNode[], path: string): ApiNode | undefined {
  for (const n of tree) {
    if (n.path === path) return n;
    if (n.children) {
      const r = findEndpoint(n.children, path);
      if (r) return r;
    }
  }
  return undefined;
}

export interface ValidationReport {
  errors: string[];
  /** keys present in the data but not described by the schema (allowed unless additionalProperties is 0) */
  undocumented: string[];
}

export interface ValidateOptions {
  /**
   * Property names whose `string` schema also accepts JSON numbers. The Perl API does not tell
   * strings from numbers; e.g. …/pending documents value/pending as string while PVE sends the
   * typed config value (an integer key comes back as a JSON number).
   */
  numbersAsStrings?: ReadonlySet<string>;
}

function propSchema(props: Record<string, PveSchema>, key: string): PveSchema | undefined {
  const direct = props[key];
  if (direct) return direct;
  // indexed keys: the schema names them `net[n]`, the data `net0`, `net1`, …
  const m = /^(.*?)(\d+)$/.exec(key);
  if (m) return props[`${m[1]}[n]`];
  return undefined;
}

function typeOk(type: string, v: unknown, key: string, opts: ValidateOptions): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string' || (typeof v === 'number' && (opts.numbersAsStrings?.has(key) ?? false));
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      // Perl `number` values may travel as numeric strings ("cpulimit": "0", FACTS.md)
      return typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v));
    case 'boolean':
      // the Perl API sends booleans as 0/1
      return v === 0 || v === 1 || v === true || v === false;
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'null':
      return v === null;
    case 'any':
      return true;
    default:
      return true;
  }
}

export function validate(
  schema: PveSchema | undefined,
  value: unknown,
  opts: ValidateOptions = {},
): ValidationReport {
  const report: ValidationReport = { errors: [], undocumented: [] };
  const walk = (s: PveSchema | undefined, v: unknown, at: string, key: string): void => {
    if (!s) return;
    if (s.type && !typeOk(s.type, v, key, opts)) {
      report.errors.push(`${at}: expected ${s.type}, got ${JSON.stringify(v)?.slice(0, 60)}`);
      return;
    }
    if (s.enum && !s.enum.map(String).includes(String(v))) {
      report.errors.push(`${at}: ${JSON.stringify(v)} is not one of ${s.enum.join(', ')}`);
    }
    if (typeof v === 'number') {
      if (s.minimum !== undefined && v < s.minimum) report.errors.push(`${at}: ${v} < minimum ${s.minimum}`);
      if (s.maximum !== undefined && v > s.maximum) report.errors.push(`${at}: ${v} > maximum ${s.maximum}`);
    }
    if (typeof v === 'string') {
      if (s.pattern && !new RegExp(`^(?:${s.pattern})$`).test(v))
        report.errors.push(`${at}: '${v}' does not match ${s.pattern}`);
      if (s.maxLength !== undefined && v.length > s.maxLength)
        report.errors.push(`${at}: longer than ${s.maxLength}`);
    }
    if (Array.isArray(v) && s.items) v.forEach((x, i) => walk(s.items, x, `${at}[${i}]`, key));
    if (s.type === 'object' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const props = s.properties ?? {};
      for (const [k, ps] of Object.entries(props)) {
        if (k.endsWith('[n]')) continue;
        if (o[k] === undefined && !ps.optional) report.errors.push(`${at}.${k}: required property missing`);
      }
      for (const [k, x] of Object.entries(o)) {
        const ps = propSchema(props, k);
        if (ps) walk(ps, x, `${at}.${k}`, k);
        else if (s.additionalProperties === 0 || s.additionalProperties === false) {
          report.errors.push(`${at}.${k}: property not allowed by the schema`);
        } else if (typeof s.additionalProperties === 'object')
          walk(s.additionalProperties, x, `${at}.${k}`, k);
        else if (Object.keys(props).length > 0)
          report.undocumented.push(`${at.replace(/\[\d+\]/g, '[]')}.${k}`);
      }
    }
  };
  walk(schema, value, '$', '');
  report.undocumented = [...new Set(report.undocumented)].sort();
  return report;
}
