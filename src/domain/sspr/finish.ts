import { AppError } from '../../errors.js';
import type { Executor } from '../../store/database.js';
import { revokeRefreshTokensOfUser } from '../../store/refresh-tokens.js';
import { deleteSessionsOfUser } from '../../store/sessions.js';
import { clearAttempts, setFlowStatus, updateFlow } from '../../store/sspr.js';
import { isOnPremises, revokeSignInSessions, setPasswordHash, updateUser, type User } from '../../store/users.js';
import type { RequestContext } from '../audit.js';
import { unlockUser } from '../lockout.js';
import { enqueueMessage } from '../messages.js';
import { notifyPasswordChanged } from '../password-change.js';
import { auditReasonFor } from '../password-policy.js';
import { assertPasswordAllowed, recordPasswordHistory, violationsOf } from '../password-rules.js';
import { listRoleMembers } from '../role-assignments.js';
import { ROLE } from '../roles.js';
import { recordSsprEvent, STEP } from './audit.js';
import { loadFlow, type LoadedFlow, type SsprDeps } from './flows.js';
import { markCloudApplied } from '../../store/writeback-jobs.js';
import { writeback as noWriteback, refusalReasonOf, writebackDetails, type WritebackDone, type WritebackSeam } from './writeback.js';

type FinishDeps = SsprDeps & { readonly writeback?: WritebackSeam };

/**
 * The end of a flow (reference §2.2 steps 7–10): a new password through the policy engine, or an
 * unlock only; then in one transaction the change, the unlock, the revocation of every session and
 * refresh token, the flow's completion, the reset of the user's SSPR counters, the audit events and
 * the notices. No automatic sign-in follows.
 */

async function verifiedFlow(deps: SsprDeps, token: string): Promise<LoadedFlow & { user: User }> {
  const loaded = await loadFlow(deps, deps.db, token, ['open', 'verified']);
  // A decoy is never verified, so it always ends here, like a real flow whose gates are not passed.
  if (loaded.flow.status !== 'verified' || !loaded.user || loaded.flow.verified.length < loaded.flow.methodsRequired) {
    throw new AppError('sspr.not_verified', { data: { verified: loaded.flow.verified, required: loaded.flow.methodsRequired } });
  }
  return loaded as LoadedFlow & { user: User };
}

export async function resetPassword(deps: FinishDeps, ctx: RequestContext, token: string, newPassword: string): Promise<void> {
  const { flow, user, tenant, policy } = await verifiedFlow(deps, token);
  if (!tenant) throw new AppError('sspr.flow_not_found');
  let passwordPolicy;
  try {
    passwordPolicy = await assertPasswordAllowed(deps, { tenant, user, candidate: newPassword, purpose: 'reset' });
  } catch (err) {
    const violations = violationsOf(err);
    if (violations.length > 0) {
      await deps.db.transaction().execute(async (trx) => {
        await recordSsprEvent(deps, trx, ctx, user, flow, 'Reset password (self-service)', auditReasonFor(violations), 'failure');
        // for the "abandoned while selecting a new password" step; a concurrent change just wins
        if (!flow.pending.passwordTried) await updateFlow(trx, { ...flow, pending: { ...flow.pending, passwordTried: true } }, deps.clock.now().toISOString());
      });
    }
    throw err;
  }
  // The hash comes first: it travels with the writeback job, so an on-premises success followed by a
  // failure here is applied to the cloud later (OnPremisesSuccessCloudFailure, src/writeback/retry.ts).
  const passwordHash = await deps.hasher.hash(newPassword);
  let done: WritebackDone | null = null;
  if (isOnPremises(user)) {
    // Writeback on (eligibility refused it otherwise): the on-premises directory decides first.
    try {
      done = await (deps.writeback ?? noWriteback).resetPassword({ tenantId: tenant.id, userId: user.id, newPassword, mustChange: false, unlock: true, cloudHash: passwordHash, origin: 'selfService' });
    } catch (err) {
      await deps.db.transaction().execute((trx) => recordSsprEvent(deps, trx, ctx, user, flow, 'Reset password (self-service)', writebackReason(err), 'failure', writebackDetails(null)));
      throw err;
    }
  }
  const now = deps.clock.now().toISOString();
  await deps.db.transaction().execute(async (trx) => {
    if (!(await setFlowStatus(trx, flow.id, ['verified'], 'completed', now))) throw new AppError('sspr.flow_not_found');
    await setPasswordHash(trx, user.id, { passwordHash, changedAt: now, forceChange: false });
    if (done) await markCloudApplied(trx, done.jobId);
    await recordPasswordHistory(trx, user.id, passwordHash, now, passwordPolicy.historyCount);
    await updateUser(trx, user.tenantId, user.id, { forceChangePasswordNextSignInWithMfa: false }, now);
    await unlockUser(trx, user.id);
    await revokeEverything(trx, user, now);
    await clearAttempts(trx, flow.subject);
    await recordSsprEvent(deps, trx, ctx, user, flow, 'Reset password (self-service)', '', 'success', [{ key: 'Methods', value: flow.verified.join(', ') }, ...writebackDetails(done)]);
    await recordSsprEvent(deps, trx, ctx, user, flow, 'Self-service password reset flow activity progress', STEP.succeeded, 'success', [{ key: 'Result', value: 'Succeeded' }]);
    if (policy.notifyUserOnReset) await notifyPasswordChanged(deps, trx, user, now, 'reset');
    if (flow.admin && policy.notifyAdminsOnAdminReset) await notifyOtherAdmins(deps, trx, user, now);
  });
}

/** Azure's result reasons for a writeback failure (reference §6.9). */
function writebackReason(err: unknown): string {
  if (err instanceof AppError && err.code === 'writeback.refused') return `OnPremisesPasswordRefused: ${refusalReasonOf(err)}`;
  if (err instanceof AppError && err.code === 'sspr.onprem_unreachable') return 'OnPremisesConnectivityFailure';
  return 'OnPremisesAgentError';
}

/** Sessions and refresh tokens issued before now stop working; web sessions are deleted outright. */
async function revokeEverything(trx: Executor, user: User, now: string): Promise<void> {
  await revokeSignInSessions(trx, user.tenantId, user.id, now);
  await deleteSessionsOfUser(trx, user.id);
  await revokeRefreshTokensOfUser(trx, user.id, now);
}

async function notifyOtherAdmins(deps: SsprDeps, trx: Executor, admin: User, now: string): Promise<void> {
  const others = (await listRoleMembers({ db: trx }, admin.tenantId, ROLE.globalAdministrator)).filter((u) => u.id !== admin.id && u.accountEnabled).slice(0, 100);
  for (const other of others) {
    await enqueueMessage(trx, deps, {
      tenantId: admin.tenantId,
      channel: 'email',
      to: other.mail ?? other.otherMails[0] ?? other.userPrincipalName,
      template: 'admin-reset-notice',
      data: { displayName: other.displayName, adminDisplayName: admin.displayName, adminUserPrincipalName: admin.userPrincipalName, resetAt: now },
    });
  }
}

/** POST …/unlock: "I know my password" — the lockout is cleared, the password stays. */
export async function unlockAccount(deps: FinishDeps, ctx: RequestContext, token: string): Promise<void> {
  const { flow, user, policy } = await verifiedFlow(deps, token);
  if (!policy.allowUnlockWithoutReset) throw new AppError('sspr.intent_unavailable');
  // an on-premises account is locked on-premises too: the directory unlocks it first
  const done = isOnPremises(user) ? await (deps.writeback ?? noWriteback).unlock({ tenantId: user.tenantId, userId: user.id, origin: 'selfService' }) : null;
  const now = deps.clock.now().toISOString();
  await deps.db.transaction().execute(async (trx) => {
    if (!(await setFlowStatus(trx, flow.id, ['verified'], 'completed', now))) throw new AppError('sspr.flow_not_found');
    await unlockUser(trx, user.id);
    await recordSsprEvent(deps, trx, ctx, user, flow, 'Unlock user account (self-service)', '', 'success', [{ key: 'Methods', value: flow.verified.join(', ') }, ...writebackDetails(done)]);
    await recordSsprEvent(deps, trx, ctx, user, flow, 'Self-service password reset flow activity progress', STEP.unlocked, 'success', [{ key: 'Result', value: 'Succeeded' }]);
  });
}

/** DELETE …: the flow ends; audited as Azure's "Cancelled" step. */
export async function cancelFlow(deps: SsprDeps, ctx: RequestContext, token: string): Promise<void> {
  const { flow, user } = await loadFlow(deps, deps.db, token, ['open', 'verified']);
  const now = deps.clock.now().toISOString();
  await deps.db.transaction().execute(async (trx) => {
    if (!(await setFlowStatus(trx, flow.id, ['open', 'verified'], 'cancelled', now))) throw new AppError('sspr.flow_not_found');
    if (user) {
      const step = flow.status === 'verified' ? STEP.cancelledBeforePassword : STEP.cancelledBeforeMethods;
      // a flow that contacted an admin already has its report outcome (Contacted Admin)
      await recordSsprEvent(deps, trx, ctx, user, flow, 'Self-service password reset flow activity progress', step, 'success', flow.pending.contacted ? [] : [{ key: 'Result', value: 'Cancelled' }]);
    }
  });
}
