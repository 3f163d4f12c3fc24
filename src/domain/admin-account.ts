import { AppError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/crypto.js';
import type { Db } from '../store/database.js';
import { readLockoutStateForUpdate } from '../store/lockout.js';
import { revokeRefreshTokensOfUser } from '../store/refresh-tokens.js';
import { deleteSessionsOfUser } from '../store/sessions.js';
import { isOnPremises, revokeSignInSessions, type User } from '../store/users.js';
import { modified, recordAudit, type RequestContext } from './audit.js';
import { isLocked, unlockUser } from './lockout.js';
import { assertMayActOnUser } from './reset-permission.js';
import { getUser } from './users.js';
import { findTenantById } from '../store/tenants.js';
import { ssprPolicyOf } from './sspr-policy.js';
import { writeback as noWriteback, writebackDetails, type WritebackSeam } from './sspr/writeback.js';

/**
 * An administrator's actions on another user's account that are not a password reset: unlocking a
 * smart-lockout lock without waiting (reference §4.2, §7.4) and revoking every sign-in session
 * (Graph revokeSignInSessions). Both follow the "who can reset passwords" table for signed-in admins.
 */

export interface AdminAccountDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly random: Random;
  readonly writeback?: WritebackSeam;
}

const target = (u: User, modifiedProperties: ReturnType<typeof modified>[] = []) => ({
  id: u.id,
  displayName: u.displayName,
  type: 'User' as const,
  userPrincipalName: u.userPrincipalName,
  modifiedProperties,
});

function callerOf(ctx: RequestContext) {
  if (!ctx.principal) throw new AppError('auth.forbidden');
  return ctx.principal;
}

/**
 * Clears the smart-lockout state of a locked user. A user who is not locked is left alone and nothing
 * is recorded (returns false): only an actual unlock is an event worth auditing. Failure counts of a
 * user whose lock has already expired are not touched either: they end at the next good sign-in.
 */
export async function adminUnlockUser(deps: AdminAccountDeps, ctx: RequestContext, key: string): Promise<boolean> {
  const caller = callerOf(ctx);
  const user = await getUser(deps, caller.tenantId, key);
  await assertMayActOnUser(deps.db, caller, user, 'unlock');
  // An on-premises account (writeback on) is unlocked in the directory first, whether or not the
  // cloud's smart lockout holds it: the lock the user is hitting may be the directory's.
  const tenant = await findTenantById(deps.db, user.tenantId);
  const onPremises = isOnPremises(user) && tenant !== undefined && ssprPolicyOf(tenant).writebackEnabled;
  const done = onPremises ? await (deps.writeback ?? noWriteback).unlock({ tenantId: user.tenantId, userId: user.id, origin: 'admin' }) : null;
  return deps.db.transaction().execute(async (trx) => {
    const state = await readLockoutStateForUpdate(trx, user.id);
    const locked = state !== undefined && isLocked(state, deps.clock.now());
    if (!locked && !done) return false;
    await unlockUser(trx, user.id);
    await recordAudit(deps, trx, ctx, {
      tenantId: user.tenantId,
      activity: 'Unlock user account (by admin)',
      category: 'UserManagement',
      loggedByService: 'Self-service Password Management',
      operationType: 'Update',
      targets: [target(user, locked ? [modified('LockedUntil', [state.lockedUntil], [null])] : [])],
      ...(done ? { additionalDetails: writebackDetails(done) } : {}),
    });
    return true;
  });
}

/**
 * Graph revokeSignInSessions: every web session is ended and every refresh token revoked, and the
 * user's "valid from" moves to now so access tokens issued before it are refused (within the second:
 * tokens carry whole-second `iat`). Audited as Azure does: Core Directory "Update user" with
 * StsRefreshTokensValidFrom. A user may revoke their own sessions; others need the table's permission.
 */
export async function revokeUserSignInSessions(deps: AdminAccountDeps, ctx: RequestContext, key: string): Promise<void> {
  const caller = callerOf(ctx);
  const user = await getUser(deps, caller.tenantId, key);
  await assertMayActOnUser(deps.db, caller, user, 'revokeSessions');
  const now = deps.clock.now().toISOString();
  await deps.db.transaction().execute(async (trx) => {
    await revokeSignInSessions(trx, user.tenantId, user.id, now);
    await revokeRefreshTokensOfUser(trx, user.id, now);
    await deleteSessionsOfUser(trx, user.id);
    await recordAudit(deps, trx, ctx, {
      tenantId: user.tenantId,
      activity: 'Update user',
      category: 'UserManagement',
      operationType: 'Update',
      targets: [target(user, [modified('StsRefreshTokensValidFrom', [user.signInSessionsValidFrom], [now])])],
    });
  });
}
