/** The contract between the shell (main.ts) and each page. */
import type { User } from './api.ts';

/** What the server's stream says changed (packages/api/src/live/hub.ts LiveChange). */
export interface LiveChange {
  kinds: string[];
  clusters: string[];
  nodes: string[];
  guests: number;
  events: string[];
}

export interface ViewContext {
  user: User;
  /** preferences kept while moving between pages (the node range picked) */
  prefs: { range: string | null };
  /** an error of a background action: shown in the top bar (a 401 brings back the login) */
  fail(err: unknown): void;
  setAlertCount(n: number): void;
}

export interface View {
  /** loads (again); `change` is the live event that asked for it, absent on the first load */
  refresh(change?: LiveChange): Promise<void>;
  /** whether a live change concerns this page (default: any change does) */
  wants?(change: LiveChange): boolean;
}

export type Mount = (root: HTMLElement, ctx: ViewContext, params: URLSearchParams, id: string) => View;
