import { AppError } from '../errors.js';
import type { Executor } from '../store/database.js';
import { listRoleAssignableGroupIdsOf } from '../store/groups.js';
import { listRoleIdsOfPrincipal } from '../store/role-assignments.js';
import type { User } from '../store/users.js';
import type { Principal } from './authorization.js';
import { canResetAnyone, canResetPassword, findRole, ROLE } from './roles.js';

/**
 * The one place that decides whether a signed-in admin may act on another user's password or the
 * data self-service reset relies on (reference §4.3 "who can reset passwords"): setting a password,
 * changing mobilePhone / businessPhones / otherMails, managing authentication methods, unlocking and
 * revoking sessions all follow the same table. Apps are decided by their Graph permissions before
 * this is reached; they pass here.
 */
export type ResetAction = 'password' | 'sensitiveProperties' | 'authenticationMethods' | 'unlock' | 'revokeSessions' | 'delete';

const ACTION_TEXT: Record<ResetAction, string> = {
  password: 'reset the password of',
  sensitiveProperties: 'change the phone numbers, alternate emails or sign-in properties of',
  authenticationMethods: 'manage the authentication methods of',
  unlock: 'unlock',
  revokeSessions: 'revoke the sign-in sessions of',
  delete: 'delete',
};

/** What the table looks at on the target's side. */
export interface ResetTargetFacts {
  /** role template ids the target holds, directly or through a role-assignable group */
  roles: string[];
  /**
   * The target is a member of a role-assignable group (whether or not the group holds a role yet):
   * the table's row "member/owner of a role-assignable group" lets only Privileged Authentication
   * Administrator and Global Administrator act on them. Postern has no group owners.
   */
  inRoleAssignableGroup: boolean;
}

export async function resetTargetFacts(db: Executor, tenantId: string, userId: string): Promise<ResetTargetFacts> {
  const [roles, groups] = await Promise.all([listRoleIdsOfPrincipal(db, tenantId, userId), listRoleAssignableGroupIdsOf(db, tenantId, userId)]);
  return { roles, inRoleAssignableGroup: groups.length > 0 };
}

const roleName = (id: string) => findRole(id)?.displayName ?? `role ${id}`;

/** Why `actorRoles` may not act on the target, in words that name the rule; null when allowed. */
export function resetRefusal(actorRoles: readonly string[], target: ResetTargetFacts, action: ResetAction): string | null {
  if (canResetAnyone(actorRoles)) return null;
  const held = actorRoles.map(roleName);
  const actorText = held.length === 0 ? 'You hold no directory role that can' : `Your roles (${held.join(', ')}) cannot`;
  const only = [ROLE.privilegedAuthenticationAdministrator, ROLE.globalAdministrator].map(roleName).join(' or ');
  if (target.inRoleAssignableGroup) {
    return `${actorText} ${ACTION_TEXT[action]} a member of a role-assignable group. Under the "who can reset passwords" rules only ${only} can act on members of role-assignable groups.`;
  }
  if (canResetPassword(actorRoles, target.roles)) return null;
  const targetText = target.roles.length === 0 ? 'a user without an admin role' : `a user who holds ${target.roles.map(roleName).join(', ')}`;
  return `${actorText} ${ACTION_TEXT[action]} ${targetText}. Under the "who can reset passwords" rules only a role that covers every role of the target can; ${only} covers everyone.`;
}

/**
 * Throws 403 unless `principal` may perform `action` on `target`. Nobody acts on their own password or
 * methods through the admin path: they change their password or manage their security info themselves.
 */
export async function assertMayActOnUser(db: Executor, principal: Principal | null, target: User, action: ResetAction): Promise<void> {
  if (principal?.kind !== 'user') return;
  if (principal.userId === target.id && (action === 'password' || action === 'authenticationMethods')) {
    const message =
      action === 'password'
        ? 'You cannot reset your own password as an administrator. Change it with POST /v1.0/me/changePassword, which asks for the current password.'
        : 'You cannot manage your own authentication methods as an administrator. Use /api/v1/me/security-info, which verifies each method.';
    throw new AppError('auth.forbidden', { message, data: { reason: 'ownAccount' } });
  }
  if (principal.userId === target.id) return;
  const facts = await resetTargetFacts(db, target.tenantId, target.id);
  const reason = resetRefusal(principal.roles, facts, action);
  if (reason !== null) {
    throw new AppError('auth.forbidden', {
      message: `Insufficient privileges to complete the operation. ${reason}`,
      data: { reason: facts.inRoleAssignableGroup ? 'roleAssignableGroup' : 'targetRole' },
    });
  }
}
