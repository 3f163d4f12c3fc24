import { AppError } from '../errors.js';
import { lockAuditChain } from '../store/audit-events.js';
import { findTenantById, updateTenantSettings, type Tenant, type TenantSettings } from '../store/tenants.js';
import { modified, recordAudit, type RequestContext } from './audit.js';
import type { DomainDeps } from './deps.js';
import { DEFAULT_PASSWORD_POLICY, PROFILE_MIN_LENGTH, type PasswordPolicy } from './password-policy.js';

/**
 * The tenant's password policy (SPEC 4.5). It lives in the tenant's settings JSON under the same
 * flat keys as the API (lockoutThreshold and lockoutDurationSeconds were already there and the
 * lockout code reads them; expiry reads expiresAfterDays and notificationWindowDays), so every
 * reader sees one source. Missing keys read as the defaults, so tenants created before a key
 * existed need no migration.
 */

export type PasswordPolicyPatch = Partial<{ -readonly [K in keyof PasswordPolicy]: PasswordPolicy[K] }>;

const KEYS = Object.keys(DEFAULT_PASSWORD_POLICY) as (keyof PasswordPolicy)[];

/** The policy stored in the tenant's settings, each key type-checked and defaulted. */
export function passwordPolicyOf(tenant: Pick<Tenant, 'settings'>): PasswordPolicy {
  const s = tenant.settings as TenantSettings & Record<string, unknown>;
  const int = (key: keyof PasswordPolicy, fallback: number): number => {
    const v = s[key];
    return typeof v === 'number' && Number.isInteger(v) ? v : fallback;
  };
  const d = DEFAULT_PASSWORD_POLICY;
  const isIntArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x));
  const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  return {
    profile: s.profile === 'nist' ? 'nist' : 'azure',
    minLength: int('minLength', d.minLength),
    maxLength: int('maxLength', d.maxLength),
    expiresAfterDays: typeof s.expiresAfterDays === 'number' && Number.isInteger(s.expiresAfterDays) ? s.expiresAfterDays : d.expiresAfterDays,
    notificationWindowDays: int('notificationWindowDays', d.notificationWindowDays),
    historyCount: int('historyCount', d.historyCount),
    customBannedPasswords: isStringArray(s.customBannedPasswords) ? s.customBannedPasswords : [...d.customBannedPasswords],
    enforceCustomBannedPasswords: s.enforceCustomBannedPasswords === true,
    lockoutThreshold: int('lockoutThreshold', d.lockoutThreshold),
    lockoutDurationSeconds: int('lockoutDurationSeconds', d.lockoutDurationSeconds),
    expiryReminderDays: isIntArray(s.expiryReminderDays) ? s.expiryReminderDays : [...d.expiryReminderDays],
  };
}

export async function getPasswordPolicy(deps: Pick<DomainDeps, 'db'>, tenantId: string): Promise<PasswordPolicy> {
  const tenant = await findTenantById(deps.db, tenantId);
  if (!tenant) throw new AppError('tenant.not_found');
  return passwordPolicyOf(tenant);
}

/**
 * PATCH /api/v1/policies/password: merges `patch` into the stored policy, checks the rules that
 * span fields on the merged result, and writes the settings with one "Update password policy"
 * event naming the old and new value of each changed field. A patch that changes nothing writes
 * nothing and records nothing.
 */
export async function updatePasswordPolicy(deps: DomainDeps, ctx: RequestContext, tenantId: string, patch: PasswordPolicyPatch): Promise<PasswordPolicy> {
  return deps.db.transaction().execute(async (trx) => {
    // The audit-chain lock serialises every audited write of the tenant, so two PATCHes (or a PATCH
    // and another feature's settings write) cannot read the same settings and lose each other's keys.
    await lockAuditChain(trx, tenantId);
    const tenant = await findTenantById(trx, tenantId);
    if (!tenant) throw new AppError('tenant.not_found');
    const before = passwordPolicyOf(tenant);
    const after: PasswordPolicy = { ...before, ...definedOnly(patch) };
    assertConsistent(after, tenant);

    const changed = KEYS.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    if (changed.length === 0) return before;
    await updateTenantSettings(trx, tenantId, { ...(tenant.settings as TenantSettings & Record<string, unknown>), ...after });
    await recordAudit(deps, trx, ctx, {
      tenantId,
      activity: 'Update password policy',
      category: 'Policy',
      loggedByService: 'Core Directory',
      operationType: 'Update',
      targets: [
        {
          id: tenantId,
          displayName: 'Password policy',
          type: 'Policy',
          userPrincipalName: null,
          modifiedProperties: changed.map((k) => modified(k, before[k], after[k])),
        },
      ],
    });
    return after;
  });
}

function definedOnly(patch: PasswordPolicyPatch): PasswordPolicyPatch {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
}

/** Rules between fields, checked on the merged policy so a PATCH of one field cannot break another. */
function assertConsistent(p: PasswordPolicy, tenant: Tenant): void {
  const invalid = (field: keyof PasswordPolicy, why: string): AppError =>
    new AppError('request.invalid', { message: `Invalid value for '${field}': ${why}.`, data: { field } });
  const floor = PROFILE_MIN_LENGTH[p.profile];
  if (p.minLength < floor) {
    throw invalid('minLength', `the ${p.profile} profile needs a minimum length of at least ${floor} (it is ${p.minLength}; send a larger minLength with the profile)`);
  }
  if (p.maxLength < p.minLength) throw invalid('maxLength', `must be at least minLength (${p.minLength})`);
  if (p.expiresAfterDays !== null && p.notificationWindowDays > p.expiresAfterDays) {
    throw invalid('notificationWindowDays', `must not be longer than expiresAfterDays (${p.expiresAfterDays})`);
  }
  if (p.enforceCustomBannedPasswords && tenant.edition !== 'premium') {
    throw new AppError('policy.premium_required', {
      message: `Invalid value for 'enforceCustomBannedPasswords': enforcing the custom banned password list needs the premium edition (this tenant is ${tenant.edition}).`,
      data: { field: 'enforceCustomBannedPasswords', edition: tenant.edition },
    });
  }
}
