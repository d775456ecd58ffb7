/**
 * Ingest, quota part (issue 13, M7): an organisation holds at most so many clusters, nodes and
 * guests. Each part of ingest works out which of these its report would add before it writes
 * anything, and asks here; a report over a quota is refused whole and leaves no trace, while
 * reports about what is stored already keep updating it.
 *
 * Counted once per batch and tenant (an indexed `count(*)`), then kept in step with what the batch
 * adds. Two replicas' batches running at the same moment may each add up to their own margin, so a
 * quota can be passed by what one batch per replica adds at once: a bound on growth, not an exact
 * ceiling.
 */
import type { Quotas } from './storage.ts';
import type { Db } from './sql.ts';

export type Countable = keyof Quotas;

const SETTING: Record<Countable, string> = {
  clusters: 'NANNYAPI_QUOTA_CLUSTERS',
  nodes: 'NANNYAPI_QUOTA_NODES',
  guests: 'NANNYAPI_QUOTA_GUESTS',
};

export class QuotaLedger {
  private readonly used = new Map<string, number>();

  /** @param trx where it counts: the batch's transaction, or a connection outside one (ingest.ts) */
  constructor(private readonly trx: Db) {}

  /**
   * Reserves `want` more of each kind for the tenant and answers undefined, or reserves nothing
   * and answers the refusal's text (naming the first quota that would be passed).
   */
  async take(
    tenantId: string,
    quotas: Quotas | undefined,
    want: Partial<Record<Countable, number>>,
    what: string,
  ): Promise<string | undefined> {
    if (!quotas) return undefined;
    const next: [string, number][] = [];
    for (const kind of ['clusters', 'nodes', 'guests'] as const) {
      const n = want[kind] ?? 0;
      const limit = quotas[kind];
      if (n <= 0 || limit <= 0) continue;
      const used = await this.count(tenantId, kind);
      if (used + n > limit)
        return `this organisation holds ${used} ${kind}, its quota is ${limit} (${SETTING[kind]}): ${what} is not stored; what is stored already keeps updating`;
      next.push([`${tenantId}|${kind}`, used + n]);
    }
    for (const [k, v] of next) this.used.set(k, v);
    return undefined;
  }

  private async count(tenantId: string, kind: Countable): Promise<number> {
    const key = `${tenantId}|${kind}`;
    const known = this.used.get(key);
    if (known !== undefined) return known;
    const row = await this.trx
      .selectFrom(kind)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    const n = Number(row.n);
    this.used.set(key, n);
    return n;
  }
}
