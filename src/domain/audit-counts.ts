import type { AuditEvent } from '../store/audit-events.js';
import { incrementDailyCount, incrementDailyFacet, type DailyCountKey, type DailyFacetKey } from '../store/audit-counts.js';
import type { Executor } from '../store/database.js';

/**
 * Keeps the insights' per-day summary in step with the log: recordAudit calls countAuditEvent in the
 * transaction that appends the event, so a count exists exactly when its event does (and outlives
 * it under retention). The same derivation is written out in migration 2026_11_26_0500 for events
 * that existed before it; the two must agree (test/http/insights.test.ts compares them with the log).
 */

/** Result reasons are cut to this many characters (code points) for the failure-reason ranking. */
export const REASON_LENGTH = 200;

/** SSPR completions: their `Methods` detail lists the methods the user verified with. */
export const METHOD_ACTIVITIES: readonly string[] = ['Reset password (self-service)', 'Unlock user account (self-service)'];
/** Each reset-flow outcome carries the classic result (Succeeded, Abandoned, …) as its `Result` detail. */
export const OUTCOME_ACTIVITY = 'Self-service password reset flow activity progress';

export function cutReason(reason: string): string {
  return Array.from(reason).slice(0, REASON_LENGTH).join('');
}

export function dailyCountKeyOf(e: AuditEvent): DailyCountKey {
  return {
    tenantId: e.tenantId,
    day: e.activityDateTime.slice(0, 10),
    activityDisplayName: e.activityDisplayName,
    result: e.result,
    resultReason: cutReason(e.resultReason),
    loggedByService: e.loggedByService,
  };
}

/** The facet rows one event adds to: each distinct method of a successful completion, a flow's outcome. */
export function dailyFacetsOf(e: Pick<AuditEvent, 'tenantId' | 'activityDateTime' | 'activityDisplayName' | 'result' | 'additionalDetails'>): DailyFacetKey[] {
  const base = { tenantId: e.tenantId, day: e.activityDateTime.slice(0, 10), activityDisplayName: e.activityDisplayName };
  const detail = (key: string) => e.additionalDetails.find((d) => d.key === key)?.value;
  const out: DailyFacetKey[] = [];
  if (METHOD_ACTIVITIES.includes(e.activityDisplayName) && e.result === 'success') {
    const methods = new Set((detail('Methods') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''));
    for (const m of methods) out.push({ ...base, facet: 'method', value: cutReason(m) });
  }
  if (e.activityDisplayName === OUTCOME_ACTIVITY) {
    const outcome = detail('Result');
    if (outcome) out.push({ ...base, facet: 'outcome', value: cutReason(outcome) });
  }
  return out;
}

export async function countAuditEvent(trx: Executor, e: AuditEvent): Promise<void> {
  await incrementDailyCount(trx, dailyCountKeyOf(e));
  for (const f of dailyFacetsOf(e)) await incrementDailyFacet(trx, f);
}
