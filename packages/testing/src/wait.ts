import { setTimeout as delay } from 'node:timers/promises';
import { budgetMs, type BudgetName } from './budgets.ts';

export interface WaitOptions {
  /** what is awaited, for the failure message ("three cycles spooled") */
  what: string;
  /** a named budget or milliseconds at scale 1; default `medium` */
  budget?: BudgetName | number;
  /** polling interval in ms (default 25) */
  everyMs?: number;
}

/** A value a probe returns that means "not yet". */
type NotYet = undefined | null | false;

/**
 * Polls `condition` (sync or async) until it returns something other than undefined/null/false and
 * returns that value. A throwing probe counts as "not yet" (a server not listening yet), and its
 * last error is quoted when the budget runs out. Fails with an Error naming what it waited for and
 * the budget, so a broken run ends within the budget instead of hanging.
 */
export async function waitFor<T>(
  condition: () => T | NotYet | Promise<T | NotYet>,
  opts: WaitOptions,
): Promise<T> {
  const budget = budgetMs(opts.budget ?? 'medium');
  const every = opts.everyMs ?? 25;
  const deadline = Date.now() + budget;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await condition();
      if (v !== undefined && v !== null && v !== false) return v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError === undefined ? '' : `; last error: ${String(lastError)}`;
      throw new Error(`timed out after ${budget} ms waiting for ${opts.what}${why}`);
    }
    await delay(every);
  }
}

/**
 * Awaits a promise but gives up after the budget: for things a test awaits that have no polling
 * form (a daemon's idle(), a process exit). The promise keeps running; the test's t.after cleanup
 * stops whatever produces it.
 */
export async function within<T>(
  promise: Promise<T>,
  opts: { what: string; budget?: BudgetName | number },
): Promise<T> {
  const budget = budgetMs(opts.budget ?? 'medium');
  const ac = new AbortController();
  try {
    return await Promise.race([
      promise,
      delay(budget, undefined, { signal: ac.signal }).then(() => {
        throw new Error(`timed out after ${budget} ms waiting for ${opts.what}`);
      }),
    ]);
  } finally {
    ac.abort();
  }
}
