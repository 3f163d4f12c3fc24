import { AppError } from '../errors.js';
import { sha256 } from '../lib/crypto.js';
import { revokeRefreshTokensOfUser } from '../store/refresh-tokens.js';
import { deleteOtherSessionsOfUser } from '../store/sessions.js';
import { findTenantById, type Tenant } from '../store/tenants.js';
import { findUserById, findUserByUpn, setPasswordHash, updateUser, type User } from '../store/users.js';
import { recordAudit, type AuditTarget, type RequestContext } from './audit.js';
import { countCodePoints, MAX_PASSWORD_CODE_POINTS } from './password-policy.js';
import { assertPasswordAcceptable } from './users.js';
import { signInWithPassword, type SignInDeps } from './sign-in.js';

export interface ChangePasswordInput {
  tenantId: string;
  userId: string;
  currentPassword: string;
  newPassword: string;
  /** the web session the user is changing from: it stays signed in, every other session ends */
  keepSessionToken?: string | undefined;
}

/**
 * A user changes their own password (Graph `me/changePassword`, the change page, and the forced
 * change step of sign-in). The current password is verified like a sign-in — a wrong one counts
 * towards smart lockout — and the new one must pass the policy. On success the password, the
 * cleared must-change flags, the revocation of the user's other sessions and refresh tokens, and the
 * "Change password (self-service)" event are written together. A refusal is audited too, with its reason.
 */
export async function changeOwnPassword(deps: SignInDeps, ctx: RequestContext, input: ChangePasswordInput): Promise<User> {
  // Cheap first: an oversized new password is refused before any hashing, even of the current one.
  if (input.newPassword.length > MAX_PASSWORD_CODE_POINTS * 2 || countCodePoints(input.newPassword) > MAX_PASSWORD_CODE_POINTS) {
    assertPasswordAcceptable(input.newPassword);
  }
  const found = await findUserById(deps.db, input.tenantId, input.userId);
  const tenant = await findTenantById(deps.db, input.tenantId);
  if (!found || !tenant) throw new AppError('user.not_found');

  const verified = await signInWithPassword(deps, { userPrincipalName: found.userPrincipalName, password: input.currentPassword, tenantId: tenant.id });
  if (!verified.ok && verified.reason !== 'password_expired') {
    await auditFailure(deps, ctx, tenant, found, verified.reason === 'invalid_credentials' ? 'InvalidCurrentPassword' : verified.reason);
    if (verified.reason === 'locked') throw new AppError('auth.account_locked');
    if (verified.reason === 'disabled') throw new AppError('auth.account_disabled');
    throw new AppError('password.current_invalid');
  }
  const user = verified.user;

  try {
    assertPasswordAcceptable(input.newPassword);
  } catch (err) {
    if (err instanceof AppError) await auditFailure(deps, ctx, tenant, user, 'PasswordPolicyViolation');
    throw err;
  }
  if (await deps.hasher.verify(user.passwordHash ?? '', input.newPassword)) {
    await auditFailure(deps, ctx, tenant, user, 'PasswordSameAsCurrent');
    throw new AppError('password.policy_violation', {
      message: 'Your new password must be different from your current password.',
      data: { violations: [{ code: 'sameAsCurrent', message: 'Your new password must be different from your current password.' }] },
    });
  }

  const passwordHash = await deps.hasher.hash(input.newPassword);
  const now = deps.clock.now().toISOString();
  await deps.db.transaction().execute(async (trx) => {
    await setPasswordHash(trx, user.id, { passwordHash, changedAt: now, forceChange: false });
    await updateUser(trx, user.tenantId, user.id, { forceChangePasswordNextSignInWithMfa: false }, now);
    await deleteOtherSessionsOfUser(trx, user.id, input.keepSessionToken === undefined ? undefined : sha256(input.keepSessionToken));
    await revokeRefreshTokensOfUser(trx, user.id, now);
    await recordAudit(deps, trx, ctx, {
      tenantId: tenant.id,
      activity: 'Change password (self-service)',
      category: 'UserManagement',
      loggedByService: 'Self-service Password Management',
      operationType: 'Update',
      targets: [userTarget(user)],
    });
  });
  return { ...user, passwordHash, lastPasswordChangeDateTime: now, forceChangePasswordNextSignIn: false, forceChangePasswordNextSignInWithMfa: false };
}

async function auditFailure(deps: SignInDeps, ctx: RequestContext, tenant: Tenant, user: User, reason: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await recordAudit(deps, trx, ctx, {
      tenantId: tenant.id,
      activity: 'Change password (self-service)',
      category: 'UserManagement',
      loggedByService: 'Self-service Password Management',
      operationType: 'Update',
      result: 'failure',
      resultReason: reason,
      targets: [userTarget(user)],
    });
  });
}

function userTarget(user: User): AuditTarget {
  return { id: user.id, displayName: user.displayName, type: 'User', userPrincipalName: user.userPrincipalName, modifiedProperties: [] };
}

/**
 * The change step of a sign-in that stopped at "change required": no session exists yet, so the
 * user names themselves and proves it with the current password. An unknown UPN costs the same as
 * a wrong password and answers the same.
 */
export async function changePasswordAtSignIn(
  deps: SignInDeps,
  ctx: RequestContext,
  input: { userPrincipalName: string; currentPassword: string; newPassword: string },
): Promise<User> {
  const user = await findUserByUpn(deps.db, input.userPrincipalName);
  if (!user) {
    await signInWithPassword(deps, { userPrincipalName: input.userPrincipalName, password: input.currentPassword });
    throw new AppError('auth.invalid_credentials');
  }
  return changeOwnPassword(deps, ctx, { tenantId: user.tenantId, userId: user.id, currentPassword: input.currentPassword, newPassword: input.newPassword });
}
