import { hmac } from '../lib/crypto.js';
import type { Executor } from '../store/database.js';
import type { TenantSettings } from '../store/tenants.js';
import { setLockoutState, type LockoutState } from '../store/users.js';

/**
 * Smart lockout, Azure's way (reference/azure-password-management.md §7.4): `threshold` counted
 * failures lock the account for `durationSeconds`; once a lockout has happened, every further
 * counted failure (until a successful sign-in) locks again for twice as long, up to a cap. The
 * same wrong password tried again is not counted: the last three bad passwords are remembered as
 * keyed fingerprints (never the password, never a plain hash of it).
 *
 * Everything here is pure; the state lives in the users row (house rule 7), read and written by the
 * sign-in use case inside one transaction.
 */

export interface LockoutPolicy {
  readonly threshold: number;
  readonly durationSeconds: number;
  /** the growing duration stops here */
  readonly maxDurationSeconds: number;
}

export const MAX_LOCKOUT_SECONDS = 3600;
/** how many bad-password fingerprints are remembered */
export const REMEMBERED_BAD_PASSWORDS = 3;

export const CLEARED_LOCKOUT: LockoutState = Object.freeze({ failedSignInCount: 0, lockoutCount: 0, lockedUntil: null, recentBadHashes: [] as string[] });

export function lockoutPolicyOf(settings: TenantSettings): LockoutPolicy {
  return {
    threshold: Math.max(1, settings.lockoutThreshold),
    durationSeconds: Math.max(1, settings.lockoutDurationSeconds),
    maxDurationSeconds: Math.max(MAX_LOCKOUT_SECONDS, settings.lockoutDurationSeconds),
  };
}

export function isLocked(state: Pick<LockoutState, 'lockedUntil'>, now: Date): boolean {
  return state.lockedUntil !== null && Date.parse(state.lockedUntil) > now.getTime();
}

/** Duration of the lock that follows `lockoutCount` earlier locks: duration × 2^count, capped. */
export function lockDurationSeconds(policy: LockoutPolicy, lockoutCount: number): number {
  const factor = 2 ** Math.min(Math.max(0, lockoutCount), 30);
  return Math.min(policy.durationSeconds * factor, policy.maxDurationSeconds);
}

export interface FailureOutcome {
  readonly state: LockoutState;
  /** false when the failure was not counted (already locked, or a repeated bad password) */
  readonly counted: boolean;
  /** true when the account is locked after this failure */
  readonly locked: boolean;
}

/** The state after one wrong password whose fingerprint is `fingerprint`. */
export function applyFailure(state: LockoutState, fingerprint: string, policy: LockoutPolicy, now: Date): FailureOutcome {
  if (isLocked(state, now)) return { state, counted: false, locked: true };
  // A repeated wrong password is most likely the real user's typo, not a guess: never count it twice.
  if (state.recentBadHashes.includes(fingerprint)) return { state, counted: false, locked: false };

  const recentBadHashes = [...state.recentBadHashes, fingerprint].slice(-REMEMBERED_BAD_PASSWORDS);
  const failedSignInCount = state.failedSignInCount + 1;
  // After a lockout (and no successful sign-in since) one more failure locks again, for longer.
  if (state.lockoutCount > 0 || failedSignInCount >= policy.threshold) {
    const seconds = lockDurationSeconds(policy, state.lockoutCount);
    return {
      state: {
        failedSignInCount: 0,
        lockoutCount: state.lockoutCount + 1,
        lockedUntil: new Date(now.getTime() + seconds * 1000).toISOString(),
        recentBadHashes,
      },
      counted: true,
      locked: true,
    };
  }
  return { state: { ...state, failedSignInCount, recentBadHashes }, counted: true, locked: false };
}

/** true when a successful sign-in has something to clear */
export function needsReset(state: LockoutState): boolean {
  return state.failedSignInCount !== 0 || state.lockoutCount !== 0 || state.lockedUntil !== null || state.recentBadHashes.length > 0;
}

/**
 * The keyed fingerprint of a wrong password for one user. Keyed with a key derived from
 * POSTERN_SECRET_KEY (purpose 'lockout-fingerprint'), so a database dump alone gives no offline
 * guessing oracle; bound to the user id, so equal passwords of two users do not match.
 */
export function badPasswordFingerprint(key: Buffer, userId: string, password: string): string {
  return hmac(key, `${userId}\u0000${password}`);
}

/**
 * Clears the lockout state of a user (admin unlock, SSPR "forgot my password"). Takes the caller's
 * executor so the caller writes its audit event in the same transaction.
 */
export async function unlockUser(db: Executor, userId: string): Promise<void> {
  await setLockoutState(db, userId, CLEARED_LOCKOUT);
}
