/**
 * Replica chaos (issue 14; test/e2e/chaos.ts does the work): three `nannyapi serve` replicas on one
 * PostgreSQL schema, agents posting to random replicas, quorum and node-offline episodes per cluster,
 * and faults at random moments — SIGKILL (restart after a random delay), SIGSTOP for `--pause` s then
 * SIGCONT, or the replica's PostgreSQL backends terminated from the server side. Prints the faults,
 * the takeover times and every broken promise (a missing or doubled webhook, an acknowledged report
 * not stored, a revoked token or ended session still accepted). Exit status 1 when one broke.
 *
 *   npm run build && node --import tsx test/bench/replica-chaos.ts [--duration 300] [--replicas 3]
 *     [--clusters 4] [--gap 2-8] [--down 1-6] [--pause 15] [--faults kill,pause,pgkill]
 *     [--leader-share 0.6] [--keep] [--logs FILE]   (--keep: the schema stays; --logs: the replicas'
 *     logs written there when a promise broke)
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dropPgSchema, postgresReachable } from '@nanny/api/testing';
import { bundlesMissing } from '../e2e/harness.ts';
import { percentile, runChaos, type Fault } from '../e2e/chaos.ts';
import { benchContext } from './context.ts';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
};
const range = (name: string, def: string): [number, number] => {
  const [a, b] = arg(name, def)
    .split('-')
    .map((x) => Number(x) * 1000);
  return [a!, b ?? a!];
};

const why = bundlesMissing();
if (why) throw new Error(why);
if (!(await postgresReachable())) throw new Error('PostgreSQL not reachable');
const schema = `nanny_chaos_${randomBytes(5).toString('hex')}`;
const ctx = benchContext();
const started = Date.now();
let broken = 0;
try {
  const r = await runChaos(ctx, {
    schema,
    replicas: Number(arg('replicas', '3')),
    clusters: Number(arg('clusters', '4')),
    durationMs: Number(arg('duration', '300')) * 1000,
    faultGapMs: range('gap', '2-8'),
    downMs: range('down', '1-6'),
    pauseMs: Number(arg('pause', '15')) * 1000,
    faults: arg('faults', 'kill,pause,pgkill').split(',') as Fault[],
    leaderShare: Number(arg('leader-share', '0.6')),
    settleMs: 120_000,
    log: (l) => console.log(l),
  });
  const count = (k: Fault, leader?: boolean) =>
    r.faults.filter((f) => f.kind === k && (leader === undefined || f.leader === leader)).length;
  const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
  console.log('\n---- replica chaos');
  console.log(`run ${s(Date.now() - started)}, schema ${schema}`);
  for (const k of ['kill', 'pause', 'pgkill'] as const)
    console.log(`${k}: ${count(k)} (${count(k, true)} of the leader)`);
  console.log(
    `takeovers ${r.takeovers.length}: p50 ${s(percentile(r.takeovers, 0.5))} max ${s(Math.max(0, ...r.takeovers))}; longest time without a leader ${s(r.longestLeaderless)}; polls with two leaders ${r.twoLeaders}`,
  );
  const rules = (rule: string) => r.episodes.filter((e) => e.rule === rule).length;
  console.log(
    `episodes ${r.episodes.length} (quorum_lost ${rules('quorum_lost')}, node_offline ${rules('node_offline')}); webhooks ${r.received.length}, repeated idempotency keys ${r.repeats}`,
  );
  console.log(`node reports acknowledged ${r.acked}, missing from the database ${r.missing.length}`);
  console.log(`revocation rounds ${r.revocationChecks}`);
  const problems = [
    ...r.crashes,
    ...r.webhookProblems,
    ...r.missing.slice(0, 20).map((m) => `acknowledged, not stored: ${m}`),
    ...r.revocationProblems,
    ...r.takeovers.filter((ms) => ms > 10_000).map((ms) => `takeover took ${s(ms)}`),
  ];
  broken = problems.length;
  for (const p of problems) console.log(`PROBLEM ${p}`);
  console.log(broken === 0 ? 'all promises held' : `${broken} problem(s)`);
  if (broken > 0 && arg('logs', '') !== '') {
    writeFileSync(arg('logs', ''), r.outputs.join('\n'));
    console.log(`replica logs in ${arg('logs', '')}`);
  }
} finally {
  await ctx.close();
  // --keep: the schema stays for a look at what went wrong
  if (process.argv.includes('--keep')) console.log(`schema ${schema} kept`);
  else await dropPgSchema(schema);
}
process.exit(broken === 0 ? 0 : 1);
