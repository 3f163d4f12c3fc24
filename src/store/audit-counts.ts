import type { Executor } from './database.js';
import { precompiled } from './precompiled.js';

/**
 * The insights' summary rows (migration 2026_11_26_0500_audit_daily_counts): one upsert per event,
 * written in the event's transaction. `on conflict … do update` is the same statement on SQLite and
 * PostgreSQL, and is atomic on both, so concurrent writers never lose a count.
 */

export interface DailyCountKey {
  tenantId: string;
  day: string;
  activityDisplayName: string;
  result: string;
  resultReason: string;
  loggedByService: string;
}

export interface DailyFacetKey {
  tenantId: string;
  day: string;
  activityDisplayName: string;
  facet: 'method' | 'outcome';
  value: string;
}

export async function incrementDailyCount(trx: Executor, k: DailyCountKey): Promise<void> {
  await dailyCountUpsert(trx, k.tenantId, k.day, k.activityDisplayName, k.result, k.resultReason, k.loggedByService);
}

export async function incrementDailyFacet(trx: Executor, k: DailyFacetKey): Promise<void> {
  await dailyFacetUpsert(trx, k.tenantId, k.day, k.activityDisplayName, k.facet, k.value);
}

// one or two of these per audit event: built once (src/store/precompiled.ts), not per call
const dailyCountUpsert = precompiled((trx: Executor, tenantId: string, day: string, activityDisplayName: string, result: string, resultReason: string, loggedByService: string) =>
  trx
    .insertInto('audit_daily_counts')
    .values({
      tenant_id: tenantId,
      day,
      activity_display_name: activityDisplayName,
      result,
      result_reason: resultReason,
      logged_by_service: loggedByService,
      count: 1,
    })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'day', 'activity_display_name', 'result', 'result_reason', 'logged_by_service'])
        .doUpdateSet((eb) => ({ count: eb('audit_daily_counts.count', '+', 1) })),
    ),
);

const dailyFacetUpsert = precompiled((trx: Executor, tenantId: string, day: string, activityDisplayName: string, facet: DailyFacetKey['facet'], value: string) =>
  trx
    .insertInto('audit_daily_facets')
    .values({ tenant_id: tenantId, day, activity_display_name: activityDisplayName, facet, value, count: 1 })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'day', 'facet', 'activity_display_name', 'value']).doUpdateSet((eb) => ({ count: eb('audit_daily_facets.count', '+', 1) })),
    ),
);
