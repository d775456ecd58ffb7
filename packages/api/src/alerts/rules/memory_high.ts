/** memory_high (warning): `mem_used_bytes / mem_total_bytes`. Defaults: trigger 90 %, clear 85 %, sustain 5 min. */
import { thresholdRule, ratio, pctf } from './threshold.ts';

export const memoryHigh = thresholdRule({
  id: 'memory_high',
  title: 'memory use above the trigger for the sustain time',
  value: (f) => ratio(f.memUsed, f.memTotal),
  describe: (v) => `Memory use ${pctf(v)}`,
  fmt: pctf,
});
