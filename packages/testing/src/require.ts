import { testingConfig } from './config.ts';

/** The parts of the environment a test may need; CI lists them all in NANNY_REQUIRE. */
export type Part = 'postgres' | 'reference' | 'bundles' | 'chromium' | 'dpkg' | 'node18' | 'openssl';

interface Skippable {
  skip(message?: string): void;
}

/**
 * The requirement switch. Returns true when `available`; otherwise, if `part` is listed in
 * NANNY_REQUIRE the test fails here with `reason`, else it is skipped and says why and how to make
 * the absence a failure. Usage: `if (!requires(t, 'postgres', up, 'no PostgreSQL at …')) return;`
 */
export function requires(
  t: Skippable,
  part: Part,
  available: boolean,
  reason: string,
  required: ReadonlySet<string> = testingConfig.required,
): boolean {
  if (available) return true;
  if (required.has(part)) {
    throw new Error(`required part "${part}" is missing (NANNY_REQUIRE lists it): ${reason}`);
  }
  t.skip(`${reason} [skipped: NANNY_REQUIRE=${part} makes this a failure]`);
  return false;
}
