import { randomUUID } from 'node:crypto';
import type { SecretBox } from '../lib/crypto.js';
import { readLockoutStateForUpdate } from '../store/lockout.js';
import { findTenantById } from '../store/tenants.js';
import { findUserByUpn, setLockoutState, setPasswordHash, type User } from '../store/users.js';
import type { DomainDeps } from './deps.js';
import type { Hasher } from './hasher.js';
import { applyFailure, badPasswordFingerprint, CLEARED_LOCKOUT, isLocked, lockoutPolicyOf, needsReset } from './lockout.js';
import { expiryPolicyOf, passwordExpiry, type PasswordExpiry } from './password-expiry.js';
import { MAX_PASSWORD_CODE_POINTS } from './password-policy.js';

export interface SignInDeps extends DomainDeps {
  readonly secretBox: Pick<SecretBox, 'derive'>;
}

export interface SignInInput {
  userPrincipalName: string;
  password: string;
  /** when set (the OAuth endpoint of one tenant), users of other tenants fail like unknown users */
  tenantId?: string | undefined;
}

/**
 * Why a sign-in did not complete. `invalid_credentials` covers unknown users, users of another
 * tenant and wrong passwords alike. `disabled` and `password_expired` are only ever answered after
 * the right password, so they reveal nothing to a guesser.
 */
export type SignInFailure = 'invalid_credentials' | 'locked' | 'disabled' | 'password_expired';

export type SignInResult =
  | { readonly ok: true; readonly user: User; readonly expiry: PasswordExpiry }
  /** the password was right but must be changed first: only the change step (old + new) may go on */
  | { readonly ok: false; readonly reason: 'password_expired'; readonly user: User }
  | { readonly ok: false; readonly reason: Exclude<SignInFailure, 'password_expired'> };

/**
 * Verifies a UPN and password. Every path spends exactly one argon2 verification (against the user's
 * hash, or a decoy hash with the same parameters), so response time does not tell unknown, locked
 * or disabled users from wrong passwords. Lockout state is read and written in the users row.
 */
export async function signInWithPassword(deps: SignInDeps, input: SignInInput): Promise<SignInResult> {
  // Nothing longer than any policy allows can be right; do not hand 64 KiB to argon2 either.
  const tooLong = input.password.length > MAX_PASSWORD_CODE_POINTS * 2 || [...input.password].length > MAX_PASSWORD_CODE_POINTS;
  const candidate = tooLong ? '' : input.password;

  let user = input.userPrincipalName.length <= 256 ? await findUserByUpn(deps.db, input.userPrincipalName) : undefined;
  if (user && input.tenantId !== undefined && user.tenantId !== input.tenantId) user = undefined;
  if (!user?.passwordHash) {
    await deps.hasher.verify(await decoyHash(deps.hasher), candidate);
    return { ok: false, reason: 'invalid_credentials' };
  }

  const now = deps.clock.now();
  if (isLocked(user, now)) {
    // Locked: do not count, do not even look at the password, but cost the same.
    await deps.hasher.verify(await decoyHash(deps.hasher), candidate);
    return { ok: false, reason: 'locked' };
  }

  const verified = (await deps.hasher.verify(user.passwordHash, candidate)) && !tooLong;
  if (!verified) return recordFailure(deps, user, input.password, now);

  const signedIn = user;
  const rehash = deps.hasher.needsRehash(signedIn.passwordHash!) ? await deps.hasher.hash(input.password) : undefined;
  const tenant = await findTenantById(deps.db, signedIn.tenantId);
  if (!tenant) return { ok: false, reason: 'invalid_credentials' };
  const expiryPolicy = expiryPolicyOf(tenant);
  const outcome = await deps.db.transaction().execute(async (trx): Promise<SignInResult> => {
    const state = await readLockoutStateForUpdate(trx, signedIn.id);
    if (!state) return { ok: false, reason: 'invalid_credentials' };
    // A concurrent attempt may have locked the account while we were hashing.
    if (isLocked(state, now)) return { ok: false, reason: 'locked' };
    if (rehash !== undefined) await setPasswordHash(trx, signedIn.id, { passwordHash: rehash, changedAt: null });
    if (needsReset(state)) await setLockoutState(trx, signedIn.id, CLEARED_LOCKOUT);
    // Checked after the password, like Azure: only someone who knows it learns the account is disabled.
    if (!state.accountEnabled) return { ok: false, reason: 'disabled' };
    const user = { ...signedIn, ...CLEARED_LOCKOUT, passwordHash: rehash ?? signedIn.passwordHash };
    const expiry = passwordExpiry(user, expiryPolicy, now);
    if (mustChangePassword(user) || expiry.expired) return { ok: false, reason: 'password_expired', user };
    return { ok: true, user, expiry };
  });
  return outcome;
}

/** An admin or a reset asked for a new password at next sign-in (expiry is checked beside it). */
export function mustChangePassword(user: Pick<User, 'forceChangePasswordNextSignIn' | 'forceChangePasswordNextSignInWithMfa'>): boolean {
  return user.forceChangePasswordNextSignIn || user.forceChangePasswordNextSignInWithMfa;
}

async function recordFailure(deps: SignInDeps, user: User, password: string, now: Date): Promise<SignInResult> {
  const tenant = await findTenantById(deps.db, user.tenantId);
  if (!tenant) return { ok: false, reason: 'invalid_credentials' };
  const policy = lockoutPolicyOf(tenant.settings);
  const fingerprint = badPasswordFingerprint(deps.secretBox.derive('lockout-fingerprint'), user.id, password);
  return deps.db.transaction().execute(async (trx): Promise<SignInResult> => {
    const state = await readLockoutStateForUpdate(trx, user.id);
    if (!state) return { ok: false, reason: 'invalid_credentials' };
    const outcome = applyFailure(state, fingerprint, policy, now);
    if (outcome.counted) await setLockoutState(trx, user.id, outcome.state);
    return { ok: false, reason: outcome.locked ? 'locked' : 'invalid_credentials' };
  });
}

/**
 * One decoy hash per hasher, made from a random password with the hasher's own parameters, so a
 * verification against it costs what a real one costs. Never matches anything anyone types.
 */
const decoys = new WeakMap<Hasher, Promise<string>>();

function decoyHash(hasher: Hasher): Promise<string> {
  let decoy = decoys.get(hasher);
  if (!decoy) {
    decoy = hasher.hash(`decoy:${randomUUID()}:${randomUUID()}`);
    decoys.set(hasher, decoy);
  }
  return decoy;
}
