// Run by testing.test.ts in a child process: a test that never ends, under the wrapper's default timeout.
import { test } from './test.ts';

test('never ends', () => new Promise<void>(() => setInterval(() => {}, 1000)));
