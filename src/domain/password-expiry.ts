import type { Tenant } from '../store/tenants.js';
import { passwordPolicyOf } from './policies.js';
import type { User } from '../store/users.js';

/** The part of the tenant's password policy that decides expiry. */
export interface ExpiryPolicy {
  /** null: passwords never expire (Azure's default since 2021) */
  readonly expiresAfterDays: number | null;
  /** how many days before expiry users are told */
  readonly notificationWindowDays: number;
}

export interface PasswordExpiry {
  /** when the password expires; null when it never does */
  readonly expiresAt: Date | null;
  readonly expired: boolean;
  /** whole days left, rounded up (0 once expired); null when it never expires */
  readonly daysLeft: number | null;
  /** inside the notification window and not yet expired: tell the user */
  readonly warn: boolean;
}

const DAY = 86_400_000;

const NEVER: PasswordExpiry = Object.freeze({ expiresAt: null, expired: false, daysLeft: null, warn: false });

/**
 * When a user's password expires. `DisablePasswordExpiration` exempts the user; a password with no
 * recorded change date counts from the account's creation.
 */
export function passwordExpiry(
  user: Pick<User, 'passwordPolicies' | 'lastPasswordChangeDateTime' | 'createdDateTime'>,
  policy: ExpiryPolicy,
  now: Date,
): PasswordExpiry {
  if (policy.expiresAfterDays === null || hasPasswordPolicy(user.passwordPolicies, 'DisablePasswordExpiration')) return NEVER;
  const changedAt = Date.parse(user.lastPasswordChangeDateTime ?? user.createdDateTime);
  const expiresAt = new Date(changedAt + policy.expiresAfterDays * DAY);
  const msLeft = expiresAt.getTime() - now.getTime();
  const expired = msLeft <= 0;
  const daysLeft = expired ? 0 : Math.ceil(msLeft / DAY);
  return { expiresAt, expired, daysLeft, warn: !expired && daysLeft <= policy.notificationWindowDays };
}

/** Graph's passwordPolicies is a comma-separated list ("DisablePasswordExpiration, DisableStrongPassword"). */
export function hasPasswordPolicy(passwordPolicies: string | null, name: 'DisablePasswordExpiration' | 'DisableStrongPassword'): boolean {
  return (passwordPolicies ?? '')
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .includes(name.toLowerCase());
}

/** The tenant's expiry settings, from its password policy. */
export function expiryPolicyOf(tenant: Pick<Tenant, 'settings'>): ExpiryPolicy {
  const { expiresAfterDays, notificationWindowDays } = passwordPolicyOf(tenant);
  return { expiresAfterDays, notificationWindowDays };
}
