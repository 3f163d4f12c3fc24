import type { EmailMethod, PhoneMethod, PhoneType } from './auth-methods.js';
import type { Executor } from './database.js';
import type { SoftwareOathMethod } from './software-oath.js';

/**
 * Batched reads for the registration report: everything about a page of users in a handful of
 * queries, whatever the page size (no query per user). Callers pass ids of one tenant's users;
 * the auth-method tables are keyed by user id alone, so isolation comes from those ids.
 */

export interface RegisteredMethodRows {
  email: EmailMethod | undefined;
  phones: PhoneMethod[];
  securityQuestions: number;
  /** confirmed enrolments only */
  authenticators: SoftwareOathMethod[];
  recoveryCodesRemaining: number;
  recoveryCodesTotal: number;
  lastConfirmedAt: string | null;
}

const PHONE_ORDER: PhoneType[] = ['mobile', 'alternateMobile', 'office'];

/** The registered methods of each user, keyed by id (users with nothing get an empty entry). */
export async function loadRegisteredMethodsOf(db: Executor, userIds: readonly string[]): Promise<Map<string, RegisteredMethodRows>> {
  const out = new Map<string, RegisteredMethodRows>();
  for (const id of userIds) {
    out.set(id, { email: undefined, phones: [], securityQuestions: 0, authenticators: [], recoveryCodesRemaining: 0, recoveryCodesTotal: 0, lastConfirmedAt: null });
  }
  if (userIds.length === 0) return out;
  const ids = [...userIds];
  const [emails, phones, answers, oath, recovery, state] = await Promise.all([
    db.selectFrom('auth_email_methods').selectAll().where('user_id', 'in', ids).execute(),
    db.selectFrom('auth_phone_methods').selectAll().where('user_id', 'in', ids).execute(),
    db
      .selectFrom('auth_security_answers')
      .select((eb) => ['user_id', eb.fn.countAll<string | number>().as('n')])
      .where('user_id', 'in', ids)
      .groupBy('user_id')
      .execute(),
    db.selectFrom('auth_software_oath_methods').selectAll().where('user_id', 'in', ids).where('confirmed_at', 'is not', null).orderBy('created_at').execute(),
    db.selectFrom('auth_recovery_codes').select(['user_id', 'used_at']).where('user_id', 'in', ids).execute(),
    db.selectFrom('security_info_state').selectAll().where('user_id', 'in', ids).execute(),
  ]);
  const of = (id: string) => out.get(id);
  for (const r of emails) {
    const m = of(r.user_id);
    if (m) m.email = { userId: r.user_id, address: r.address, verifiedAt: r.verified_at, createdAt: r.created_at };
  }
  for (const r of phones) {
    of(r.user_id)?.phones.push({ userId: r.user_id, phoneType: r.phone_type, number: r.number, verifiedAt: r.verified_at, createdAt: r.created_at });
  }
  for (const m of out.values()) m.phones.sort((a, b) => PHONE_ORDER.indexOf(a.phoneType) - PHONE_ORDER.indexOf(b.phoneType));
  for (const r of answers) {
    const m = of(r.user_id);
    if (m) m.securityQuestions = Number(r.n);
  }
  for (const r of oath) {
    of(r.user_id)?.authenticators.push({
      id: r.id,
      userId: r.user_id,
      secretSealed: r.secret_sealed,
      confirmedAt: r.confirmed_at,
      lastUsedStep: Number(r.last_used_step),
      createdAt: r.created_at,
    });
  }
  for (const r of recovery) {
    const m = of(r.user_id);
    if (!m) continue;
    m.recoveryCodesTotal += 1;
    if (r.used_at === null) m.recoveryCodesRemaining += 1;
  }
  for (const r of state) {
    const m = of(r.user_id);
    if (m) m.lastConfirmedAt = r.last_confirmed_at;
  }
  return out;
}

/**
 * The role template ids each user holds in the tenant, directly or as a direct member of a
 * role-assignable group the role is assigned to (such groups do not nest): one query for the page.
 */
export async function listRoleIdsOfPrincipals(db: Executor, tenantId: string, principalIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(principalIds.map((id) => [id, []]));
  if (principalIds.length === 0) return out;
  const ids = [...principalIds];
  const direct = db
    .selectFrom('role_assignments')
    .select(['principal_id as user_id', 'role_definition_id'])
    .where('tenant_id', '=', tenantId)
    .where('principal_id', 'in', ids);
  const viaGroups = db
    .selectFrom('group_members')
    .innerJoin('groups', (j) => j.onRef('groups.id', '=', 'group_members.group_id').onRef('groups.tenant_id', '=', 'group_members.tenant_id'))
    .innerJoin('role_assignments', (j) => j.onRef('role_assignments.principal_id', '=', 'groups.id').onRef('role_assignments.tenant_id', '=', 'groups.tenant_id'))
    .select(['group_members.member_id as user_id', 'role_assignments.role_definition_id'])
    .where('group_members.tenant_id', '=', tenantId)
    .where('group_members.member_id', 'in', ids)
    .where('groups.is_assignable_to_role', '=', 1);
  const rows = await direct.union(viaGroups).execute();
  for (const r of rows) {
    const list = out.get(r.user_id);
    if (list && !list.includes(r.role_definition_id)) list.push(r.role_definition_id);
  }
  return out;
}
