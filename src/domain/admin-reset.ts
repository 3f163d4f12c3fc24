import { AppError } from '../errors.js';
import { insertAuthenticationOperation, type AuthenticationOperation } from '../store/authentication-operations.js';
import type { Executor } from '../store/database.js';
import { revokeRefreshTokensOfUser } from '../store/refresh-tokens.js';
import { deleteSessionsOfUser } from '../store/sessions.js';
import { findTenantById, type Tenant } from '../store/tenants.js';
import { isOnPremises, revokeSignInSessions, setPasswordHash, type User } from '../store/users.js';
import { recordAudit, type AuditTarget, type RequestContext } from './audit.js';
import type { DomainDeps } from './deps.js';
import type { MessageDeps } from './messages.js';
import { notifyPasswordResetByAdmin } from './password-change.js';
import { hasPasswordPolicy } from './password-expiry.js';
import { auditReasonFor } from './password-policy.js';
import { assertPasswordAllowed, recordPasswordHistory, violationsOf, type PasswordOwner } from './password-rules.js';
import { passwordPolicyOf } from './policies.js';
import { assertMayActOnUser } from './reset-permission.js';
import { ssprPolicyOf, type SsprPolicy } from './sspr-policy.js';
import { writeback as defaultWriteback, refusalReasonOf, writebackDetails, type WritebackDone, type WritebackSeam } from './sspr/writeback.js';
import { markCloudApplied } from '../store/writeback-jobs.js';
import { generateTemporaryPassword } from './temporary-password.js';
import { getUser } from './users.js';

/**
 * An administrator resets another user's password (SPEC 3.5, reference §4, §8.3). Both Graph paths
 * come here: POST …/authentication/methods/{passwordMethodId}/resetPassword (a long-running
 * operation) and PATCH /users/{id} with passwordProfile.password (updateUser, in its transaction).
 *
 * Order: who may reset whom (403) → where the password lives (on-premises needs a given password and
 * writeback) → the password through the policy engine → the on-premises directory decides first →
 * one transaction: hash, history, revocation of every session and refresh token, the audit events,
 * the user's notice and the operation row. A generated password leaves only in the return value.
 */

/** Azure's fixed id of the password method ("generally 28c10230-…", reference §8.3). */
export const PASSWORD_METHOD_ID = '28c10230-6103-485e-b985-444c60001490';

export type AdminResetDeps = DomainDeps & MessageDeps & { readonly writeback?: WritebackSeam };


/** Reference §4.4: the agent that carried the reset, or None for a cloud user. */
const agentOf = (onPremises: boolean) => (onPremises ? 'Postern writeback agent' : 'None');

export interface PreparedReset {
  readonly tenant: Tenant;
  readonly ssprPolicy: SsprPolicy;
  readonly onPremises: boolean;
  /** the password to set; the caller returns it only when `generated` */
  readonly password: string;
  readonly generated: boolean;
  readonly historyCount: number;
}

/**
 * The checks before anything is written. `owner` is the user as they will be after the request
 * (a PATCH may rename them in the same call), for the names the password may not contain.
 * Refusals of a password or of writeback are audited as failed "Reset password (by admin)".
 */
export async function prepareAdminReset(deps: AdminResetDeps, ctx: RequestContext, target: User, owner: PasswordOwner, newPassword: string | undefined): Promise<PreparedReset> {
  const tenant = await findTenantById(deps.db, target.tenantId);
  if (!tenant) throw new AppError('tenant.not_found');
  const ssprPolicy = ssprPolicyOf(tenant);
  const onPremises = isOnPremises(target);
  // Reference §4.2: "When using Active Directory on-premises, you create the password for the user."
  if (onPremises && newPassword === undefined) throw new AppError('password.onprem_password_required');
  if (onPremises && !ssprPolicy.writebackEnabled) {
    await auditFailure(deps, ctx, target, 'PasswordWritebackNotEnabled', onPremises);
    throw new AppError('password.onprem_writeback_off', { data: { ssprCode: 'SSPR_0010' } });
  }
  if (newPassword === undefined) {
    const policy = passwordPolicyOf(tenant);
    const password = generateTemporaryPassword(policy, undefined, {
      context: {
        givenName: owner.givenName,
        surname: owner.surname,
        tenantName: tenant.displayName,
        disableStrongPassword: hasPasswordPolicy(owner.passwordPolicies ?? null, 'DisableStrongPassword'),
        edition: tenant.edition,
      },
    });
    return { tenant, ssprPolicy, onPremises, password, generated: true, historyCount: policy.historyCount };
  }
  try {
    const policy = await assertPasswordAllowed(deps, { tenant, user: owner, candidate: newPassword, purpose: 'reset' });
    return { tenant, ssprPolicy, onPremises, password: newPassword, generated: false, historyCount: policy.historyCount };
  } catch (err) {
    const violations = violationsOf(err);
    if (violations.length > 0) await auditFailure(deps, ctx, target, auditReasonFor(violations), onPremises);
    throw err;
  }
}

/**
 * The on-premises directory sets the password first; a refusal there leaves the cloud untouched.
 * With the cloud hash the job can be completed in the cloud later (OnPremisesSuccessCloudFailure).
 */
export async function pushToOnPremises(
  deps: AdminResetDeps,
  target: User,
  prepared: PreparedReset,
  extra: { passwordHash?: string; mustChange?: boolean } = {},
): Promise<WritebackDone | null> {
  if (!prepared.onPremises) return null;
  return (deps.writeback ?? defaultWriteback).resetPassword({
    tenantId: target.tenantId,
    userId: target.id,
    newPassword: prepared.password,
    mustChange: extra.mustChange ?? true,
    unlock: false,
    cloudHash: extra.passwordHash ?? null,
    origin: 'admin',
  });
}

/**
 * Writes a prepared reset in the caller's transaction: the hash (forcing a change at next sign-in
 * when asked), the history, the end of every session and refresh token issued before now, Core
 * Directory's "Reset user password" and Self-service Password Management's "Reset password (by
 * admin)", and the user's notice when the SSPR policy asks for it.
 */
export async function writeAdminReset(
  deps: AdminResetDeps,
  trx: Executor,
  ctx: RequestContext,
  target: User,
  prepared: PreparedReset,
  change: { passwordHash: string; forceChange: boolean; now: string; done?: WritebackDone | null },
): Promise<void> {
  const { passwordHash, forceChange, now } = change;
  await setPasswordHash(trx, target.id, { passwordHash, changedAt: now, forceChange });
  if (change.done) await markCloudApplied(trx, change.done.jobId);
  await recordPasswordHistory(trx, target.id, passwordHash, now, prepared.historyCount);
  await revokeSignInSessions(trx, target.tenantId, target.id, now);
  await deleteSessionsOfUser(trx, target.id);
  await revokeRefreshTokensOfUser(trx, target.id, now);
  await recordAudit(deps, trx, ctx, { tenantId: target.tenantId, activity: 'Reset user password', category: 'UserManagement', operationType: 'Update', targets: [userTarget(target)] });
  await auditAdminReset(deps, trx, ctx, target, { result: 'success', reason: '', onPremises: prepared.onPremises, done: change.done ?? null });
  if (prepared.ssprPolicy.notifyUserOnReset) await notifyPasswordResetByAdmin(deps, trx, target, now, forceChange);
}

export interface AdminResetResult {
  operation: AuthenticationOperation;
  /** the system-generated password, to be shown once; null when the caller gave one */
  newPassword: string | null;
}

/**
 * Graph resetPassword: always forces a change at next sign-in. The operation row is written with
 * the outcome — succeeded together with the reset, or failed (with the reason, nothing changed) when
 * the on-premises directory could not take the password.
 */
export async function resetPasswordByAdmin(
  deps: AdminResetDeps,
  ctx: RequestContext,
  tenantId: string,
  userKey: string,
  input: { newPassword?: string | undefined },
): Promise<AdminResetResult> {
  const target = await getUser(deps, tenantId, userKey);
  await assertMayActOnUser(deps.db, ctx.principal, target, 'password');
  const prepared = await prepareAdminReset(deps, ctx, target, target, input.newPassword);
  const newOperation = (status: 'succeeded' | 'failed', statusDetail: string | null, at: string): AuthenticationOperation => ({
    id: deps.random.uuid(),
    tenantId,
    userId: target.id,
    status,
    statusDetail,
    createdAt: at,
    lastActionAt: at,
    resourceLocation: `/v1.0/users/${target.id}/authentication/passwordMethods/${PASSWORD_METHOD_ID}`,
  });

  // hashed before the job leaves, so the cloud side can be completed if it fails after the directory's success
  const passwordHash = await deps.hasher.hash(prepared.password);
  let done: WritebackDone | null;
  try {
    done = await pushToOnPremises(deps, target, prepared, { passwordHash, mustChange: true });
  } catch (err) {
    const detail = writebackFailure(err);
    const operation = newOperation('failed', detail.statusDetail, deps.clock.now().toISOString());
    await deps.db.transaction().execute(async (trx) => {
      await insertAuthenticationOperation(trx, operation);
      await auditAdminReset(deps, trx, ctx, target, { result: 'failure', reason: detail.reason, onPremises: true });
    });
    return { operation, newPassword: null };
  }

  const now = deps.clock.now().toISOString();
  const operation = newOperation('succeeded', null, now);
  await deps.db.transaction().execute(async (trx) => {
    await writeAdminReset(deps, trx, ctx, target, prepared, { passwordHash, forceChange: true, now, done });
    await insertAuthenticationOperation(trx, operation);
  });
  return { operation, newPassword: prepared.generated ? prepared.password : null };
}

/** Why writeback failed, in words for the operation's statusDetail and a reason for the audit. */
function writebackFailure(err: unknown): { statusDetail: string; reason: string } {
  if (err instanceof AppError && err.code === 'sspr.onprem_unreachable') {
    return {
      statusDetail: 'The on-premises directory could not be reached through the Postern writeback agent (SSPR_0030). The password was not changed.',
      reason: 'OnPremisesConnectivityFailure',
    };
  }
  if (err instanceof AppError && err.code === 'writeback.refused') {
    return { statusDetail: `The on-premises directory refused the password: ${err.message} The password was not changed.`, reason: `OnPremisesPasswordRefused: ${refusalReasonOf(err)}` };
  }
  if (err instanceof AppError) return { statusDetail: `The on-premises directory refused the password: ${err.message} The password was not changed.`, reason: err.code };
  return { statusDetail: 'The Postern writeback agent failed. The password was not changed.', reason: 'OnPremisesAgentError' };
}

/** A refusal is an event of its own: nothing else is written with it. */
async function auditFailure(deps: AdminResetDeps, ctx: RequestContext, target: User, reason: string, onPremises: boolean): Promise<void> {
  await deps.db.transaction().execute((trx) => auditAdminReset(deps, trx, ctx, target, { result: 'failure', reason, onPremises }));
}

async function auditAdminReset(
  deps: AdminResetDeps,
  trx: Executor,
  ctx: RequestContext,
  target: User,
  outcome: { result: 'success' | 'failure'; reason: string; onPremises: boolean; done?: WritebackDone | null },
): Promise<void> {
  await recordAudit(deps, trx, ctx, {
    tenantId: target.tenantId,
    activity: 'Reset password (by admin)',
    category: 'UserManagement',
    loggedByService: 'Self-service Password Management',
    operationType: 'Update',
    result: outcome.result,
    resultReason: outcome.reason,
    targets: [userTarget(target)],
    additionalDetails: outcome.done ? writebackDetails(outcome.done) : [{ key: 'OnPremisesAgent', value: agentOf(outcome.onPremises) }],
  });
}

function userTarget(u: User): AuditTarget {
  return { id: u.id, displayName: u.displayName, type: 'User', userPrincipalName: u.userPrincipalName, modifiedProperties: [] };
}
