/**
 * The one place the test suite's timing and requirements are read from the environment.
 *
 * NANNY_TIME_SCALE  multiplies every budget (default 1); a slow or crowded machine sets 2 or 3
 *                   instead of each test growing its own "generous" constant.
 * NANNY_REQUIRE     comma-separated parts (postgres, reference, bundles, chromium, dpkg) that must be
 *                   present: a test that needs a missing one fails instead of skipping. CI sets it.
 */
export interface TestingConfig {
  timeScale: number;
  required: ReadonlySet<string>;
}

export function parseTestingConfig(env: Record<string, string | undefined>): TestingConfig {
  const raw = env.NANNY_TIME_SCALE;
  const timeScale = raw === undefined || raw === '' ? 1 : Number(raw);
  if (!Number.isFinite(timeScale) || timeScale <= 0) {
    throw new Error(`NANNY_TIME_SCALE must be a number > 0, got ${JSON.stringify(raw)}`);
  }
  const required = new Set(
    (env.NANNY_REQUIRE ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  return { timeScale, required };
}

/** Read once per test process: tests never see different settings within one run. */
export const testingConfig: TestingConfig = parseTestingConfig(process.env);
