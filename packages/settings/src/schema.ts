/**
 * A program's settings as data: from one `Setting[]` come its flags, its environment names, its
 * defaults, its validation, its `--help` and its docs table. Resolution order (DESIGN.md §4):
 * config file < environment < flags. Every problem names what the user typed — the flag, the
 * variable, or the file and line — so `--port 99999` is reported as `--port`, not as a variable.
 */
import { isIP } from 'node:net';
import type { OptionSpecs } from './args.ts';

/** Thrown by a kind's parse with the problem only (`must be …`); the caller adds where and what. */
export class ValueProblem extends Error {}

export interface Kind<T> {
  /** what the docs say a value looks like, e.g. "integer 0-65535" */
  describe: string;
  /** a switch on the command line (`--allow-insecure-http`), not `--flag VALUE` */
  isSwitch?: boolean;
  parse(raw: string): T;
}

export interface Setting {
  /** property of the program's config object */
  key: string;
  /** environment (and config file) name; omitted = flag only */
  env?: string;
  /** long flag without dashes; omitted = environment only (e.g. a password: flags show in `ps`) */
  flag?: string;
  kind: Kind<unknown>;
  /** the default as a user would type it, parsed by `kind` like any value (so it is validated too) */
  default?: string;
  /** the default as the docs show it when it is computed by the program */
  defaultDoc?: string;
  /** the value's name in --help, e.g. N, DIR, URL */
  arg?: string;
  doc: string;
}

export type Schema = readonly Setting[];

export interface FileValues {
  path: string;
  values: Record<string, { value: string; line: number }>;
}

export interface ResolveInput {
  /** command-line values by flag name (what parseCommandLine returned) */
  flags?: Record<string, string | boolean | string[] | undefined>;
  env: Record<string, string | undefined>;
  file?: FileValues;
  /** environment prefixes this program owns: an unknown name with one of them is warned about */
  envPrefixes?: readonly string[];
  /** names with an owned prefix that belong to a sibling program or a test harness: not warned about */
  foreignEnv?: readonly string[];
}

export interface Resolved {
  /** parsed values by key; defaults included; a setting without value and default is absent */
  values: Record<string, unknown>;
  /** where each value came from, as the user typed it: `--port`, `NANNYAPI_PORT`, `FILE line 3 (NAME)` */
  from: Record<string, string>;
  errors: string[];
  warnings: string[];
}

const shown = (raw: string): string => (raw.length > 80 ? `${raw.slice(0, 77)}...` : raw);

/** Merges file < environment < flags and validates; an empty value counts as unset. */
export function resolveSettings(schema: Schema, input: ResolveInput): Resolved {
  const out: Resolved = { values: {}, from: {}, errors: [], warnings: [] };
  const flags = input.flags ?? {};
  for (const s of schema) {
    let raw: string | undefined;
    let origin: string | undefined;
    const f = s.flag !== undefined ? flags[s.flag] : undefined;
    const e = s.env !== undefined ? input.env[s.env] : undefined;
    const fv = s.env !== undefined ? input.file?.values[s.env] : undefined;
    if (f !== undefined) {
      raw = typeof f === 'boolean' ? String(f) : Array.isArray(f) ? f.join(',') : f;
      origin = `--${s.flag}`;
    } else if (e !== undefined && e.trim() !== '') {
      raw = e;
      origin = s.env;
    } else if (fv !== undefined && fv.value.trim() !== '') {
      raw = fv.value;
      origin = `${input.file!.path} line ${fv.line} (${s.env})`;
    }
    if (raw === undefined || origin === undefined) {
      if (s.default !== undefined) out.values[s.key] = s.kind.parse(s.default);
      continue;
    }
    try {
      out.values[s.key] = s.kind.parse(raw.trim());
      out.from[s.key] = origin;
    } catch (err) {
      if (!(err instanceof ValueProblem)) throw err;
      // a secret's value is not echoed back
      const got = /PASSWORD|TOKEN|SECRET|KEY$/.test(s.env ?? '') ? '' : ` (got ${shown(raw)})`;
      out.errors.push(`${origin}: ${err.message}${got}`);
    }
  }
  const known = new Set(schema.flatMap((s) => (s.env !== undefined ? [s.env] : [])));
  for (const k of input.foreignEnv ?? []) known.add(k);
  for (const name of Object.keys(input.env).sort()) {
    if (known.has(name) || !(input.envPrefixes ?? []).some((p) => name.startsWith(p))) continue;
    const hint = closestEnv(name, known);
    out.warnings.push(
      `environment variable ${name} is not a setting, ignored${hint !== undefined ? ` (did you mean ${hint}?)` : ''}`,
    );
  }
  if (input.file !== undefined) {
    for (const [name, v] of Object.entries(input.file.values)) {
      if (known.has(name)) continue;
      const hint = closestEnv(name, known);
      out.errors.push(
        `${input.file.path} line ${v.line}: unknown setting ${name}${hint !== undefined ? ` (did you mean ${hint}?)` : ''}`,
      );
    }
  }
  return out;
}

function closestEnv(name: string, known: Set<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    // shared prefix length is a cheap, good-enough similarity for SCREAMING_SNAKE names
    const d = Math.abs(k.length - name.length) + [...k].filter((c, i) => name[i] !== c).length;
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= 3 ? best : undefined;
}

/** The command-line options of a schema's settings, for parseCommandLine. */
export function settingOptions(schema: Schema): OptionSpecs {
  const o: Record<string, OptionSpecs[string]> = {};
  for (const s of schema) {
    if (s.flag === undefined) continue;
    o[s.flag] = s.kind.isSwitch
      ? { type: 'boolean', help: s.doc }
      : { type: 'string', arg: s.arg ?? 'VALUE', help: s.doc };
  }
  return o;
}

// ---- kinds ----

export function integer(min: number, max: number): Kind<number> {
  return {
    describe: `integer ${min}-${max}`,
    parse(raw) {
      if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
        throw new ValueProblem(`must be an integer from ${min} to ${max}`);
      return Number(raw);
    },
  };
}

/** a decimal number; `scale` converts the unit (seconds → milliseconds: 1000) */
export function decimal(min: number, max: number, scale = 1): Kind<number> {
  return {
    describe: `number ${min}-${max}`,
    parse(raw) {
      const n = Number(raw);
      if (raw === '' || !Number.isFinite(n) || n < min || n > max)
        throw new ValueProblem(`must be a number from ${min} to ${max}`);
      return n * scale;
    },
  };
}

export function text(opts: { minLength?: number; pattern?: RegExp; patternDoc?: string } = {}): Kind<string> {
  return {
    describe: opts.patternDoc ?? 'text',
    parse(raw) {
      if (opts.minLength !== undefined && raw.length < opts.minLength)
        throw new ValueProblem(`must be at least ${opts.minLength} characters`);
      if (opts.pattern !== undefined && !opts.pattern.test(raw))
        throw new ValueProblem(`must look like ${opts.patternDoc ?? String(opts.pattern)}`);
      return raw;
    },
  };
}

export function oneOf<T extends string>(choices: readonly T[]): Kind<T> {
  return {
    describe: choices.join(' | '),
    parse(raw) {
      if (!(choices as readonly string[]).includes(raw))
        throw new ValueProblem(`must be one of ${choices.join(', ')}`);
      return raw as T;
    },
  };
}

export function boolean(): Kind<boolean> {
  return {
    describe: 'true | false',
    isSwitch: true,
    parse(raw) {
      const t = raw.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(t)) return true;
      if (['0', 'false', 'no', 'off'].includes(t)) return false;
      throw new ValueProblem('must be true or false');
    },
  };
}

/** an http(s) URL; the trailing slash is dropped so paths can be appended */
export function httpUrl(): Kind<string> {
  return {
    describe: 'http(s) URL',
    parse(raw) {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        throw new ValueProblem('must be a URL');
      }
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ValueProblem('must be an http(s) URL');
      return raw.replace(/\/+$/, '');
    },
  };
}

/** comma-separated CIDRs (`10.0.0.0/8,fd00::/8`); empty entries are skipped */
export function cidrList(): Kind<string[]> {
  return {
    describe: 'comma-separated CIDRs',
    parse(raw) {
      const items = raw
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '');
      for (const c of items) {
        const m = /^(.+)\/(\d{1,3})$/.exec(c);
        const v = m ? isIP(m[1]!) : 0;
        if (!m || v === 0 || Number(m[2]) > (v === 4 ? 32 : 128))
          throw new ValueProblem(`"${c}" is not a CIDR like 10.0.0.0/8 or fd00::/8`);
      }
      return items;
    },
  };
}

/** any parse function, with the docs description */
export function custom<T>(describe: string, parse: (raw: string) => T): Kind<T> {
  return { describe, parse };
}
