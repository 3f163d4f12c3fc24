import { isDay, nextDay, withQuery } from './common';

/**
 * The audit log's filters: the OData $filter GET /v1.0/auditLogs/directoryAudits supports
 * (src/store/audit-query.ts) and the same filters as /api/v1/audit/events.csv parameters.
 */

export const AUDIT_SERVICES = ['Self-service Password Management', 'Authentication Methods', 'Core Directory'] as const;
export const AUDIT_CATEGORIES = ['UserManagement', 'GroupManagement', 'RoleManagement', 'ApplicationManagement', 'DirectoryManagement', 'Policy'] as const;

/** Suggestions for the activity box (it takes any name). */
export const ACTIVITIES = [
  'Blocked from self-service password reset',
  'Change password (self-service)',
  'Reset password (by admin)',
  'Reset password (self-service)',
  'Self-service password reset flow activity progress',
  'Unlock user account (self-service)',
  'Unlock user account (by admin)',
  'User registered for self-service password reset',
  'Self-service password reset policy changes',
  'User registered security info',
  'User updated security info',
  'User deleted security info',
  'Admin registered security info',
  'Admin deleted security info',
  'User reviewed security info',
  'Change user password',
  'Reset user password',
  'Add user',
  'Update user',
  'Delete user',
  'Add group',
  'Add member to group',
  'Remove member from group',
  'Add member to role',
  'Remove member from role',
  'Update password policy',
  'Update audit log policy',
  'Register password writeback agent',
];

export interface AuditFilters {
  from: string;
  to: string;
  activity: string;
  service: string;
  category: string;
  result: string;
  initiator: string;
  target: string;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The OData $filter for the form; whole UTC days, both ends inclusive. */
export function auditFilter(f: AuditFilters): string {
  const parts: string[] = [];
  if (isDay(f.from)) parts.push(`activityDateTime ge ${f.from}T00:00:00Z`);
  if (isDay(f.to)) parts.push(`activityDateTime lt ${nextDay(f.to)}T00:00:00Z`);
  if (f.activity.trim()) parts.push(`activityDisplayName eq ${quote(f.activity.trim())}`);
  if (f.service) parts.push(`loggedByService eq ${quote(f.service)}`);
  if (f.category) parts.push(`category eq ${quote(f.category)}`);
  if (f.result) parts.push(`result eq ${quote(f.result)}`);
  if (f.initiator.trim()) parts.push(`initiatedBy/user/userPrincipalName eq ${quote(f.initiator.trim())}`);
  if (f.target.trim()) parts.push(`targetResources/any(t: t/userPrincipalName eq ${quote(f.target.trim())})`);
  return parts.join(' and ');
}

/** The same filters for the CSV export; its `user` matches the initiator or a target. */
export function auditCsvHref(f: AuditFilters, bom: boolean): string {
  return withQuery('/api/v1/audit/events.csv', {
    from: isDay(f.from) ? f.from : undefined,
    to: isDay(f.to) ? f.to : undefined,
    activity: f.activity.trim(),
    loggedByService: f.service,
    category: f.category,
    result: f.result,
    initiator: f.initiator.trim(),
    target: f.target.trim(),
    bom: bom ? 'true' : undefined,
  });
}

