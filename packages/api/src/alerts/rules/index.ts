/** Every rule, once. A new rule is a file in this folder plus one line here. */
import type { Rule } from '../rule.ts';
import { agentSilent } from './agent_silent.ts';
import { backupFailed } from './backup_failed.ts';
import { backupMissing } from './backup_missing.ts';
import { backupNotCovered } from './backup_not_covered.ts';
import { cpuHigh } from './cpu_high.ts';
import { guestStopped } from './guest_stopped.ts';
import { haError } from './ha_error.ts';
import { haFencing } from './ha_fencing.ts';
import { loadHigh } from './load_high.ts';
import { memoryHigh } from './memory_high.ts';
import { nodeCountChanged } from './node_count_changed.ts';
import { nodeOffline } from './node_offline.ts';
import { nodeRebooted } from './node_rebooted.ts';
import { quorumLost } from './quorum_lost.ts';
import { replicationFailed } from './replication_failed.ts';
import { rootfsHigh } from './rootfs_high.ts';
import { swapHigh } from './swap_high.ts';
import { versionMismatch } from './version_mismatch.ts';
import { versionUpgraded } from './version_upgraded.ts';
import { storageFull } from './storage_full.ts';
import { storageFullSoon } from './storage_full_soon.ts';
import { storageUnavailable } from './storage_unavailable.ts';
import { cephHealthErr, cephHealthUnknown, cephHealthWarn } from './ceph_health.ts';
import { rebootRequired } from './reboot_required.ts';
import { certificateExpiring } from './certificate_expiring.ts';
import { updatesAvailable } from './updates_available.ts';

export const RULES: readonly Rule[] = [
  quorumLost,
  nodeOffline,
  agentSilent,
  nodeCountChanged,
  versionUpgraded,
  versionMismatch,
  nodeRebooted,
  cpuHigh,
  memoryHigh,
  rootfsHigh,
  swapHigh,
  loadHigh,
  guestStopped,
  backupFailed,
  backupMissing,
  backupNotCovered,
  haError,
  haFencing,
  replicationFailed,
  storageFull,
  storageFullSoon,
  storageUnavailable,
  cephHealthWarn,
  cephHealthErr,
  cephHealthUnknown,
  rebootRequired,
  certificateExpiring,
  updatesAvailable,
];
