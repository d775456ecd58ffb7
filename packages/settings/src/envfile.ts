/**
 * The `KEY=value` file of systemd's `EnvironmentFile=` (/etc/nannyagent/config.env): `#` and `;`
 * comments, optional `export `, optional single or double quotes. Line numbers are kept so an
 * error can point at the line the user must fix.
 */
export interface EnvFile {
  values: Record<string, { value: string; line: number }>;
  errors: string[];
}

export function parseEnvFile(text: string): EnvFile {
  const out: EnvFile = { values: {}, errors: [] };
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(t);
    if (!m) {
      out.errors.push(`line ${i + 1}: expected KEY=value, got "${t}"`);
      return;
    }
    let v = m[2]!;
    if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))))
      v = v.slice(1, -1);
    out.values[m[1]!] = { value: v, line: i + 1 };
  });
  return out;
}
