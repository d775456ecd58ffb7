/** Helpers the channel files share: URL fields, colours, titles. Connections live in outbound.ts. */
import type { Outbound } from './outbound.ts';

/** Slack/Discord webhook URLs carry their secret in the path: never log the path. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '<invalid url>';
  }
}

/** The URL without `user:password@` (shown back and logged only like this). */
export function withoutUserinfo(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

/**
 * A channel's URL field: an http(s) URL without user:password@ whose host is not an internal
 * address literal. The error names the field and the reason but never echoes the URL (it may hold
 * a secret).
 */
export function urlField(
  v: unknown,
  out: Outbound,
  field: string,
  what: string,
): { url: string } | { error: string } {
  if (typeof v !== 'string' || v === '') return { error: `${field}: ${what} is required` };
  const why = out.checkUrl(v);
  return why === undefined ? { url: new URL(v).toString() } : { error: `${field}: ${why}` };
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export const SEVERITY_COLOR = { critical: 0xd93025, warning: 0xf29900, info: 0x1a73e8 } as const;
export const RESOLVED_COLOR = 0x188038;

/** "[RESOLVED] quorum_lost" / "[CRITICAL] quorum_lost" */
export function title(n: { state: string; severity: string; rule: string }): string {
  const tag = n.state === 'resolved' ? 'RESOLVED' : n.state === 'test' ? 'TEST' : n.severity.toUpperCase();
  return `[${tag}] ${n.rule}`;
}
