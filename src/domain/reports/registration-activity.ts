import type { AuditEvent } from '../../store/audit-events.js';
import { dateBounds, decodeCursor, encodeCursor, fingerprintOf, rolesOf, sameUser, scanAll, scanPage, userMatch, type RangeFilters, type ReportDeps } from './query.js';

/**
 * The classic "Password reset registration activity" report (reference §5.2): user, role, date and
 * time, data registered. Rows are the registrations the audit log holds: "User registered security
 * info" and "Admin registered security info" (one method each, detail `Method`), and "User registered
 * for self-service password reset" (the user now has the methods the policy asks for; detail
 * `Methods`, the combination). Deletions and updates are not registrations and are left out.
 */

export const REGISTRATION_METHODS = ['email', 'mobilePhone', 'alternateMobilePhone', 'officePhone', 'securityQuestions', 'authenticatorApp', 'recoveryCodes'] as const;
export type RegistrationMethod = (typeof REGISTRATION_METHODS)[number];

export const REGISTRATION_LABEL: Record<RegistrationMethod, string> = {
  email: 'Alternate Email',
  mobilePhone: 'Mobile Phone',
  alternateMobilePhone: 'Alternate Mobile Phone',
  officePhone: 'Office Phone',
  securityQuestions: 'Security Questions',
  authenticatorApp: 'Authenticator App',
  recoveryCodes: 'Recovery Codes',
};

/** The audit details' names (security-info MethodLabel, and the usable-method keys) → report keys. */
const FROM_DETAIL: Record<string, RegistrationMethod> = {
  Email: 'email',
  'Mobile phone': 'mobilePhone',
  'Alternate mobile phone': 'alternateMobilePhone',
  'Office phone': 'officePhone',
  'Security questions': 'securityQuestions',
  'Authenticator app': 'authenticatorApp',
  'Recovery codes': 'recoveryCodes',
  email: 'email',
  mobilePhone: 'mobilePhone',
  officePhone: 'officePhone',
  securityQuestions: 'securityQuestions',
  authenticatorApp: 'authenticatorApp',
};

const ACTIVITIES = ['User registered security info', 'Admin registered security info', 'User registered for self-service password reset'];

export interface RegistrationActivityRow {
  id: string;
  dateTime: string;
  user: { id: string; userPrincipalName: string | null; displayName: string | null };
  role: string;
  methods: RegistrationMethod[];
  /** "Alternate Email + Mobile Phone" */
  dataRegistered: string;
  activity: string;
  initiatedBy: string | null;
}

export interface RegistrationActivityFilters extends RangeFilters {
  method?: RegistrationMethod | undefined;
}

export function registrationRowOf(e: AuditEvent): RegistrationActivityRow | null {
  if (!ACTIVITIES.includes(e.activityDisplayName) || e.result !== 'success') return null;
  const target = e.targetResources.find((t) => t.type === 'User');
  if (!target) return null;
  const raw = e.additionalDetails.find((d) => d.key === 'Methods' || d.key === 'Method')?.value ?? '';
  const methods = [...new Set(raw.split(',').map((m) => FROM_DETAIL[m.trim()]).filter((m): m is RegistrationMethod => m !== undefined))];
  return {
    id: e.id,
    dateTime: e.activityDateTime,
    user: { id: target.id, userPrincipalName: target.userPrincipalName, displayName: target.displayName },
    role: 'User',
    methods,
    dataRegistered: methods.map((m) => REGISTRATION_LABEL[m]).join(' + '),
    activity: e.activityDisplayName,
    initiatedBy: e.initiatedBy.user?.userPrincipalName ?? e.initiatedBy.app?.displayName ?? null,
  };
}

function plan(f: RegistrationActivityFilters) {
  const user = userMatch(f.user);
  const base = { ...dateBounds(f), activities: ACTIVITIES, results: ['success'], userText: user && { ...user, initiatorToo: false } };
  const toRow = (e: AuditEvent) => {
    const row = registrationRowOf(e);
    if (row === null || (f.method !== undefined && !row.methods.includes(f.method)) || (user !== undefined && !sameUser(user, row.user))) return null;
    return row;
  };
  return { base, toRow, fingerprint: fingerprintOf('registrationActivity', { from: f.from, to: f.to, user: f.user, method: f.method }) };
}

async function withRoles(deps: ReportDeps, tenantId: string, rows: RegistrationActivityRow[]): Promise<RegistrationActivityRow[]> {
  const roles = await rolesOf(deps, tenantId, rows.map((r) => r.user.id));
  return rows.map((r) => ({ ...r, role: roles.get(r.user.id) ?? 'User' }));
}

export async function listRegistrationActivity(
  deps: ReportDeps,
  tenantId: string,
  f: RegistrationActivityFilters,
  page: { cursor?: string | undefined; top: number },
): Promise<{ rows: RegistrationActivityRow[]; nextCursor: string | null }> {
  const { base, toRow, fingerprint } = plan(f);
  const scan = await scanPage(deps, tenantId, base, decodeCursor(page.cursor, fingerprint), page.top, toRow);
  return { rows: await withRoles(deps, tenantId, scan.rows), nextCursor: scan.next ? encodeCursor(scan.next, fingerprint) : null };
}

export function streamRegistrationActivity(deps: ReportDeps, tenantId: string, f: RegistrationActivityFilters): AsyncIterable<RegistrationActivityRow[]> {
  const { base, toRow } = plan(f); // validates now, before a byte of the export is sent
  return (async function* () {
    for await (const rows of scanAll(deps, tenantId, base, toRow)) yield await withRoles(deps, tenantId, rows);
  })();
}
