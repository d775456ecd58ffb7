import { test as nodeTest, type TestContext, type TestOptions } from 'node:test';
import { budgets } from './budgets.ts';

type TestFn = (t: TestContext) => void | Promise<void>;

/** "file:line" of the test file that called test(), for the timeout message. */
function callerLocation(): string {
  const line = new Error().stack?.split('\n')[3] ?? '';
  return (
    /\(?((?:file:\/\/)?\/[^()]+:\d+):\d+\)?$/.exec(line.trim())?.[1]?.replace('file://', '') ?? 'unknown'
  );
}

/**
 * node:test's `test` with a default per-test time limit (budgets.test; an explicit `timeout` option
 * sets another). On Node 20 neither `run()`'s `timeout` (it limits a whole file) nor
 * `--test-timeout` (not passed on to files run by `run()`) limits a single test, so the limit is
 * set here. The limit is enforced by this wrapper rather than node's `timeout` option so that its
 * message names the test file and line: node reports a wrapped test's location as this file.
 * Returns nothing: the runner awaits the test itself.
 */
export function test(name: string, fn: TestFn): void;
export function test(name: string, options: TestOptions, fn: TestFn): void;
export function test(name: string, a: TestOptions | TestFn, b?: TestFn): void {
  const [options, fn] = typeof a === 'function' ? [{}, a] : [a, b];
  const at = callerLocation();
  const limit = options.timeout ?? budgets.test;
  void nodeTest(name, options, async (t) => {
    if (!fn) return;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`test timed out: "${name}" (${at}) ran longer than its ${limit} ms limit`)),
        limit,
      );
    });
    try {
      await Promise.race([fn(t), expired]);
    } finally {
      clearTimeout(timer);
    }
  });
}
