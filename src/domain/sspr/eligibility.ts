import { AppError, type ErrorCode } from '../../errors.js';
import type { Executor } from '../../store/database.js';
import { isTransitiveMemberOf } from '../../store/groups.js';
import type { Tenant } from '../../store/tenants.js';
import { isOnPremises, type User } from '../../store/users.js';
import { isSsprAllowedForAdmins } from '../authorization-policy.js';
import { effectivePolicy, usableMethods, type EffectivePolicy, type RegisteredMethods } from '../security-info/status.js';
import type { SsprPolicy } from '../sspr-policy.js';
import { STEP } from './audit.js';

/**
 * The eligibility checks of reference §2.2 step 3, in Azure's order: enabled (SSPR_0009), a policy
 * (0011), in the scoped group (0013); licensed (0012); enough methods on file (0014); where the
 * password lives — on-premises needs writeback (0010). Administrators follow the fixed two-gate
 * policy and the authorizationPolicy switch instead of the tenant's scope (reference §1.9, §1.10:
 * admins may reset on every edition).
 */
export interface Refusal {
  code: ErrorCode;
  ssprCode: string;
  step: string;
}

const refuse = (code: ErrorCode, ssprCode: string, step: string): Refusal => ({ code, ssprCode, step });

/** Checks that depend on the tenant only; decoy flows of a known tenant pass through them too. */
export function tenantRefusal(tenant: Tenant, policy: SsprPolicy, admin: boolean): Refusal | null {
  if (admin) return isSsprAllowedForAdmins(tenant) ? null : refuse('sspr.disabled', 'SSPR_0009', STEP.notEnabled);
  if (policy.enabledFor === 'none') return refuse('sspr.disabled', 'SSPR_0009', STEP.notEnabled);
  if (policy.enabledFor === 'selected' && policy.groupId === null) return refuse('sspr.no_policy', 'SSPR_0011', STEP.notInScope);
  return null;
}

export async function userRefusal(
  db: Executor,
  tenant: Tenant,
  policy: SsprPolicy,
  user: User,
  admin: boolean,
  methods: RegisteredMethods,
): Promise<{ refusal: Refusal | null; effective: EffectivePolicy }> {
  const effective = effectivePolicy(policy, admin);
  const done = (refusal: Refusal | null) => ({ refusal, effective });
  const t = tenantRefusal(tenant, policy, admin);
  if (t) return done(t);
  if (!admin && policy.enabledFor === 'selected' && !(await isTransitiveMemberOf(db, tenant.id, policy.groupId!.toLowerCase(), user.id))) {
    return done(refuse('sspr.not_in_group', 'SSPR_0013', STEP.notInGroup));
  }
  const onPremises = isOnPremises(user);
  // Cloud-only users need basic; users whose password lives on-premises need premium (SPEC 2).
  if (!admin && (tenant.edition === 'free' || (onPremises && tenant.edition !== 'premium'))) return done(refuse('sspr.not_licensed', 'SSPR_0012', STEP.notLicensed));
  if (usableMethods(methods, effective).length < effective.methodsRequired) return done(refuse('sspr.not_enough_methods', 'SSPR_0014', STEP.notEnoughMethods));
  if (onPremises && !policy.writebackEnabled) return done(refuse('sspr.writeback_off', 'SSPR_0010', STEP.writebackOff));
  return done(null);
}

export function refusalError(r: Refusal): AppError {
  return new AppError(r.code, { data: { ssprCode: r.ssprCode } });
}
