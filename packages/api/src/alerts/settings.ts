/**
 * Defaults of every rule and the override lookup: built-in defaults < global < cluster < node < guest tag.
 * A lookup is a few map reads: it does not depend on the size of the fleet.
 */
import { tagKey } from '@nanny/proxmox';
import type { AlertSettings, RuleId, RuleSettings, RuleSettingsMap } from './types.ts';

export const DEFAULT_INTERVAL_SECONDS = 300; // the spec's DefaultProxmoxInterval

export const RULE_DEFAULTS: Readonly<Record<RuleId, Readonly<RuleSettings>>> = {
  quorum_lost: { enabled: true },
  node_offline: { enabled: true },
  agent_silent: { enabled: true, factor: 2.5 },
  node_count_changed: { enabled: true },
  version_upgraded: { enabled: true },
  // A rolling upgrade of a few nodes takes hours; a day of mixed versions is drift, not an upgrade.
  version_mismatch: { enabled: true, graceSeconds: 6 * 3600 },
  node_rebooted: { enabled: true },
  // Ratios 0..1. Sustain 300 s = held across two reports at the default 5-minute interval.
  cpu_high: { enabled: true, trigger: 0.9, clear: 0.8, sustainSeconds: 300 },
  memory_high: { enabled: true, trigger: 0.9, clear: 0.85, sustainSeconds: 300 },
  // A filling disk does not flap quickly; the clear value alone prevents flapping.
  rootfs_high: { enabled: true, trigger: 0.9, clear: 0.85, sustainSeconds: 0 },
  swap_high: { enabled: true, trigger: 0.8, clear: 0.6, sustainSeconds: 600 },
  // load_avg_5m per logical CPU.
  load_high: { enabled: true, trigger: 1.5, clear: 1.0, sustainSeconds: 600 },
  guest_stopped: { enabled: true },
  backup_failed: { enabled: true },
  backup_missing: { enabled: true, graceSeconds: 2 * 86400 },
  backup_not_covered: { enabled: true },
  ha_error: { enabled: true },
  ha_fencing: { enabled: true },
  replication_failed: { enabled: true },
  // Issue 15. Ratios 0..1; warning at the trigger, critical at `critical`, resolved at/below `clear`.
  storage_full: { enabled: true, trigger: 0.9, critical: 0.95, clear: 0.85 },
  // Days until full (24 h trend): fires at/below the trigger once that held for the sustain time,
  // resolves above `clear` or when the trend stops growing.
  storage_full_soon: { enabled: true, trigger: 7, clear: 10, sustainSeconds: 3600 },
  storage_unavailable: { enabled: true },
  ceph_health_warn: { enabled: true },
  ceph_health_err: { enabled: true },
  ceph_health_unknown: { enabled: true },
  reboot_required: { enabled: true },
  // Days left: warning at/below the trigger, critical at/below `critical`.
  certificate_expiring: { enabled: true, trigger: 30, critical: 7 },
  // Fires at/above `trigger` pending updates.
  updates_available: { enabled: true, trigger: 1 },
};

export interface Scope {
  clusterId?: string | undefined;
  clusterName?: string | undefined;
  node?: string | undefined;
  tags?: readonly string[] | undefined;
}

function merge(into: RuleSettings, from: RuleSettingsMap | undefined, rule: RuleId): void {
  const s = from?.[rule];
  if (s) Object.assign(into, s);
}

/** The effective settings of `rule` for one cluster / node / guest. */
export function ruleSettings(settings: AlertSettings, rule: RuleId, scope: Scope): Required<RuleSettings> {
  const out: RuleSettings = {
    enabled: true,
    trigger: 0,
    clear: 0,
    sustainSeconds: 0,
    graceSeconds: 0,
    factor: 2.5,
    critical: 0,
  };
  Object.assign(out, RULE_DEFAULTS[rule]);
  merge(out, settings.rules, rule);
  const c = settings.clusters;
  if (c) {
    if (scope.clusterName !== undefined) merge(out, c[scope.clusterName], rule);
    if (scope.clusterId !== undefined) merge(out, c[scope.clusterId], rule);
  }
  const n = settings.nodes;
  if (n && scope.node !== undefined) {
    merge(out, n[scope.node], rule);
    if (scope.clusterName !== undefined) merge(out, n[`${scope.clusterName}/${scope.node}`], rule);
    if (scope.clusterId !== undefined) merge(out, n[`${scope.clusterId}/${scope.node}`], rule);
  }
  const t = settings.tags;
  if (t && scope.tags) {
    // scope.tags are in tagKey form; an override written `Prod` applies to a guest tagged `prod`.
    for (const [tag, s] of Object.entries(t)) if (scope.tags.includes(tagKey(tag))) merge(out, s, rule);
  }
  return out as Required<RuleSettings>;
}
