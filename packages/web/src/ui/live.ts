/**
 * The page's end of GET /api/stream. EventSource reconnects by itself after a network error; after
 * any reconnect the page reloads what it shows (it may have missed changes), and a `resync` from the
 * server (it skipped this stream while it stalled) does the same.
 */
import type { LiveChange } from './view.ts';

export interface LiveHandlers {
  change(c: LiveChange): void;
  /** missed messages: reload everything shown */
  resync(): void;
  /** connected, reconnecting, or closed for good (a 401: the session ended) */
  status(s: 'live' | 'reconnecting' | 'closed'): void;
}

export function connectLive(h: LiveHandlers): () => void {
  let es: EventSource | null = null;
  let retry = 0;
  let stopped = false;
  let wasOpen = false;
  const open = () => {
    es = new EventSource('/api/stream');
    es.addEventListener('open', () => {
      h.status('live');
      if (wasOpen) h.resync();
      wasOpen = true;
    });
    es.addEventListener('change', (ev) => {
      try {
        h.change(JSON.parse((ev as MessageEvent<string>).data) as LiveChange);
      } catch {
        h.resync();
      }
    });
    es.addEventListener('resync', () => h.resync());
    es.addEventListener('error', () => {
      if (stopped || !es) return;
      if (es.readyState === EventSource.CLOSED) {
        // an HTTP error (401 after logout elsewhere, 503): EventSource gives up; so do we, after a pause
        h.status('closed');
        es = null;
        retry = window.setTimeout(open, 10_000);
      } else h.status('reconnecting');
    });
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    es?.close();
  };
}
