/**
 * Docs and help from the schema: the settings table of docs/*-configuration.md sits between two
 * markers and is rewritten by `npm run docs:settings`; a test fails when page and schema disagree.
 */
import type { Schema, Setting } from './schema.ts';

export const BEGIN =
  '<!-- BEGIN settings: generated from the schema by `npm run docs:settings`, do not edit -->';
export const END = '<!-- END settings -->';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function defaultText(s: Setting): string {
  if (s.defaultDoc !== undefined) return s.defaultDoc;
  return s.default !== undefined ? `\`${s.default}\`` : '—';
}

export function settingsTable(schema: Schema): string {
  const rows = schema.map(
    (s) =>
      `| ${s.env !== undefined ? `\`${s.env}\`` : '—'} | ${s.flag !== undefined ? `\`--${s.flag}\`` : '—'} | ${cell(defaultText(s))} | ${cell(s.kind.describe)} | ${cell(s.doc)} |`,
  );
  return ['| Environment | Flag | Default | Value | Meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** `page` with the generated table between the markers; throws when the markers are missing. */
export function withSettingsTable(page: string, schema: Schema): string {
  const a = page.indexOf(BEGIN);
  const b = page.indexOf(END);
  if (a < 0 || b < a) throw new Error('settings markers missing');
  return `${page.slice(0, a + BEGIN.length)}\n${settingsTable(schema)}\n${page.slice(b)}`;
}

/** `--help` lines for the settings: flag, variable, default (markdown marks dropped); the docs have the long text. */
export function settingsHelp(schema: Schema): string {
  return schema
    .map((s) => {
      const flag = s.flag !== undefined ? `--${s.flag}${s.kind.isSwitch ? '' : ` ${s.arg ?? 'VALUE'}`}` : '';
      const def = s.defaultDoc ?? s.default;
      return `  ${flag.padEnd(30)} ${(s.env ?? '').padEnd(32)} ${def !== undefined ? `(${def.replace(/[`*]/g, '')})` : ''}`.trimEnd();
    })
    .join('\n');
}
