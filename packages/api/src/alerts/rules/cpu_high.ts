/** cpu_high (warning): node CPU busy share (`cpu_usage_ratio`, 0..1). Defaults: trigger 90 %, clear 80 %, sustain 5 min. */
import { thresholdRule, pctf } from './threshold.ts';

export const cpuHigh = thresholdRule({
  id: 'cpu_high',
  title: 'CPU usage above the trigger for the sustain time',
  value: (f) => f.cpuRatio,
  describe: (v) => `CPU usage ${pctf(v)}`,
  fmt: pctf,
});
