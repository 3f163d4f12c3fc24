import type { AuditEvent } from '../../store/audit-events.js';
import { dateBounds, sameUser, scanAll, userMatch, type RangeFilters, type ReportDeps } from './query.js';

/**
 * The audit log for export: every event of the tenant in the range, newest first, narrowed by
 * activity, category, service and result (exact column matches in SQL) and by a user, who may be the
 * initiator or any target (pre-filtered in SQL, checked exactly here).
 */
export interface AuditExportFilters extends RangeFilters {
  activity?: string | undefined;
  category?: string | undefined;
  loggedByService?: string | undefined;
  result?: 'success' | 'failure' | 'timeout' | undefined;
}

export function streamAuditEvents(deps: ReportDeps, tenantId: string, f: AuditExportFilters): AsyncIterable<AuditEvent[]> {
  const user = userMatch(f.user);
  const base = {
    ...dateBounds(f), // validates now, before a byte of the export is sent
    activities: f.activity === undefined ? undefined : [f.activity],
    categories: f.category === undefined ? undefined : [f.category],
    loggedByService: f.loggedByService === undefined ? undefined : [f.loggedByService],
    results: f.result === undefined ? undefined : [f.result],
    userText: user && { ...user, initiatorToo: true },
  };
  const toRow = (e: AuditEvent) => (user === undefined || sameUser(user, e.initiatedBy.user) || e.targetResources.some((t) => sameUser(user, t)) ? e : null);
  return scanAll(deps, tenantId, base, toRow);
}
