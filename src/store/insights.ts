import { sql } from 'kysely';
import type { AuditInitiator } from './audit-events.js';
import type { Executor } from './database.js';

/** Reads for the insights: summary rows of a day range, and admin resets grouped by who did them. */

export interface DailyCountRow {
  day: string;
  activityDisplayName: string;
  result: string;
  resultReason: string;
  count: number;
}

export interface DailyFacetRow {
  day: string;
  activityDisplayName: string;
  value: string;
  count: number;
}

/** Summary rows of the given activities for days fromDay..toDay (inclusive, YYYY-MM-DD). */
export async function listDailyCounts(db: Executor, tenantId: string, fromDay: string, toDay: string, activities: readonly string[]): Promise<DailyCountRow[]> {
  if (activities.length === 0) return [];
  const rows = await db
    .selectFrom('audit_daily_counts')
    .select((eb) => ['day', 'activity_display_name', 'result', 'result_reason', eb.fn.sum<string | number>('count').as('n')])
    .where('tenant_id', '=', tenantId)
    .where('day', '>=', fromDay)
    .where('day', '<=', toDay)
    .where('activity_display_name', 'in', [...activities])
    // one row per day and kind, whatever services logged it
    .groupBy(['day', 'activity_display_name', 'result', 'result_reason'])
    .execute();
  return rows.map((r) => ({ day: r.day, activityDisplayName: r.activity_display_name, result: r.result, resultReason: r.result_reason, count: Number(r.n) }));
}

export async function listDailyFacets(db: Executor, tenantId: string, fromDay: string, toDay: string, facet: 'method' | 'outcome'): Promise<DailyFacetRow[]> {
  const rows = await db
    .selectFrom('audit_daily_facets')
    .select(['day', 'activity_display_name', 'value', 'count'])
    .where('tenant_id', '=', tenantId)
    .where('day', '>=', fromDay)
    .where('day', '<=', toDay)
    .where('facet', '=', facet)
    .execute();
  return rows.map((r) => ({ day: r.day, activityDisplayName: r.activity_display_name, value: r.value, count: Number(r.count) }));
}

export interface InitiatorCount {
  /** the initiator as one of the events recorded it (names as they were then) */
  initiatedBy: AuditInitiator;
  result: string;
  count: number;
}

/**
 * Events of one activity in [from, before), counted per initiator and result. Compared as
 * lower(activity_display_name), so the (tenant, lower(activity), time) index of migration
 * 2026_11_26_0300 bounds the scan to that activity's events of the range.
 */
export async function countByInitiator(db: Executor, tenantId: string, activity: string, from: string, before: string): Promise<InitiatorCount[]> {
  const rows = await db
    .selectFrom('audit_events')
    .select((eb) => [
      'initiator_user_id',
      'initiator_app_id',
      'result',
      eb.fn.countAll<string | number>().as('n'),
      eb.fn.max('initiated_by').as('sample'),
    ])
    .where('tenant_id', '=', tenantId)
    .where(sql<string>`lower(activity_display_name)`, '=', activity.toLowerCase())
    .where('activity_date_time', '>=', from)
    .where('activity_date_time', '<', before)
    .groupBy(['initiator_user_id', 'initiator_app_id', 'result'])
    .execute();
  return rows.map((r) => ({ initiatedBy: JSON.parse(r.sample) as AuditInitiator, result: r.result, count: Number(r.n) }));
}
