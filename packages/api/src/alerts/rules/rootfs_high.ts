/** rootfs_high (warning): `rootfs_used_bytes / rootfs_total_bytes`. Defaults: trigger 90 %, clear 85 %, no sustain. */
import { thresholdRule, ratio, pctf } from './threshold.ts';

export const rootfsHigh = thresholdRule({
  id: 'rootfs_high',
  title: 'root filesystem use above the trigger',
  value: (f) => ratio(f.rootfsUsed, f.rootfsTotal),
  describe: (v) => `Root filesystem ${pctf(v)} full`,
  fmt: pctf,
});
