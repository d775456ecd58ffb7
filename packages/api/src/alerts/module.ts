/**
 * The alerts module for the API's module list: routes, the ingest listener, the timer + delivery
 * worker, and the `channel` CLI command. One service per app, made in `create(ctx)` and shared by the
 * parts through that closure.
 */
import type { ApiModule, ModuleContext, ModuleInstance } from '../module-contract.ts';
import { createAlertStore } from '../storage/alerts.ts';
import { ALERTS_TOPIC } from '../storage/alert-evaluation.ts';
import { assertSameSecretKey, loadSecretKey, secretBoxFor } from '../auth/secret-box.ts';
import { createNotifiers } from '../notify/channels/index.ts';
import { channelCommand } from './cli.ts';
import { alertRoutes } from './routes.ts';
import { createAlertService, type AlertService } from './service.ts';

export interface AlertsInstance extends ModuleInstance {
  service: AlertService;
}

export function createAlerts(ctx: ModuleContext): AlertsInstance {
  const key = loadSecretKey(ctx.config);
  const box = secretBoxFor(key);
  const store = ctx.storage.extend((h) => createAlertStore(h, box));
  const service = createAlertService({
    store,
    now: () => ctx.now().getTime(),
    log: ctx.log,
    leader: ctx.leader,
    notifiers: createNotifiers({ allowedNetworks: ctx.config.allowedChannelNetworks }),
  });
  return {
    service,
    routes: (app) => alertRoutes(app, { ctx, store, service }),
    ingestListener: {
      name: 'alerts',
      // the report's facts, in its own transaction: whichever replica leads evaluates them
      queue: (rec) =>
        service
          .queueRows({
            tenantId: rec.tenantId,
            kind: rec.kind,
            clusterId: rec.clusterId,
            payload: rec.payload,
            receivedAt: rec.receivedAt,
            derived: rec.derived,
            events: rec.events,
          })
          .map((r) => ({ topic: ALERTS_TOPIC, tenant_id: r.tenantId, body: r.body })),
      // on the leader, evaluate at once instead of at the next look at the queue
      afterIngest: () => service.kick(),
    },
    start: async () => {
      await assertSameSecretKey(key, (k, create) => ctx.storage.secret(k, create));
      await service.start();
      return () => service.stop();
    },
  };
}

/** The alert service of one app, from `app.nanny.modules` (tests and benchmarks drive its timer). */
export function alertServiceOf(modules: ReadonlyMap<string, ModuleInstance>): AlertService | undefined {
  const m = modules.get('alerts');
  return m && 'service' in m ? (m as AlertsInstance).service : undefined;
}

export const alertsModule: ApiModule = { name: 'alerts', create: createAlerts, cli: [channelCommand] };
