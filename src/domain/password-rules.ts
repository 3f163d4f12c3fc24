import { AppError } from '../errors.js';
import { hasPasswordPolicy } from './password-expiry.js';
import type { Executor } from '../store/database.js';
import { appendPasswordHistory, listPasswordHistory } from '../store/password-history.js';
import { findTenantById, type Tenant } from '../store/tenants.js';
import type { User } from '../store/users.js';
import type { DomainDeps } from './deps.js';
import { checkPasswordPolicy, VIOLATION_MESSAGES, type PasswordPolicy, type PasswordViolation, type PolicyCheckOptions } from './password-policy.js';
import { passwordPolicyOf } from './policies.js';

/**
 * The one gate every path that sets a password goes through: the tenant's policy (pure engine),
 * then, for a change, no reuse of the current or recent passwords. Hashes are compared only after
 * every cheap rule has passed, so an oversized or banned password never costs an argon2 run.
 */

export type PasswordPurpose = 'create' | 'change' | 'reset' | 'temporary';

/** What the rules need of the password's owner; a User fits, and so does a user not yet created. */
export type PasswordOwner = Pick<User, 'givenName' | 'surname' | 'passwordPolicies'> & Partial<Pick<User, 'id' | 'passwordHash'>>;

export interface PasswordCheckInput {
  /** the tenant, or its id (then read from the database) */
  tenant: Tenant | string;
  user?: PasswordOwner | undefined;
  candidate: string;
  purpose: PasswordPurpose;
  /** on change: the current password the caller has just verified — compared as text, not hashed again */
  verifiedCurrentPassword?: string | undefined;
}

/**
 * Throws password.policy_violation (400) with `data.violations` when `candidate` may not be set;
 * returns the tenant's policy otherwise (callers need its historyCount to record the new hash).
 */
export async function assertPasswordAllowed(
  deps: Pick<DomainDeps, 'db' | 'hasher'>,
  input: PasswordCheckInput,
  options: PolicyCheckOptions = {},
): Promise<PasswordPolicy> {
  const tenant = typeof input.tenant === 'string' ? await findTenantById(deps.db, input.tenant) : input.tenant;
  if (!tenant) throw new AppError('tenant.not_found');
  const policy = passwordPolicyOf(tenant);
  const user = input.user;
  const violations = checkPasswordPolicy(
    policy,
    input.candidate,
    {
      givenName: user?.givenName,
      surname: user?.surname,
      tenantName: tenant.displayName,
      disableStrongPassword: hasPasswordPolicy(user?.passwordPolicies ?? null, 'DisableStrongPassword'),
      edition: tenant.edition,
    },
    options,
  );
  throwIfAny(violations);

  if (input.purpose === 'change' && user) {
    // Azure: the current password can't be reused on change (reset may reuse it: the resetter does not know it).
    const sameAsCurrent =
      input.verifiedCurrentPassword !== undefined
        ? input.verifiedCurrentPassword === input.candidate
        : Boolean(user.passwordHash) && (await deps.hasher.verify(user.passwordHash!, input.candidate));
    if (sameAsCurrent) {
      throwIfAny([{ code: 'sameAsCurrent', message: VIOLATION_MESSAGES.sameAsCurrent }]);
    }
    if (user.id !== undefined && policy.historyCount > 0) {
      for (const hash of await listPasswordHistory(deps.db, user.id, policy.historyCount)) {
        if (hash !== user.passwordHash && (await deps.hasher.verify(hash, input.candidate))) {
          throwIfAny([{ code: 'recentlyUsed', message: VIOLATION_MESSAGES.recentlyUsed }]);
        }
      }
    }
  }
  return policy;
}

/**
 * Records the hash of a password just set, in the transaction that sets it, keeping the newest
 * `keep` (the policy's historyCount; 0 keeps none — old hashes are not kept without a reason).
 */
export async function recordPasswordHistory(trx: Executor, userId: string, passwordHash: string, at: string, keep: number): Promise<void> {
  await appendPasswordHistory(trx, userId, passwordHash, at, Math.max(0, Math.min(24, keep)));
}

/** The violations a policy_violation error carries (for callers that audit the reason). */
export function violationsOf(err: unknown): PasswordViolation[] {
  if (!(err instanceof AppError) || err.code !== 'password.policy_violation') return [];
  const v = err.data?.violations;
  return Array.isArray(v) ? (v as PasswordViolation[]) : [];
}

export function policyViolationError(violations: readonly PasswordViolation[]): AppError {
  return new AppError('password.policy_violation', {
    message: violations.map((v) => v.message).join(' '),
    data: { violations: violations.map((v) => ({ code: v.code, message: v.message })) },
  });
}

function throwIfAny(violations: readonly PasswordViolation[]): void {
  if (violations.length > 0) throw policyViolationError(violations);
}

