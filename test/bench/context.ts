/**
 * The e2e harness takes a test's after-hook for its clean-ups; a benchmark is no test, so it gets
 * this stand-in, which collects the hooks and runs them, last first, when the bench calls close().
 */
import type { AfterHook } from '@nanny/testing';

export type BenchContext = AfterHook & { skip(message?: string): void; close(): Promise<void> };

export function benchContext(): BenchContext {
  const hooks: Array<() => unknown> = [];
  return {
    after: (fn) => void hooks.push(fn),
    skip: (message) => {
      throw new Error(message);
    },
    async close() {
      for (const h of hooks.reverse()) await h();
    },
  };
}
