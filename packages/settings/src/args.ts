/**
 * The one argument parser: `node:util` `parseArgs` (Node ≥ 18.7 — the agent runs on the Node 18 of
 * PVE 8) in its lenient token mode, with our rules on top. parseArgs' strict mode throws at the
 * first problem with a message about positionals; we want every problem, each naming the option
 * the user typed, and a hint for typos (`--scop` → `--scope`): a typo must never be ignored.
 */
import { parseArgs } from 'node:util';

export interface OptionSpec {
  /** 'string' takes a value (`--port 80`, `--port=80`), 'boolean' is a switch */
  type: 'string' | 'boolean';
  short?: string;
  /** repeatable: the values collect in an array */
  multiple?: boolean;
  /** the value's name in help texts, e.g. NAME */
  arg?: string;
  /** one line for help texts */
  help?: string;
}
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type OptionValue = string | boolean | string[];

export interface ParsedCommandLine {
  values: Record<string, OptionValue>;
  positionals: string[];
  /** every problem, each starting with the option as typed, e.g. `--scop: unknown option (did you mean --scope?)` */
  errors: string[];
  /** per option occurrence: its name and the argv indexes it used (the flag, and its value when separate) */
  used: Array<{ name: string; indexes: number[] }>;
}

/** Levenshtein distance, small inputs only (option names). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known name closest to `name`, when it is close enough to be a typo of it. */
export function closest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  // a third of the name (at least 2 edits) keeps `--prot` → `--port` but not `--x` → `--port`
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function unknownOption(raw: string, known: Iterable<string>): string {
  const name = raw.replace(/^-+/, '');
  const hint = raw.startsWith('--') ? closest(name, known) : undefined;
  return `${raw}: unknown option${hint !== undefined ? ` (did you mean --${hint}?)` : ''}`;
}

export function parseCommandLine(argv: readonly string[], specs: OptionSpecs): ParsedCommandLine {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, s] of Object.entries(specs)) {
    options[name] = { type: s.type };
    if (s.short !== undefined) options[name].short = s.short;
    if (s.multiple) options[name].multiple = true;
  }
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const out: ParsedCommandLine = { values: {}, positionals: [], errors: [], used: [] };
  for (const t of tokens) {
    if (t.kind === 'positional') {
      out.positionals.push(t.value);
      continue;
    }
    if (t.kind !== 'option') continue;
    const spec = Object.prototype.hasOwnProperty.call(specs, t.name) ? specs[t.name] : undefined;
    if (spec === undefined) {
      out.errors.push(unknownOption(t.rawName, Object.keys(specs)));
      continue;
    }
    const raw = t.rawName.startsWith('--') ? t.rawName : `${t.rawName} (--${t.name})`;
    if (spec.type === 'boolean') {
      if (t.value !== undefined) out.errors.push(`${raw}: takes no value (got "${t.value}")`);
      else out.values[t.name] = true;
      out.used.push({ name: t.name, indexes: [t.index] });
      continue;
    }
    // Lenient parseArgs takes the next word as the value even when it is an option: `--name --scope
    // write` is a forgotten value, not a name "--scope".
    if (t.value === undefined) {
      out.errors.push(`${raw}: needs a value`);
      out.used.push({ name: t.name, indexes: [t.index] });
      continue;
    }
    if (!t.inlineValue && t.value.startsWith('--')) {
      out.errors.push(`${raw}: needs a value`);
      out.used.push({ name: t.name, indexes: [t.index] });
      // the swallowed word starts the rest of the line: parse that on its own
      const start = t.index + 1;
      const rest = parseCommandLine(argv.slice(start), specs);
      out.positionals.push(...rest.positionals);
      out.errors.push(...rest.errors);
      for (const u of rest.used) out.used.push({ name: u.name, indexes: u.indexes.map((i) => i + start) });
      for (const [k, v] of Object.entries(rest.values)) {
        const prev = out.values[k];
        out.values[k] = Array.isArray(v) && Array.isArray(prev) ? [...prev, ...v] : v;
      }
      break;
    }
    out.used.push({ name: t.name, indexes: t.inlineValue ? [t.index] : [t.index, t.index + 1] });
    if (spec.multiple) {
      const prev = out.values[t.name];
      out.values[t.name] = [...(Array.isArray(prev) ? prev : []), t.value];
    } else out.values[t.name] = t.value;
  }
  return out;
}

/** Help lines for options: `  --name NAME     text`. */
export function optionsHelp(specs: OptionSpecs, width = 24): string {
  return Object.entries(specs)
    .map(([name, s]) => {
      const left = `--${name}${s.type === 'string' ? ` ${s.arg ?? 'VALUE'}` : ''}${s.short ? `, -${s.short}` : ''}`;
      return `  ${left.padEnd(width)} ${s.help ?? ''}`.trimEnd();
    })
    .join('\n');
}
