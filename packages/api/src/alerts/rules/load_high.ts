/** load_high (warning): 5-minute load average per logical CPU (`load_avg_5m / cpu_threads`). Defaults: trigger 1.5, clear 1.0, sustain 10 min. */
import { thresholdRule } from './threshold.ts';

export const loadHigh = thresholdRule({
  id: 'load_high',
  title: '5-minute load per CPU above the trigger for the sustain time',
  value: (f) => (f.load5 === undefined || !f.cpuThreads ? undefined : f.load5 / f.cpuThreads),
  describe: (v) => `Load ${v.toFixed(2)} per CPU`,
  fmt: (v) => v.toFixed(2),
});
