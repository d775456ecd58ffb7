/** One HTTP POST with a timeout, mapping failures to retryable or not. */
import { DeliveryError } from './types.ts';

export async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      body,
      headers,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout, a TLS error) is in `cause`.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause ? ` (${cause.code ?? cause.message ?? ''})` : '';
    throw new DeliveryError(`POST ${redact(url)} failed: ${(err as Error).message}${why}`, true, {
      cause: err,
    });
  }
  // Drain the body so the connection is released.
  const text = await res.text().catch(() => '');
  if (res.ok) return;
  // 408/429 and 5xx are the receiver's passing trouble; other 4xx will not change on a retry.
  const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
  throw new DeliveryError(`POST ${redact(url)} answered ${res.status}: ${text.slice(0, 200)}`, retryable);
}

/** Slack/Discord webhook URLs carry their secret in the path: never log the path. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '<invalid url>';
  }
}

export function httpUrl(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : undefined;
  } catch {
    return undefined;
  }
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export const SEVERITY_COLOR = { critical: 0xd93025, warning: 0xf29900, info: 0x1a73e8 } as const;
export const RESOLVED_COLOR = 0x188038;

/** "[RESOLVED] quorum_lost" / "[CRITICAL] quorum_lost" */
export function title(n: { state: string; severity: string; rule: string }): string {
  const tag = n.state === 'resolved' ? 'RESOLVED' : n.state === 'test' ? 'TEST' : n.severity.toUpperCase();
  return `[${tag}] ${n.rule}`;
}
