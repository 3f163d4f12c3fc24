import { AppError, assertThat } from '../errors.js';
import { can, requireCapability, type Principal } from './authorization.js';
import { findRole, ROLE } from './roles.js';

/**
 * Azure's rules for role-assignable groups (isAssignableToRole). The direct members of such a group
 * hold every directory role assigned to it, so managing the group is managing role assignments:
 * only a Global Administrator or Privileged Role Administrator (apps: RoleManagement.ReadWrite.Directory)
 * may create one, change its members, change it or delete it. The flag is set at creation and never
 * changes, the group is a plain security group, and it cannot contain groups (no nesting, so the
 * role holders are exactly its direct user members).
 */

export type RoleAssignableGroupAction = 'create' | 'members' | 'update' | 'delete';

const ACTION_TEXT: Record<RoleAssignableGroupAction, string> = {
  create: 'create a role-assignable group',
  members: 'add or remove members of a role-assignable group',
  update: 'change a role-assignable group',
  delete: 'delete a role-assignable group',
};

/** Throws 403 naming the rule unless `principal` may manage role-assignable groups (system callers may). */
export function assertMayManageRoleAssignableGroup(principal: Principal | null, action: RoleAssignableGroupAction, groupName?: string): void {
  if (principal === null || can(principal, 'groups.roleAssignable.write')) return;
  const who = [ROLE.globalAdministrator, ROLE.privilegedRoleAdministrator].map((id) => findRole(id)?.displayName ?? id).join(' or ');
  const what = groupName === undefined ? ACTION_TEXT[action] : `${ACTION_TEXT[action]} ('${groupName}')`;
  const needed = principal.kind === 'app' ? 'an app needs the application permission RoleManagement.ReadWrite.Directory' : `only a ${who} can`;
  throw new AppError('auth.forbidden', {
    message: `Insufficient privileges to ${what}: its members hold the directory roles assigned to the group, so ${needed}.`,
    data: { reason: 'roleAssignableGroup', action },
  });
}

/**
 * The full check for writing a group. An ordinary group needs `base` (groups.write or
 * groups.members.write). A role-assignable group needs Global / Privileged Role Administrator for a
 * user, and for an app RoleManagement.ReadWrite.Directory on top of `base` (Graph's "also").
 * Routes let a caller through when either could apply; this decides once the group is known.
 */
export function assertMayWriteGroup(
  principal: Principal | null,
  base: 'groups.write' | 'groups.members.write',
  group: { isAssignableToRole: boolean; displayName?: string },
  action: RoleAssignableGroupAction,
): void {
  if (principal === null) return;
  if (!group.isAssignableToRole) return requireCapability(principal, base);
  assertMayManageRoleAssignableGroup(principal, action, group.displayName);
  if (principal.kind === 'app') requireCapability(principal, base);
}

/** A role-assignable group is a security group that is not mail-enabled, when created and after any change. */
export function assertRoleAssignableShape(g: { securityEnabled: boolean; mailEnabled: boolean }): void {
  assertThat(g.securityEnabled && !g.mailEnabled, 'group.role_assignable_invalid', {
    message: 'A role-assignable group (isAssignableToRole true) must have securityEnabled true and mailEnabled false.',
    data: { securityEnabled: g.securityEnabled, mailEnabled: g.mailEnabled },
  });
}

export function immutableFlagError(current: boolean): AppError {
  return new AppError('group.role_assignable_immutable', {
    message: `isAssignableToRole is ${String(current)} and cannot be changed: it can only be set when the group is created. Create a new group instead.`,
  });
}

export function nestingError(groupId: string, memberId: string): AppError {
  return new AppError('group.role_assignable_nesting', {
    message: `The group '${memberId}' cannot be added to '${groupId}': a role-assignable group can only have users as members (role-assignable groups do not nest).`,
    data: { groupId, memberId },
  });
}
