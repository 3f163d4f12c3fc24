import type { AuditEvent } from '../../store/audit-events.js';
import { STEP, type SsprMethodName } from '../sspr/audit.js';
import {
  dateBounds,
  decodeCursor,
  encodeCursor,
  fingerprintOf,
  rolesOf,
  sameUser,
  scanAll,
  scanPage,
  userMatch,
  type RangeFilters,
  type ReportDeps,
  type UserMatch,
} from './query.js';

/**
 * The classic "Password reset activity" report (reference §5.2): one row per outcome of a
 * self-service reset or unlock flow — the progress event that carries a `Result` detail (written once
 * per flow by the SSPR code: Succeeded, Blocked, Cancelled, Abandoned, Failed, or Contacted Admin,
 * which then stands for the flow's cancel or abandonment) — plus each "Reset password (by admin)", as
 * Azure's Self-service Password Management log lists those too. Events written before flows carried
 * `Result` on every outcome are read by their step text.
 */

export const RESET_RESULTS = ['Abandoned', 'Blocked', 'Cancelled', 'Contacted Admin', 'Failed', 'Succeeded'] as const;
export type ResetResult = (typeof RESET_RESULTS)[number];

export const RESET_METHODS = ['email', 'mobileSms', 'mobileCall', 'officeCall', 'securityQuestions', 'appCode', 'appNotification', 'recoveryCode'] as const satisfies readonly SsprMethodName[];

/** The Method(s) Used column, in the classic report's words. */
export const RESET_METHOD_LABEL: Record<SsprMethodName, string> = {
  email: 'Alternate Email',
  mobileSms: 'Mobile Phone (SMS)',
  mobileCall: 'Mobile Phone (Voice Call)',
  officeCall: 'Office Phone',
  securityQuestions: 'Security Questions',
  appCode: 'Authenticator App',
  appNotification: 'Authenticator App Notification',
  recoveryCode: 'Recovery Code',
};

export interface ResetActivityRow {
  id: string;
  flowId: string | null;
  dateTime: string;
  user: { id: string; userPrincipalName: string | null; displayName: string | null };
  role: string;
  methods: SsprMethodName[];
  methodsUsed: string[];
  result: ResetResult;
  details: string;
  activity: string;
  initiatedBy: string | null;
}

export interface ResetActivityFilters extends RangeFilters {
  result?: ResetResult | undefined;
  method?: SsprMethodName | undefined;
}

const PROGRESS = 'Self-service password reset flow activity progress';
const ADMIN_RESET = 'Reset password (by admin)';

/** The outcomes older events carry only as step text (no Result detail). */
const LEGACY_OUTCOMES: ReadonlyMap<string, ResetResult> = new Map([
  [STEP.succeeded, 'Succeeded'],
  [STEP.unlocked, 'Succeeded'],
  [STEP.blocked, 'Blocked'],
  [STEP.notEnabled, 'Failed'],
  [STEP.notInScope, 'Failed'],
  [STEP.notInGroup, 'Failed'],
  [STEP.notLicensed, 'Failed'],
  [STEP.notEnoughMethods, 'Failed'],
  [STEP.writebackOff, 'Failed'],
  [STEP.onPremUnreachable, 'Failed'],
]);

/** The §5.2 Details text of a block, by the limit that caused it (the generic step text otherwise). */
const BLOCK_DETAILS: Record<string, string> = {
  'gate:mobileSms': 'User entered too many invalid SMS verification codes and is blocked for 24 hours',
  'gate:mobileCall': 'User tried mobile phone voice verification too many times and is blocked for 24 hours',
  'gate:officeCall': 'User tried office phone voice verification too many times and is blocked for 24 hours',
  'gate:securityQuestions': 'User tried to answer security questions too many times and is blocked for 24 hours',
  'gate:phone': 'User tried to verify a phone number too many times and is blocked for 24 hours',
};

const isMethod = (m: string): m is SsprMethodName => Object.hasOwn(RESET_METHOD_LABEL, m);
const detail = (e: AuditEvent, key: string) => e.additionalDetails.find((d) => d.key === key)?.value;

function initiatorName(e: AuditEvent): string | null {
  return e.initiatedBy.user?.userPrincipalName ?? e.initiatedBy.app?.displayName ?? e.initiatedBy.app?.appId ?? null;
}

/** The report row an event stands for, or null (a step that is not an outcome). Role is filled in later. */
export function resetRowOf(e: AuditEvent): ResetActivityRow | null {
  const target = e.targetResources.find((t) => t.type === 'User');
  if (!target) return null;
  let result: ResetResult | undefined;
  let details = e.resultReason;
  let methods: SsprMethodName[] = [];
  if (e.activityDisplayName === ADMIN_RESET) {
    result = e.result === 'success' ? 'Succeeded' : 'Failed';
    const by = initiatorName(e) ?? 'an administrator';
    details = e.result === 'success' ? `Password reset by administrator ${by}` : `Password reset by administrator ${by} failed${e.resultReason ? `: ${e.resultReason}` : ''}`;
  } else if (e.activityDisplayName === PROGRESS) {
    const marked = detail(e, 'Result');
    result = marked === 'Contacted admin' ? 'Contacted Admin' : (RESET_RESULTS as readonly string[]).includes(marked ?? '') ? (marked as ResetResult) : undefined;
    if (marked === undefined) {
      const legacy = LEGACY_OUTCOMES.get(e.resultReason);
      // the generic block text is also a success step of the "Blocked from…" activity; the progress copy is the failure
      result = legacy === 'Failed' || legacy === 'Blocked' ? (e.result === 'failure' ? legacy : undefined) : legacy;
    }
    if (result === 'Blocked') details = BLOCK_DETAILS[detail(e, 'Limit') ?? ''] ?? e.resultReason;
    if (result === 'Contacted Admin') details = detail(e, 'Details') ?? e.resultReason;
    methods = (detail(e, 'Methods') ?? '').split(',').map((m) => m.trim()).filter(isMethod);
  }
  if (result === undefined) return null;
  return {
    id: e.id,
    flowId: detail(e, 'FlowId') ?? null,
    dateTime: e.activityDateTime,
    user: { id: target.id, userPrincipalName: target.userPrincipalName, displayName: target.displayName },
    role: 'User',
    methods,
    methodsUsed: methods.map((m) => RESET_METHOD_LABEL[m]),
    result,
    details,
    activity: e.activityDisplayName,
    initiatedBy: initiatorName(e),
  };
}

function plan(f: ResetActivityFilters) {
  const user = userMatch(f.user);
  const base = {
    ...dateBounds(f),
    loggedByService: ['Self-service Password Management'],
    activities: [PROGRESS, ADMIN_RESET],
    // progress events are mostly steps: only those with a Result detail (or an old outcome text) are read
    detailKeyOrReasons: { key: 'Result', reasons: [...LEGACY_OUTCOMES.keys()] },
    userText: user && { ...user, initiatorToo: false },
  };
  const keep = (row: ResetActivityRow | null): row is ResetActivityRow =>
    row !== null && (f.result === undefined || row.result === f.result) && (f.method === undefined || row.methods.includes(f.method)) && (user === undefined || matches(user, row));
  const toRow = (e: AuditEvent) => {
    const row = resetRowOf(e);
    return keep(row) ? row : null;
  };
  const fingerprint = fingerprintOf('passwordResetActivity', { from: f.from, to: f.to, user: f.user, result: f.result, method: f.method });
  return { base, toRow, fingerprint };
}

const matches = (m: UserMatch, row: ResetActivityRow) => sameUser(m, row.user);

async function withRoles(deps: ReportDeps, tenantId: string, rows: ResetActivityRow[]): Promise<ResetActivityRow[]> {
  const roles = await rolesOf(deps, tenantId, rows.map((r) => r.user.id));
  return rows.map((r) => ({ ...r, role: roles.get(r.user.id) ?? 'User' }));
}

export async function listPasswordResetActivity(
  deps: ReportDeps,
  tenantId: string,
  f: ResetActivityFilters,
  page: { cursor?: string | undefined; top: number },
): Promise<{ rows: ResetActivityRow[]; nextCursor: string | null }> {
  const { base, toRow, fingerprint } = plan(f);
  const scan = await scanPage(deps, tenantId, base, decodeCursor(page.cursor, fingerprint), page.top, toRow);
  return { rows: await withRoles(deps, tenantId, scan.rows), nextCursor: scan.next ? encodeCursor(scan.next, fingerprint) : null };
}

/** Every row of the report, a page at a time, for the CSV export. */
export function streamPasswordResetActivity(deps: ReportDeps, tenantId: string, f: ResetActivityFilters): AsyncIterable<ResetActivityRow[]> {
  const { base, toRow } = plan(f); // validates now, before a byte of the export is sent
  return (async function* () {
    for await (const rows of scanAll(deps, tenantId, base, toRow)) yield await withRoles(deps, tenantId, rows);
  })();
}
