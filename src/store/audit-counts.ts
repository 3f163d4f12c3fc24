import type { Executor } from './database.js';

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
  await trx
    .insertInto('audit_daily_counts')
    .values({
      tenant_id: k.tenantId,
      day: k.day,
      activity_display_name: k.activityDisplayName,
      result: k.result,
      result_reason: k.resultReason,
      logged_by_service: k.loggedByService,
      count: 1,
    })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'day', 'activity_display_name', 'result', 'result_reason', 'logged_by_service'])
        .doUpdateSet((eb) => ({ count: eb('audit_daily_counts.count', '+', 1) })),
    )
    .execute();
}

export async function incrementDailyFacet(trx: Executor, k: DailyFacetKey): Promise<void> {
  await trx
    .insertInto('audit_daily_facets')
    .values({ tenant_id: k.tenantId, day: k.day, activity_display_name: k.activityDisplayName, facet: k.facet, value: k.value, count: 1 })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'day', 'facet', 'activity_display_name', 'value']).doUpdateSet((eb) => ({ count: eb('audit_daily_facets.count', '+', 1) })),
    )
    .execute();
}
