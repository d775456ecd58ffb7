/**
 * @nanny/testing: the workspace's test support. One waitFor, one set of time budgets (scaled by
 * NANNY_TIME_SCALE), the requirement switch (NANNY_REQUIRE), cleanup registered at start, and
 * node:test's `test` with a default per-test timeout. See docs/testing.md.
 */
export { budgets, budgetMs, baseBudgetsMs, scaledBudgets, type BudgetName } from './budgets.ts';
export { parseTestingConfig, testingConfig, type TestingConfig } from './config.ts';
export { waitFor, within, type WaitOptions } from './wait.ts';
export { requires, type Part } from './require.ts';
export { onCleanup, spawnTracked, stopChild, tempDir, track, type AfterHook } from './cleanup.ts';
export { test } from './test.ts';
