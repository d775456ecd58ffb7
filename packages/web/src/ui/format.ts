/**
 * Every number and time on the page goes through here. Times: the browser's locale decides order,
 * names and the 12- or 24-hour clock (nothing is forced); bytes in binary units.
 */
const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Math.abs(v) >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${BYTE_UNITS[i]}`;
}

export function fmtPct(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '–';
  const p = ratio * 100;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)} %`;
}

export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '–';
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${hr} h`;
  if (hr > 0) return `${hr} h ${m} min`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

export function fmtAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '–';
  const s = Math.round((now - t) / 1000);
  if (s < 5) return 'just now';
  return `${fmtDuration(s)} ago`;
}

const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
export const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

/** The one absolute format: the locale's medium date and time. */
export function fmtTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '';
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  return Number.isNaN(t) ? String(iso) : dateTimeFmt.format(new Date(t));
}

const ISO_IN_TEXT = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/g;
/** Server texts (alert summaries, event messages) carry ISO-8601 times: shown in the locale's format. */
export function localizeTimes(text: string): string {
  return text.replace(ISO_IN_TEXT, (m) => fmtTime(m));
}

export function fmtLoad(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : v.toFixed(2);
}

/** "pve-manager/8.4.1/2a5fa54a8503f96d" → "8.4.1"; anything else as it is. */
export function shortVersion(v: string | null | undefined): string | null {
  if (!v) return null;
  const m = /^pve-manager\/([^/]+)/.exec(v);
  return m?.[1] ?? v;
}

/** A "nice" axis top for four grid steps: 1, 2, 2.5 or 5 times a power of ten per step. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const raw = v / 4;
  const exp = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= raw) return 4 * m * exp;
  return 40 * exp;
}

/**
 * An axis top for bytes: the total itself when there is one (a 256 GiB node's memory axis ends at
 * 256 GiB, its grid at 64, 128, 192), else niceMax in the binary unit the values are shown in.
 */
export function bytesAxisMax(values: readonly number[], total: number | null): number {
  if (total && total > 0) return total;
  const v = Math.max(0, ...values);
  let unit = 1;
  while (v / unit >= 1024) unit *= 1024;
  return niceMax(v / unit) * unit;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
