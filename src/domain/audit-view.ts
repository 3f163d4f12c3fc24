import type { AuditEvent } from '../store/audit-events.js';

/**
 * Graph's directoryAudit resource (reference §8.5) for one event: what `GET /v1.0/auditLogs/
 * directoryAudits` answers and what a SIEM webhook receives, built field by field so nothing stored
 * beside an event (the indexed copies, the hash chain) leaks into either.
 */
export function toDirectoryAudit(e: AuditEvent): Record<string, unknown> {
  const user = e.initiatedBy.user;
  const app = e.initiatedBy.app;
  return {
    id: e.id,
    category: e.category,
    correlationId: e.correlationId,
    result: e.result,
    resultReason: e.resultReason,
    activityDisplayName: e.activityDisplayName,
    activityDateTime: e.activityDateTime,
    loggedByService: e.loggedByService,
    operationType: e.operationType,
    initiatedBy: {
      user: user ? { id: user.id, displayName: user.displayName, userPrincipalName: user.userPrincipalName, ipAddress: user.ipAddress } : null,
      app: app ? { appId: app.appId, displayName: app.displayName, servicePrincipalId: app.servicePrincipalId, servicePrincipalName: app.servicePrincipalName } : null,
    },
    targetResources: e.targetResources.map((t) => ({
      id: t.id,
      displayName: t.displayName,
      type: t.type,
      userPrincipalName: t.userPrincipalName,
      groupType: t.groupType ?? null,
      modifiedProperties: t.modifiedProperties.map((p) => ({ displayName: p.displayName, oldValue: p.oldValue, newValue: p.newValue })),
    })),
    additionalDetails: e.additionalDetails.map((d) => ({ key: d.key, value: d.value })),
  };
}
