/**
 * Cluster identity: the cluster CA certificate `/etc/pve/pve-root-ca.pem` lives in the replicated
 * root of pmxcfs, so every node of a cluster has the same one, and `pvecm add` replaces a joining
 * node's CA with the cluster's (PMXCFS.md §7). Its hash is a stable cluster id; `cluster_name` is not unique.
 */
import { createHash } from 'node:crypto';

/**
 * sha256 hex of the PEM text with line endings normalised to `\n`, trailing whitespace of each
 * line removed and exactly one final newline, so CRLF copies or a missing final newline give the
 * same fingerprint. Throws no error; an input without a PEM block still hashes (caller decides).
 */
export function clusterFingerprint(pveRootCaPem: string): string {
  const normalised =
    pveRootCaPem
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .map((l) => l.replace(/\s+$/, ''))
      .filter((l) => l !== '')
      .join('\n') + '\n';
  return createHash('sha256').update(normalised, 'utf8').digest('hex');
}

/** Whether the text looks like a PEM certificate (so a truncated read can be told apart). */
export function looksLikePemCertificate(text: string): boolean {
  return /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(text);
}
