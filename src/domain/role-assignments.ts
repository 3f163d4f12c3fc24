import { AppError, assertThat } from '../errors.js';
import { lockAuditChain } from '../store/audit-events.js';
import type { Executor } from '../store/database.js';
import {
  countRoleAssignments,
  deleteRoleAssignment,
  findRoleAssignment,
  findRoleAssignmentOf,
  insertRoleAssignment,
  listRoleAssignments,
  type RoleAssignment,
  type RoleAssignmentQuery,
} from '../store/role-assignments.js';
import { findUserById, type User } from '../store/users.js';
import { modified, recordAudit, type AuditTarget, type RequestContext } from './audit.js';
import type { DomainDeps } from './deps.js';
import { findRole, ROLE, type RoleDefinition } from './roles.js';

export type { RoleAssignment } from '../store/role-assignments.js';

export interface AssignRoleInput {
  tenantId: string;
  principalId: string;
  roleDefinitionId: string;
  directoryScopeId: string;
}

/** The built-in role with this template id, or role.not_found naming it. */
export function getRoleDefinition(id: string): RoleDefinition {
  const role = findRole(id);
  if (!role) {
    throw new AppError('role.not_found', {
      message: `The role definition '${id}' does not exist: it must be the template id of one of the built-in directory roles.`,
      data: { roleDefinitionId: id },
    });
  }
  return role;
}

/**
 * Assigns a built-in role to a user of the tenant at the directory scope. The tenant's audit-chain
 * lock is taken first so that role changes of one tenant are serial: the duplicate and the
 * last-Global-Administrator checks then hold on PostgreSQL too.
 */
export async function assignRole(deps: DomainDeps, ctx: RequestContext, input: AssignRoleInput): Promise<RoleAssignment> {
  const role = getRoleDefinition(input.roleDefinitionId);
  assertThat(input.directoryScopeId === '/', 'request.invalid', {
    message: `directoryScopeId '${input.directoryScopeId}' is not supported: only the whole directory ("/") can be a scope.`,
    data: { directoryScopeId: input.directoryScopeId },
  });
  return deps.db.transaction().execute(async (trx) => {
    await lockAuditChain(trx, input.tenantId);
    const user = await findUserOrThrow(trx, input.tenantId, input.principalId);
    assertThat(!(await findRoleAssignmentOf(trx, input.tenantId, user.id, role.id, '/')), 'role.assignment_exists', {
      data: { principalId: user.id, roleDefinitionId: role.id },
    });
    return insertRoleAssignmentAudited(deps, trx, ctx, user, role);
  });
}

/** Inserts a directory-scope assignment of `role` to `user` and its audit event, in the caller's transaction. */
export async function insertRoleAssignmentAudited(
  deps: Pick<DomainDeps, 'clock' | 'random'>,
  trx: Executor,
  ctx: RequestContext,
  user: User,
  role: RoleDefinition,
): Promise<RoleAssignment> {
  const assignment: RoleAssignment = {
    id: deps.random.uuid(),
    tenantId: user.tenantId,
    principalId: user.id,
    roleDefinitionId: role.id,
    directoryScopeId: '/',
    createdDateTime: deps.clock.now().toISOString(),
  };
  await insertRoleAssignment(trx, assignment);
  await recordAudit(deps, trx, ctx, {
    tenantId: user.tenantId,
    activity: 'Add member to role',
    category: 'RoleManagement',
    operationType: 'Assign',
    targets: roleTargets(user, role, 'new'),
  });
  return assignment;
}

/** Removes one assignment by id; refuses to remove the tenant's last Global Administrator. */
export async function unassignRole(deps: DomainDeps, ctx: RequestContext, tenantId: string, assignmentId: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await lockAuditChain(trx, tenantId);
    const assignment = await findRoleAssignment(trx, tenantId, assignmentId);
    assertThat(assignment, 'role.assignment_not_found', { message: `The role assignment '${assignmentId}' does not exist in this tenant.` });
    await removeAssignment(deps, trx, ctx, assignment);
  });
}

/** `DELETE directoryRoles/{roleId}/members/{userId}/$ref`. */
export async function removeRoleMember(deps: DomainDeps, ctx: RequestContext, tenantId: string, roleId: string, principalId: string): Promise<void> {
  const role = getRoleDefinition(roleId);
  await deps.db.transaction().execute(async (trx) => {
    await lockAuditChain(trx, tenantId);
    const assignment = await findRoleAssignmentOf(trx, tenantId, principalId, role.id, '/');
    assertThat(assignment, 'role.assignment_not_found', { message: `The object '${principalId}' is not a member of the role '${role.displayName}'.` });
    await removeAssignment(deps, trx, ctx, assignment);
  });
}

export async function findRoleAssignments(deps: Pick<DomainDeps, 'db'>, tenantId: string, q: RoleAssignmentQuery): Promise<RoleAssignment[]> {
  return listRoleAssignments(deps.db, tenantId, {
    principalId: q.principalId?.toLowerCase(),
    roleDefinitionId: q.roleDefinitionId?.toLowerCase(),
  });
}

export async function getRoleAssignment(deps: Pick<DomainDeps, 'db'>, tenantId: string, id: string): Promise<RoleAssignment> {
  const assignment = await findRoleAssignment(deps.db, tenantId, id);
  assertThat(assignment, 'role.assignment_not_found', { message: `The role assignment '${id}' does not exist in this tenant.` });
  return assignment;
}

/** The users holding a role in the tenant (`directoryRoles/{id}/members`). */
export async function listRoleMembers(deps: Pick<DomainDeps, 'db'>, tenantId: string, roleId: string): Promise<User[]> {
  const role = getRoleDefinition(roleId);
  const assignments = await listRoleAssignments(deps.db, tenantId, { roleDefinitionId: role.id });
  const users: User[] = [];
  for (const id of new Set(assignments.map((a) => a.principalId))) {
    const user = await findUserById(deps.db, tenantId, id);
    if (user) users.push(user);
  }
  return users;
}

// ---- internals ----

async function removeAssignment(deps: DomainDeps, trx: Executor, ctx: RequestContext, assignment: RoleAssignment): Promise<void> {
  const role = getRoleDefinition(assignment.roleDefinitionId);
  if (role.id === ROLE.globalAdministrator) {
    // the caller holds the tenant lock, so the count cannot change under us
    assertThat((await countRoleAssignments(trx, assignment.tenantId, role.id)) > 1, 'role.last_global_admin');
  }
  const user = await findUserById(trx, assignment.tenantId, assignment.principalId);
  await deleteRoleAssignment(trx, assignment.tenantId, assignment.id);
  await recordAudit(deps, trx, ctx, {
    tenantId: assignment.tenantId,
    activity: 'Remove member from role',
    category: 'RoleManagement',
    operationType: 'Unassign',
    targets: user
      ? roleTargets(user, role, 'old')
      : [{ id: assignment.principalId, displayName: null, type: 'User', userPrincipalName: null, modifiedProperties: [] }, roleTarget(role)],
  });
}

async function findUserOrThrow(db: Executor, tenantId: string, id: string): Promise<User> {
  const user = await findUserById(db, tenantId, id);
  if (!user) {
    throw new AppError('user.not_found', {
      message: `The principal '${id}' is not a user of this tenant. Only users can be assigned directory roles.`,
      data: { principalId: id },
    });
  }
  return user;
}

function roleTarget(role: RoleDefinition): AuditTarget {
  return { id: role.id, displayName: role.displayName, type: 'Role', userPrincipalName: null, modifiedProperties: [] };
}

/** Azure puts Role.ObjectID / Role.DisplayName / Role.TemplateId on the user target. */
function roleTargets(user: User, role: RoleDefinition, side: 'old' | 'new'): AuditTarget[] {
  const v = (value: string): [unknown, unknown] => (side === 'old' ? [value, undefined] : [undefined, value]);
  return [
    {
      id: user.id,
      displayName: user.displayName,
      type: 'User',
      userPrincipalName: user.userPrincipalName,
      modifiedProperties: [
        modified('Role.ObjectID', ...v(role.id)),
        modified('Role.DisplayName', ...v(role.displayName)),
        modified('Role.TemplateId', ...v(role.id)),
      ],
    },
    roleTarget(role),
  ];
}
