// `pvecm status`: the "Cluster information" block from pvecm, then corosync-quorumtool -siH output
// (formats per ../shared/pve-reference/cli: quorate, not quorate, standalone error).
import type { NodeState, SimState } from './model.ts';
import { clusterById, clusterNodes, viewOf } from './model.ts';

export interface ToolOutput {
  stdout: string;
  stderr: string;
  code: number;
}

function ctime(epoch: number): string {
  const d = new Date(epoch * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (x: number): string => String(x).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

const row = (k: string, v: string | number): string => `${`${k}:`.padEnd(18)}${v}`;

export function pvecmStatus(state: SimState, local: NodeState, now: number): ToolOutput {
  const cluster = clusterById(state, local.clusterId);
  if (cluster.name === null) {
    return {
      stdout: '',
      stderr:
        "Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n",
      code: 255,
    };
  }
  const view = viewOf(state, local);
  const nodes = clusterNodes(state, cluster.id);
  const members = nodes.filter((n) => view.members.has(n.name)).sort((a, b) => a.nodeid - b.nodeid);
  const expected = nodes.length;
  const quorum = Math.floor(expected / 2) + 1;
  const lowest = members[0]?.nodeid ?? local.nodeid;
  const hex = (id: number): string => `0x${id.toString(16).padStart(8, '0')}`;
  const lines = [
    'Cluster information',
    '-------------------',
    row('Name', cluster.name),
    row('Config Version', cluster.configVersion),
    row('Transport', 'knet'),
    row('Secure auth', 'on'),
    '',
    'Quorum information',
    '------------------',
    row('Date', ctime(Math.floor(now))),
    row('Quorum provider', 'corosync_votequorum'),
    row('Nodes', members.length),
    row('Node ID', hex(local.nodeid)),
    row('Ring ID', `${lowest}.${cluster.ringSeq.toString(16)}`),
    row('Quorate', view.quorate ? 'Yes' : 'No'),
    '',
    'Votequorum information',
    '----------------------',
    row('Expected votes', expected),
    row('Highest expected', expected),
    row('Total votes', members.length),
    // corosync-quorumtool prints two spaces after the number when quorate, "Activity blocked" when not
    row('Quorum', view.quorate ? `${quorum}  ` : `${quorum} Activity blocked`),
    row('Flags', view.quorate ? 'Quorate ' : ''),
    '',
    'Membership information',
    '----------------------',
    '    Nodeid      Votes Name',
    ...members.map(
      (n) => `${hex(n.nodeid)} ${String(1).padStart(10)} ${n.ip}${n.name === local.name ? ' (local)' : ''}`,
    ),
  ];
  // corosync-quorumtool -s exits non-zero when the partition is not quorate (value: see README)
  return { stdout: lines.join('\n') + '\n', stderr: '', code: view.quorate ? 0 : 2 };
}
