/**
 * Named time budgets: the only place a test's waiting time is chosen. Each is the longest a healthy
 * run may plausibly take on a 2-core machine running several test files at once, times
 * NANNY_TIME_SCALE. A passing wait returns as soon as its condition holds, so a generous budget costs
 * nothing when things work and only bounds how long a broken run takes to say so.
 */
import { testingConfig } from './config.ts';

export const baseBudgetsMs = {
  /** something local that should happen almost at once: a server answers, a counter moves */
  short: 5_000,
  /** a few agent cycles, a delivery queue draining, a retry or two */
  medium: 20_000,
  /** several processes working together (the end-to-end scenarios) */
  long: 60_000,
  /** a node process (a built bundle or tsx) starting until it listens */
  processStart: 30_000,
  /** default limit of one test (node:test `timeout`): bounds a hung test without ending its file */
  test: 120_000,
  /** limit of one test file in scripts/run-tests.mjs (the "at most 3 minutes" at scale 1) */
  file: 180_000,
  /**
   * limit of one `*.slow.test.ts` file: one whose product behaviour itself takes minutes at the
   * default settings (an agent's death noticed after 2.5 heartbeats of 60 s), run alongside the rest
   */
  slowFile: 360_000,
} as const;

export type BudgetName = keyof typeof baseBudgetsMs;

export function scaledBudgets(scale: number): Record<BudgetName, number> {
  const out = {} as Record<BudgetName, number>;
  for (const [k, v] of Object.entries(baseBudgetsMs)) out[k as BudgetName] = Math.round(v * scale);
  return out;
}

/** The budgets of this run, already multiplied by NANNY_TIME_SCALE. */
export const budgets: Readonly<Record<BudgetName, number>> = Object.freeze(
  scaledBudgets(testingConfig.timeScale),
);

/** A budget by name, or a number of milliseconds at scale 1 (scaled here). */
export function budgetMs(b: BudgetName | number): number {
  return typeof b === 'number' ? Math.round(b * testingConfig.timeScale) : budgets[b];
}
