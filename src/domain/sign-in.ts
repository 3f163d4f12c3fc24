import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import type { SecretBox } from '../lib/crypto.js';
import type { Executor } from '../store/database.js';
import { readLockoutState, readLockoutStateForUpdate, type LockoutRow } from '../store/lockout.js';
import { findTenantById, type Tenant } from '../store/tenants.js';
import { findUserByUpn, setLockoutState, setPasswordHash, type User } from '../store/users.js';
import type { DomainDeps } from './deps.js';
import type { Hasher } from './hasher.js';
import { applyFailure, badPasswordFingerprint, CLEARED_LOCKOUT, isLocked, lockoutPolicyOf, needsReset } from './lockout.js';
import { expiryPolicyOf, passwordExpiry, type PasswordExpiry } from './password-expiry.js';
import { MAX_PASSWORD_CODE_POINTS } from './password-policy.js';
import { writeback as noWriteback, type WritebackSeam } from './sspr/writeback.js';

export interface SignInDeps extends DomainDeps {
  readonly secretBox: Pick<SecretBox, 'derive'>;
  /** pass-through authentication: the agent checks the password against the directory (services.writeback) */
  readonly writeback?: Pick<WritebackSeam, 'verifyPassword'>;
}

export interface SignInInput {
  userPrincipalName: string;
  password: string;
  /** when set (the OAuth endpoint of one tenant), users of other tenants fail like unknown users */
  tenantId?: string | undefined;
  /**
   * The tenant as the caller read it for this request (the OAuth endpoint resolves it from the
   * path): its settings (lockout, password expiry) are used for a user of that tenant instead of
   * reading the row a second time.
   */
  tenant?: Tenant | undefined;
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
 * Verifies a UPN and password. Every path spends at least one argon2 verification (against the user's
 * hash, or a decoy hash with the same parameters), so response time does not tell unknown, locked
 * or disabled users from wrong passwords. Lockout state is read and written in the users row.
 *
 * Synced users (SPEC 3.6): a hashSync user's stored hash is the one imported from the directory
 * ({SSHA}, {CRYPT}…, verified by the Hasher); a passThrough user's password is checked by an agent
 * against the directory. A wrong password counts toward lockout either way; an agent that cannot be
 * reached is auth.onprem_unreachable, never "wrong password".
 */
export async function signInWithPassword(deps: SignInDeps, input: SignInInput): Promise<SignInResult> {
  // Nothing longer than any policy allows can be right; do not hand 64 KiB to argon2 either.
  const tooLong = input.password.length > MAX_PASSWORD_CODE_POINTS * 2 || [...input.password].length > MAX_PASSWORD_CODE_POINTS;
  const candidate = tooLong ? '' : input.password;

  let user = input.userPrincipalName.length <= 256 ? await findUserByUpn(deps.db, input.userPrincipalName) : undefined;
  if (user && input.tenantId !== undefined && user.tenantId !== input.tenantId) user = undefined;
  const passThrough = user?.passwordSource === 'passThrough';
  if (!user || (!passThrough && !user.passwordHash)) {
    await deps.hasher.verify(await decoyHash(deps.hasher), candidate);
    return { ok: false, reason: 'invalid_credentials' };
  }

  const now = deps.clock.now();
  if (isLocked(user, now)) {
    // Locked: do not count, do not even look at the password, but cost the same.
    await deps.hasher.verify(await decoyHash(deps.hasher), candidate);
    return { ok: false, reason: 'locked' };
  }

  const check = passThrough ? await verifyOnPremises(deps, user, candidate, tooLong) : await verifyStored(deps.hasher, user.passwordHash!, candidate);
  if (check === 'locked' || check === 'disabled') return { ok: false, reason: check };
  if (check === 'unknown') return { ok: false, reason: 'invalid_credentials' };
  if (!check || tooLong) return recordFailure(deps, user, input.password, now, input.tenant);

  const signedIn = user;
  const rehash = signedIn.passwordSource === 'cloud' && deps.hasher.needsRehash(signedIn.passwordHash!) ? await deps.hasher.hash(input.password) : undefined;
  const tenant = await tenantOf(deps, signedIn, input.tenant);
  if (!tenant) return { ok: false, reason: 'invalid_credentials' };
  const expiryPolicy = expiryPolicyOf(tenant);
  const settle = async (db: Executor, state: LockoutRow): Promise<SignInResult> => {
    // A concurrent attempt may have locked the account while we were hashing.
    if (isLocked(state, now)) return { ok: false, reason: 'locked' };
    if (rehash !== undefined) await setPasswordHash(db, signedIn.id, { passwordHash: rehash, changedAt: null });
    if (needsReset(state)) await setLockoutState(db, signedIn.id, CLEARED_LOCKOUT);
    // Checked after the password, like Azure: only someone who knows it learns the account is disabled.
    if (!state.accountEnabled) return { ok: false, reason: 'disabled' };
    const user = { ...signedIn, ...CLEARED_LOCKOUT, passwordHash: rehash ?? signedIn.passwordHash };
    const expiry = passwordExpiry(user, expiryPolicy, now);
    if (mustChangePassword(user) || expiry.expired) return { ok: false, reason: 'password_expired', user };
    return { ok: true, user, expiry };
  };
  // Most sign-ins have nothing to write (no failures to clear, no rehash): a plain read decides them,
  // without a transaction or PostgreSQL's row lock (which writes WAL). Otherwise the row is locked
  // and read again, and the write and the decision are one transaction.
  const current = await readLockoutState(deps.db, signedIn.id);
  if (!current) return { ok: false, reason: 'invalid_credentials' };
  if (rehash === undefined && !needsReset(current)) return settle(deps.db, current);
  return deps.db.transaction().execute(async (trx): Promise<SignInResult> => {
    const state = await readLockoutStateForUpdate(trx, signedIn.id);
    if (!state) return { ok: false, reason: 'invalid_credentials' };
    return settle(trx, state);
  });
}

/** An admin or a reset asked for a new password at next sign-in (expiry is checked beside it). */
export function mustChangePassword(user: Pick<User, 'forceChangePasswordNextSignIn' | 'forceChangePasswordNextSignInWithMfa'>): boolean {
  return user.forceChangePasswordNextSignIn || user.forceChangePasswordNextSignInWithMfa;
}

/** The user's tenant: the caller's copy when it is that tenant, else read. */
async function tenantOf(deps: SignInDeps, user: User, known: Tenant | undefined): Promise<Tenant | undefined> {
  return known !== undefined && known.id === user.tenantId ? known : findTenantById(deps.db, user.tenantId);
}

async function recordFailure(deps: SignInDeps, user: User, password: string, now: Date, known: Tenant | undefined): Promise<SignInResult> {
  const tenant = await tenantOf(deps, user, known);
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
 * An imported hash of a cheap scheme ({SSHA} takes microseconds) is paired with a decoy argon2
 * verification, so a hash-synced account costs what any other does.
 */
async function verifyStored(hasher: Hasher, encoded: string, candidate: string): Promise<boolean> {
  if (!encoded.startsWith('{') || /^\{ARGON2\}/i.test(encoded)) return hasher.verify(encoded, candidate);
  const [verified] = await Promise.all([hasher.verify(encoded, candidate), decoyHash(hasher).then((d) => hasher.verify(d, candidate))]);
  return verified;
}

/**
 * Pass-through: the agent binds as the user (verifyPassword job). A decoy argon2 verification runs
 * beside it, so the answer never comes faster than a cloud user's. The directory's "locked out" and
 * "disabled" (AD says so only after the right password) are answered as such; "not found" like an
 * unknown user, uncounted; anything else (no agent, no answer, the agent lacks rights) is an error
 * that says the directory could not be asked.
 */
async function verifyOnPremises(deps: SignInDeps, user: User, candidate: string, tooLong: boolean): Promise<boolean | 'locked' | 'disabled' | 'unknown'> {
  const decoy = decoyHash(deps.hasher).then((d) => deps.hasher.verify(d, candidate));
  if (tooLong || candidate.length === 0) {
    await decoy;
    return false;
  }
  const seam = deps.writeback ?? noWriteback;
  const [outcome] = await Promise.all([
    seam.verifyPassword({ tenantId: user.tenantId, userId: user.id, password: candidate }).then(
      (ok) => ({ ok }),
      (err: unknown) => ({ err }),
    ),
    decoy,
  ]);
  if ('ok' in outcome) return outcome.ok;
  const reason = outcome.err instanceof AppError && outcome.err.code === 'writeback.refused' ? outcome.err.data?.reason : undefined;
  if (reason === 'wrongPassword') return false;
  if (reason === 'lockedOut') return 'locked';
  if (reason === 'accountDisabled') return 'disabled';
  if (reason === 'notFound') return 'unknown';
  throw new AppError('auth.onprem_unreachable', { cause: outcome.err, data: { reason: typeof reason === 'string' ? reason : 'unreachable' } });
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
