/**
 * The one explicit list of API modules (DESIGN.md §7: extension points registered in one list).
 * The contract they implement is module-contract.ts.
 */
import { webModule } from '@nanny/web';
import type { ApiModule } from './module-contract.ts';
import { alertsModule } from './alerts/module.ts';
import { liveModule } from './live/module.ts';
import { retentionModule } from './retention/module.ts';

export const MODULES: readonly ApiModule[] = [retentionModule, alertsModule, liveModule, webModule];
