/**
 * The alerts module for the API's module list: routes, the ingest listener, the timer + delivery
 * worker, and the `channel` CLI command.
 *
 * The module seam hands routes, listener and start() their context separately, but they must share
 * one service per app: it is kept per Storage instance (one per app) in a WeakMap, so two apps in one
 * process (tests) never share state.
 */
import type { ApiModule, ModuleContext } from '../modules.ts';
import { createAlertStore } from '../storage/alerts.ts';
import { createNotifiers } from '../notify/channels/index.ts';
import { channelCommand } from './cli.ts';
import { alertRoutes } from './routes.ts';
import { createAlertService, type AlertService } from './service.ts';

const services = new WeakMap<object, AlertService>();

/** The service of the app that owns `storage` (tests and benchmarks drive its timer directly). */
export const alertServiceOf = (storage: object): AlertService | undefined => services.get(storage);

export function alertServiceFor(ctx: ModuleContext): AlertService {
  let s = services.get(ctx.storage);
  if (!s) {
    const store = ctx.storage.extend(createAlertStore);
    s = createAlertService({
      store,
      now: () => ctx.now().getTime(),
      log: ctx.log,
      notifiers: createNotifiers({ allowedNetworks: ctx.config.allowedChannelNetworks }),
    });
    services.set(ctx.storage, s);
  }
  return s;
}

export const alertsModule: ApiModule = {
  name: 'alerts',
  routes: async (app, ctx) => {
    await alertRoutes(app, {
      ctx,
      store: ctx.storage.extend(createAlertStore),
      service: alertServiceFor(ctx),
    });
  },
  ingestListener: (ctx) => {
    const service = alertServiceFor(ctx);
    return {
      name: 'alerts',
      afterIngest: (rec) =>
        service.onIngest({
          tenantId: rec.tenantId,
          kind: rec.kind,
          clusterId: rec.clusterId,
          payload: rec.payload,
          receivedAt: rec.receivedAt,
          events: rec.events,
        }),
    };
  },
  start: async (ctx) => {
    const service = alertServiceFor(ctx);
    await service.start();
    return () => service.stop();
  },
  cli: [channelCommand],
};
