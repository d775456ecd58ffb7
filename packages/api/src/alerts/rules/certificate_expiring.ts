/**
 * certificate_expiring (warning at `trigger` days left, default 30; critical at `critical`, default
 * 7): the node's pve-ssl.pem and pveproxy-ssl.pem. pveupdate renews pve-ssl.pem 14 days before its
 * end and ACME certificates 30 days before, so a warning at 30 days means renewal did not happen
 * (or is about to); an expired one is critical. Resolved when the file is renewed or removed.
 */
import { alertKey, type Rule } from '../rule.ts';
import { where } from './format.ts';
import { fireAtLevel } from './levels.ts';

const DAY_MS = 86_400_000;

export const certificateExpiring: Rule = {
  id: 'certificate_expiring',
  severity: 'warning',
  title: 'node certificate expires within `trigger` days (critical within `critical`)',
  onNode(ctx, f, n) {
    if (ctx.prev.stale || f.certificates === undefined) return;
    const cfg = ctx.config('certificate_expiring', {
      clusterId: f.clusterId,
      clusterName: n.clusterName,
      node: f.node,
    });
    const seen = new Set<string>();
    for (const c of f.certificates) {
      seen.add(c.file);
      const key = alertKey('certificate_expiring', f.clusterId, f.node, c.file);
      const left = (c.notAfter - (f.collectedAt ?? f.at)) / DAY_MS;
      const label = `Certificate ${c.file} of node ${f.node} (${where(n.clusterName, f.clusterId)})`;
      if (!cfg.enabled || left > cfg.trigger) {
        ctx.resolve(key, `${label} is valid until ${new Date(c.notAfter).toISOString().slice(0, 10)}`);
        continue;
      }
      fireAtLevel(ctx, certificateExpiring, {
        key,
        severity: left <= cfg.critical ? 'critical' : 'warning',
        summary:
          left <= 0
            ? `${label} expired on ${new Date(c.notAfter).toISOString().slice(0, 10)}`
            : `${label} expires in ${Math.floor(left)} days (${new Date(c.notAfter).toISOString().slice(0, 10)})`,
        clusterId: f.clusterId,
        clusterName: n.clusterName,
        node: f.node,
      });
    }
    // A file that is gone (custom certificate removed) cannot expire any more.
    for (const file of ['pve-ssl.pem', 'pveproxy-ssl.pem'])
      if (!seen.has(file)) ctx.resolve(alertKey('certificate_expiring', f.clusterId, f.node, file));
  },
};
