import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { findLastConfirmedAt, findEmailMethod, listPhoneMethods, type EmailMethod, type PhoneMethod } from '../../store/auth-methods.js';
import type { Executor } from '../../store/database.js';
import { isTransitiveMemberOf } from '../../store/groups.js';
import { listRoleIdsOfPrincipal } from '../../store/role-assignments.js';
import { countSecurityAnswers } from '../../store/security-questions.js';
import { listRecoveryCodes, listSoftwareOathMethods, type SoftwareOathMethod } from '../../store/software-oath.js';
import { findTenantById, type Tenant } from '../../store/tenants.js';
import type { User } from '../../store/users.js';
import { isSsprAllowedForAdmins } from '../authorization-policy.js';
import { findRole } from '../roles.js';
import { ssprPolicyOf, type SsprMethod, type SsprPolicy } from '../sspr-policy.js';

/**
 * What a user has registered, what counts for self-service password reset under the tenant's policy,
 * and whether sign-in should ask them to register (SPEC 3.3; reference §1.3, §1.5, §1.9).
 */

/** The methods a user can prove at reset, one per kind (a phone used by SMS or call is one method). */
export type UsableMethod = 'email' | 'mobilePhone' | 'officePhone' | 'securityQuestions' | 'authenticatorApp';

export interface RegisteredMethods {
  email: EmailMethod | undefined;
  phones: PhoneMethod[];
  securityQuestions: number;
  /** confirmed enrolments only */
  authenticators: SoftwareOathMethod[];
  recoveryCodesRemaining: number;
  recoveryCodesTotal: number;
  lastConfirmedAt: string | null;
}

export async function loadRegisteredMethods(db: Executor, userId: string): Promise<RegisteredMethods> {
  const [email, phones, securityQuestions, oath, recovery, lastConfirmedAt] = await Promise.all([
    findEmailMethod(db, userId),
    listPhoneMethods(db, userId),
    countSecurityAnswers(db, userId),
    listSoftwareOathMethods(db, userId),
    listRecoveryCodes(db, userId),
    findLastConfirmedAt(db, userId),
  ]);
  return {
    email,
    phones,
    securityQuestions,
    authenticators: oath.filter((o) => o.confirmedAt !== null),
    recoveryCodesRemaining: recovery.filter((c) => c.usedAt === null).length,
    recoveryCodesTotal: recovery.length,
    lastConfirmedAt,
  };
}

/**
 * What self-service reset may use when the user registered nothing of a kind (reference F08/F09): an
 * admin- or sync-populated profile counts, as in Azure — the profile mobilePhone stands in for the
 * authentication mobile, the first otherMails address for the authentication email, and the first
 * businessPhones number for the office phone (which only admins set). Registered data always wins;
 * numbers that do not parse as international numbers are left out.
 */
export function withProfileContacts(m: RegisteredMethods, user: Pick<User, 'id' | 'mobilePhone' | 'otherMails' | 'businessPhones' | 'createdDateTime'>): RegisteredMethods {
  const e164 = (raw: string | null | undefined) => {
    const parsed = raw ? parsePhoneNumberFromString(raw.trim()) : undefined;
    return parsed?.isValid() ? parsed.number : undefined;
  };
  const at = user.createdDateTime;
  const phones = [...m.phones];
  const mobile = e164(user.mobilePhone);
  if (mobile && !phones.some((p) => p.phoneType === 'mobile')) phones.push({ userId: user.id, phoneType: 'mobile', number: mobile, verifiedAt: null, createdAt: at });
  const office = e164(user.businessPhones[0]);
  if (office && !phones.some((p) => p.phoneType === 'office')) phones.push({ userId: user.id, phoneType: 'office', number: office, verifiedAt: null, createdAt: at });
  const alternateEmail = user.otherMails[0];
  const email = m.email ?? (alternateEmail ? { userId: user.id, address: alternateEmail, verifiedAt: at, createdAt: at } : undefined);
  return { ...m, email, phones };
}

/**
 * Holders of an administrator role get Azure's fixed two-gate policy: two methods, never security
 * questions, whatever the tenant's policy says (reference §1.9 covers every *Administrator role).
 */
export function isAdministrator(roleIds: readonly string[]): boolean {
  return roleIds.some((id) => findRole(id)?.displayName.endsWith('Administrator') === true);
}

export interface EffectivePolicy {
  admin: boolean;
  methodsRequired: 1 | 2;
  /** SSPR method names the user may use */
  methods: SsprMethod[];
  securityQuestionsToRegister: number;
}

const ADMIN_METHODS: SsprMethod[] = ['email', 'mobileSms', 'mobileCall', 'officeCall', 'appCode', 'appNotification'];

export function effectivePolicy(policy: SsprPolicy, admin: boolean): EffectivePolicy {
  return admin
    ? { admin, methodsRequired: 2, methods: ADMIN_METHODS, securityQuestionsToRegister: 0 }
    : { admin, methodsRequired: policy.methodsRequired, methods: [...policy.methods], securityQuestionsToRegister: policy.securityQuestions.toRegister };
}

/** The registered methods that count under the policy. The alternate mobile is a backup phone, not an SSPR method. */
export function usableMethods(m: RegisteredMethods, p: EffectivePolicy): UsableMethod[] {
  const has = (...names: SsprMethod[]) => names.some((n) => p.methods.includes(n));
  const phone = (type: PhoneMethod['phoneType']) => m.phones.some((ph) => ph.phoneType === type);
  const out: UsableMethod[] = [];
  if (m.email && has('email')) out.push('email');
  if (phone('mobile') && has('mobileSms', 'mobileCall')) out.push('mobilePhone');
  if (phone('office') && has('officeCall')) out.push('officePhone');
  if (!p.admin && has('securityQuestions') && m.securityQuestions > 0 && m.securityQuestions >= p.securityQuestionsToRegister) out.push('securityQuestions');
  if (m.authenticators.length > 0 && has('appCode', 'appNotification')) out.push('authenticatorApp');
  return out;
}

/** Is SSPR on for this user: admins unless the authorization policy turns it off; others by edition, scope and group. */
export async function isSsprEnabledFor(db: Executor, tenant: Tenant, policy: SsprPolicy, userId: string, admin: boolean): Promise<boolean> {
  if (admin) return isSsprAllowedForAdmins(tenant);
  if (tenant.edition === 'free') return false;
  if (policy.enabledFor === 'all') return true;
  if (policy.enabledFor === 'none' || policy.groupId === null) return false;
  return isTransitiveMemberOf(db, tenant.id, policy.groupId.toLowerCase(), userId);
}

export interface RegistrationStatus {
  required: boolean;
  reason: 'notRegistered' | 'reconfirm' | null;
}

export interface SecurityInfoSnapshot {
  tenant: Tenant;
  policy: SsprPolicy;
  effective: EffectivePolicy;
  enabled: boolean;
  methods: RegisteredMethods;
  usable: UsableMethod[];
  status: RegistrationStatus;
}

/** Everything the GET view and the sign-in answer need, read in one place. */
export async function loadSnapshot(deps: { db: Executor; clock: { now(): Date } }, user: Pick<User, 'id' | 'tenantId'>): Promise<SecurityInfoSnapshot> {
  const tenant = await findTenantById(deps.db, user.tenantId);
  if (!tenant) throw new Error(`tenant ${user.tenantId} of user ${user.id} is missing`);
  const policy = ssprPolicyOf(tenant);
  const admin = isAdministrator(await listRoleIdsOfPrincipal(deps.db, user.tenantId, user.id));
  const effective = effectivePolicy(policy, admin);
  const enabled = await isSsprEnabledFor(deps.db, tenant, policy, user.id, admin);
  const methods = await loadRegisteredMethods(deps.db, user.id);
  const usable = usableMethods(methods, effective);
  return { tenant, policy, effective, enabled, methods, usable, status: statusOf(deps.clock.now(), policy, enabled, effective, usable, methods.lastConfirmedAt) };
}

function statusOf(now: Date, policy: SsprPolicy, enabled: boolean, p: EffectivePolicy, usable: UsableMethod[], lastConfirmedAt: string | null): RegistrationStatus {
  if (!policy.requireRegistrationOnSignIn || !enabled) return { required: false, reason: null };
  if (usable.length < p.methodsRequired) return { required: true, reason: 'notRegistered' };
  if (policy.reconfirmAfterDays > 0) {
    const due = lastConfirmedAt === null || Date.parse(lastConfirmedAt) + policy.reconfirmAfterDays * 86_400_000 <= now.getTime();
    if (due) return { required: true, reason: 'reconfirm' };
  }
  return { required: false, reason: null };
}

/**
 * Should sign-in tell the user to register (or reconfirm) their security info? The user may skip:
 * nothing is enforced beyond telling them, and they are asked again at the next sign-in.
 */
export async function registrationStatus(deps: { db: Executor; clock: { now(): Date } }, user: Pick<User, 'id' | 'tenantId'>): Promise<RegistrationStatus> {
  return (await loadSnapshot(deps, user)).status;
}
