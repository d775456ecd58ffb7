/**
 * pve-common's SectionConfig format (jobs.cfg, replication.cfg, ha/resources.cfg, storage.cfg):
 * a header `<type>: <id>`, then `<key> <value>` lines indented by whitespace (PVE writes one TAB,
 * hand-edited files use spaces), a section ending at the first empty line; `#` lines are comments
 * anywhere; a key without a value is a boolean true (`disable`). Repeated keys keep every value.
 */
export interface Section {
  type: string;
  id: string;
  /** first value of each key ('1' for a bare key) */
  props: Record<string, string>;
  /** every value of keys that repeat (e.g. `exclude-path`) */
  multi: Record<string, string[]>;
}

export function parseSectionConfig(text: string): { sections: Section[]; warnings: string[] } {
  const sections: Section[] = [];
  const warnings: string[] = [];
  let cur: Section | undefined;
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue;
    if (line.trim() === '') {
      cur = undefined;
      continue;
    }
    const h = /^(\S+):\s*(\S+)\s*$/.exec(line);
    if (h && !/^\s/.test(line)) {
      cur = { type: h[1]!, id: h[2]!, props: {}, multi: {} };
      sections.push(cur);
      continue;
    }
    const p = /^\s+(\S+)(\s+(.*\S))?\s*$/.exec(line);
    if (p && cur) {
      const k = p[1]!;
      const v = p[3] ?? '1';
      if (!(k in cur.props)) cur.props[k] = v;
      (cur.multi[k] ??= []).push(v);
      continue;
    }
    warnings.push(`section config: line not understood: ${line.slice(0, 120)}`);
  }
  return { sections, warnings };
}
