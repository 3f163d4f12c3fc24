import { AppError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import type { Random, SecretBox } from '../../lib/crypto.js';
import { setLastConfirmedAt } from '../../store/auth-methods.js';
import type { Db, Executor } from '../../store/database.js';
import { findUserById, type User } from '../../store/users.js';
import { recordAudit, type RequestContext } from '../audit.js';
import type { Hasher } from '../hasher.js';
import { loadSnapshot } from './status.js';

export interface SecurityInfoDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly random: Random;
  readonly hasher: Hasher;
  readonly secretBox: SecretBox;
}

/** The signed-in user a security-info use case acts for. */
export interface Me {
  tenantId: string;
  userId: string;
}

export async function loadMe(db: Executor, me: Me): Promise<User> {
  const user = await findUserById(db, me.tenantId, me.userId);
  if (!user) throw new AppError('user.not_found');
  return user;
}

/** The names Azure's combined registration shows for each method in audit details. */
export type MethodLabel = 'Email' | 'Mobile phone' | 'Alternate mobile phone' | 'Office phone' | 'Security questions' | 'Authenticator app' | 'Recovery codes';

/**
 * Runs one registration change inside `trx` and audits it: "User registered security info" or "User
 * deleted security info" (Authentication Methods) naming the method, plus "User registered for
 * self-service password reset" when the change makes the user registered under the policy. A
 * registration also counts as the user confirming their info (reconfirmation clock).
 */
export async function auditedChange<T>(
  deps: SecurityInfoDeps,
  trx: Executor,
  ctx: RequestContext,
  user: User,
  change: { kind: 'registered' | 'deleted'; method: MethodLabel; replaced?: boolean },
  apply: () => Promise<T>,
): Promise<T> {
  const deps2 = { db: trx, clock: deps.clock };
  const before = await loadSnapshot(deps2, user);
  const result = await apply();
  const at = deps.clock.now().toISOString();
  if (change.kind === 'registered') await setLastConfirmedAt(trx, user.id, at);
  const after = await loadSnapshot(deps2, user);
  const target = { id: user.id, displayName: user.displayName, type: 'User' as const, userPrincipalName: user.userPrincipalName, modifiedProperties: [] };
  await recordAudit(deps, trx, ctx, {
    tenantId: user.tenantId,
    activity: change.kind === 'registered' ? 'User registered security info' : 'User deleted security info',
    category: 'UserManagement',
    loggedByService: 'Authentication Methods',
    operationType: change.kind === 'deleted' ? 'Delete' : change.replaced ? 'Update' : 'Add',
    resultReason: change.kind === 'registered' ? `User registered ${change.method}` : `User deleted ${change.method}`,
    targets: [target],
    additionalDetails: [{ key: 'Method', value: change.method }],
  });
  const required = after.effective.methodsRequired;
  if (before.usable.length < required && after.usable.length >= required) {
    await recordAudit(deps, trx, ctx, {
      tenantId: user.tenantId,
      activity: 'User registered for self-service password reset',
      category: 'UserManagement',
      loggedByService: 'Self-service Password Management',
      operationType: 'Update',
      resultReason: 'User registered all required security info',
      targets: [target],
      additionalDetails: [{ key: 'Methods', value: after.usable.join(', ') }],
    });
  }
  return result;
}
