import { AppError } from '../errors.js';
import { sha256 } from '../lib/crypto.js';
import type { Executor } from '../store/database.js';
import { revokeRefreshTokensOfUser } from '../store/refresh-tokens.js';
import { deleteOtherSessionsOfUser } from '../store/sessions.js';
import { findTenantById, type Tenant } from '../store/tenants.js';
import { findUserById, isOnPremises, findUserByUpn, setPasswordHash, updateUser, type User } from '../store/users.js';
import { recordAudit, type AuditTarget, type RequestContext } from './audit.js';
import { enqueueMessage, type MessageDeps } from './messages.js';
import { auditReasonFor, checkPasswordShape } from './password-policy.js';
import { assertPasswordAllowed, policyViolationError, recordPasswordHistory, violationsOf } from './password-rules.js';
import { signInWithPassword, type SignInDeps } from './sign-in.js';
import { ssprPolicyOf } from './sspr-policy.js';
import { writeback as noWriteback, refusalReasonOf, writebackDetails, type WritebackDone, type WritebackSeam } from './sspr/writeback.js';
import { markCloudApplied } from '../store/writeback-jobs.js';

/** Sign-in's needs (the current password is verified like a sign-in) plus queuing the notice. */
export type ChangePasswordDeps = SignInDeps & MessageDeps & { readonly writeback?: WritebackSeam };

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
export async function changeOwnPassword(deps: ChangePasswordDeps, ctx: RequestContext, input: ChangePasswordInput): Promise<User> {
  // Cheap first: an oversized or malformed new password is refused before any hashing, even of the current one.
  const early = checkPasswordShape(input.newPassword);
  if (early.length > 0) throw policyViolationError(early);
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

  let policy;
  try {
    policy = await assertPasswordAllowed(deps, {
      tenant,
      user,
      candidate: input.newPassword,
      purpose: 'change',
      verifiedCurrentPassword: input.currentPassword,
    });
  } catch (err) {
    const violations = violationsOf(err);
    if (violations.length > 0) await auditFailure(deps, ctx, tenant, user, auditReasonFor(violations));
    throw err;
  }

  const passwordHash = await deps.hasher.hash(input.newPassword);
  const done = await changeOnPremises(deps, ctx, tenant, user, input, passwordHash);
  const now = deps.clock.now().toISOString();
  await deps.db.transaction().execute(async (trx) => {
    await setPasswordHash(trx, user.id, { passwordHash, changedAt: now, forceChange: false });
    if (done) await markCloudApplied(trx, done.jobId);
    await recordPasswordHistory(trx, user.id, passwordHash, now, policy.historyCount);
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
      ...(done ? { additionalDetails: writebackDetails(done) } : {}),
    });
    await notifyPasswordChanged(deps, trx, user, now, 'change');
  });
  return { ...user, passwordHash, lastPasswordChangeDateTime: now, forceChangePasswordNextSignIn: false, forceChangePasswordNextSignInWithMfa: false };
}

/**
 * A password that lives on-premises (hashSync, passThrough) is changed there first, as the user (the
 * directory checks the old password, history and age); a refusal or no agent leaves the cloud untouched.
 * The cloud hash travels with the job for the OnPremisesSuccessCloudFailure retry.
 */
async function changeOnPremises(deps: ChangePasswordDeps, ctx: RequestContext, tenant: Tenant, user: User, input: ChangePasswordInput, cloudHash: string): Promise<WritebackDone | null> {
  if (!isOnPremises(user)) return null;
  if (!ssprPolicyOf(tenant).writebackEnabled) {
    await auditFailure(deps, ctx, tenant, user, 'PasswordWritebackNotEnabled');
    throw new AppError('password.onprem_writeback_off', { data: { ssprCode: 'SSPR_0010' } });
  }
  try {
    return await (deps.writeback ?? noWriteback).changePassword({ tenantId: tenant.id, userId: user.id, oldPassword: input.currentPassword, newPassword: input.newPassword, cloudHash, origin: 'user' });
  } catch (err) {
    const reason = err instanceof AppError && err.code === 'writeback.refused' ? `OnPremisesPasswordRefused: ${refusalReasonOf(err)}` : 'OnPremisesConnectivityFailure';
    await auditFailure(deps, ctx, tenant, user, reason);
    throw err;
  }
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
  deps: ChangePasswordDeps,
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

/**
 * "Your password was changed", to the user's email (other mails, then the UPN, as Azure falls back),
 * queued in the transaction of the change so it goes out exactly when the change commits.
 */
export async function notifyPasswordChanged(
  deps: MessageDeps,
  trx: Executor,
  user: Pick<User, 'tenantId' | 'displayName' | 'userPrincipalName' | 'mail' | 'otherMails'>,
  changedAt: string,
  kind: 'change' | 'reset',
): Promise<void> {
  await enqueueMessage(trx, deps, {
    tenantId: user.tenantId,
    channel: 'email',
    to: noticeRecipient(user),
    template: 'password-changed',
    data: { displayName: user.displayName, userPrincipalName: user.userPrincipalName, changedAt, kind },
  });
}

/**
 * "An administrator reset your password": the same recipient, queued in the reset's transaction.
 * Callers decide by the SSPR policy's notifyUserOnReset; the password is never part of it.
 */
export async function notifyPasswordResetByAdmin(
  deps: MessageDeps,
  trx: Executor,
  user: Pick<User, 'tenantId' | 'displayName' | 'userPrincipalName' | 'mail' | 'otherMails'>,
  resetAt: string,
  mustChange: boolean,
): Promise<void> {
  await enqueueMessage(trx, deps, {
    tenantId: user.tenantId,
    channel: 'email',
    to: noticeRecipient(user),
    template: 'password-reset-by-admin',
    data: { displayName: user.displayName, userPrincipalName: user.userPrincipalName, resetAt, mustChange },
  });
}

const noticeRecipient = (user: Pick<User, 'userPrincipalName' | 'mail' | 'otherMails'>): string => user.mail ?? user.otherMails[0] ?? user.userPrincipalName;
