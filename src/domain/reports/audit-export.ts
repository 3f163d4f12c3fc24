import type { AuditEvent } from '../../store/audit-events.js';
import { dateBounds, sameUser, scanAll, userMatch, type RangeFilters, type ReportDeps } from './query.js';

/**
 * The audit log for export: every event of the tenant in the range, newest first, narrowed by
 * activity, category, service and result (exact column matches in SQL) and by users: `user` may be the
 * initiator or any target; `initiator` must be the initiator and `target` one of the targets, as the
 * audit log page filters (initiatedBy/user, targetResources/any). Users are pre-filtered in SQL by one
 * of them and checked exactly here.
 */
export interface AuditExportFilters extends RangeFilters {
  initiator?: string | undefined;
  target?: string | undefined;
  activity?: string | undefined;
  category?: string | undefined;
  loggedByService?: string | undefined;
  result?: 'success' | 'failure' | 'timeout' | undefined;
}

export function streamAuditEvents(deps: ReportDeps, tenantId: string, f: AuditExportFilters): AsyncIterable<AuditEvent[]> {
  const user = userMatch(f.user);
  const initiator = userMatch(f.initiator, 'initiator');
  const target = userMatch(f.target, 'target');
  // the narrowest SQL pre-filter: a target's text (targets only), else the initiator's or the user's (initiator too)
  const pre = target ? { ...target, initiatorToo: false } : initiator ? { ...initiator, initiatorToo: true } : user && { ...user, initiatorToo: true };
  const base = {
    ...dateBounds(f), // validates now, before a byte of the export is sent
    activities: f.activity === undefined ? undefined : [f.activity],
    categories: f.category === undefined ? undefined : [f.category],
    loggedByService: f.loggedByService === undefined ? undefined : [f.loggedByService],
    results: f.result === undefined ? undefined : [f.result],
    userText: pre,
  };
  const matches = (e: AuditEvent) =>
    (user === undefined || sameUser(user, e.initiatedBy.user) || e.targetResources.some((t) => sameUser(user, t))) &&
    (initiator === undefined || sameUser(initiator, e.initiatedBy.user)) &&
    (target === undefined || e.targetResources.some((t) => sameUser(target, t)));
  return scanAll(deps, tenantId, base, (e) => (matches(e) ? e : null));
}
