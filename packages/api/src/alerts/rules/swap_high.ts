/** swap_high (warning): `swap_used_bytes / swap_total_bytes` (nodes without swap never fire). Defaults: trigger 80 %, clear 60 %, sustain 10 min. */
import { thresholdRule, ratio, pctf } from './threshold.ts';

export const swapHigh = thresholdRule({
  id: 'swap_high',
  title: 'swap use above the trigger for the sustain time',
  value: (f) => ratio(f.swapUsed, f.swapTotal),
  describe: (v) => `Swap use ${pctf(v)}`,
  fmt: pctf,
});
