import { AppError, assertThat } from '../errors.js';
import { lockAuditChain } from '../store/audit-events.js';
import type { Executor } from '../store/database.js';
import { findGroupById, listDirectMembers, type Group } from '../store/groups.js';
import {
  deleteRoleAssignment,
  findRoleAssignment,
  findRoleAssignmentOf,
  insertRoleAssignment,
  listRoleAssignments,
  listRoleHoldings,
  type RoleAssignment,
  type RoleAssignmentQuery,
  type RoleHolding,
} from '../store/role-assignments.js';
import { findUserById, type User } from '../store/users.js';
import { modified, recordAudit, type AuditTarget, type RequestContext } from './audit.js';
import type { DomainDeps } from './deps.js';
import type { DirectoryObject } from './groups.js';
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
 * Assigns a built-in role to a user or a role-assignable group of the tenant at the directory scope
 * (a group's direct members then hold the role). The tenant's audit-chain lock is taken first so that
 * role changes of one tenant are serial: the duplicate and the last-Global-Administrator checks then
 * hold on PostgreSQL too.
 */
export async function assignRole(deps: DomainDeps, ctx: RequestContext, input: AssignRoleInput): Promise<RoleAssignment> {
  const role = getRoleDefinition(input.roleDefinitionId);
  assertThat(input.directoryScopeId === '/', 'request.invalid', {
    message: `directoryScopeId '${input.directoryScopeId}' is not supported: only the whole directory ("/") can be a scope.`,
    data: { directoryScopeId: input.directoryScopeId },
  });
  return deps.db.transaction().execute(async (trx) => {
    await lockAuditChain(trx, input.tenantId);
    const principal = await findAssignablePrincipal(trx, input.tenantId, input.principalId);
    const principalId = objectId(principal);
    assertThat(!(await findRoleAssignmentOf(trx, input.tenantId, principalId, role.id, '/')), 'role.assignment_exists', {
      data: { principalId, roleDefinitionId: role.id },
    });
    return insertRoleAssignmentAudited(deps, trx, ctx, principal.type === 'user' ? principal.user : principal.group, role);
  });
}

/**
 * Inserts a directory-scope assignment of `role` to a user (or a role-assignable group, already
 * checked by the caller) and its audit event, in the caller's transaction.
 */
export async function insertRoleAssignmentAudited(
  deps: Pick<DomainDeps, 'clock' | 'random'>,
  trx: Executor,
  ctx: RequestContext,
  principal: User | Group,
  role: RoleDefinition,
): Promise<RoleAssignment> {
  const assignment: RoleAssignment = {
    id: deps.random.uuid(),
    tenantId: principal.tenantId,
    principalId: principal.id,
    roleDefinitionId: role.id,
    directoryScopeId: '/',
    createdDateTime: deps.clock.now().toISOString(),
  };
  await insertRoleAssignment(trx, assignment);
  await recordAudit(deps, trx, ctx, {
    tenantId: principal.tenantId,
    activity: 'Add member to role',
    category: 'RoleManagement',
    operationType: 'Assign',
    targets: roleTargets(principalTarget(principal), role, 'new'),
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

/**
 * The users who hold a role in the tenant: assigned directly or as direct members of a
 * role-assignable group the role is assigned to (who to notify, who to contact).
 */
export async function listRoleMembers(deps: Pick<DomainDeps, 'db'>, tenantId: string, roleId: string): Promise<User[]> {
  const role = getRoleDefinition(roleId);
  return usersHolding(deps.db, tenantId, await listRoleAssignments(deps.db, tenantId, { roleDefinitionId: role.id }));
}

/** The principals a role is assigned to, users and groups, as Graph lists `directoryRoles/{id}/members`. */
export async function listRoleMemberObjects(deps: Pick<DomainDeps, 'db'>, tenantId: string, roleId: string): Promise<DirectoryObject[]> {
  const role = getRoleDefinition(roleId);
  const assignments = await listRoleAssignments(deps.db, tenantId, { roleDefinitionId: role.id });
  const out: DirectoryObject[] = [];
  for (const id of new Set(assignments.map((a) => a.principalId))) {
    const found = await findPrincipal(deps.db, tenantId, id);
    if (found) out.push(found);
  }
  return out;
}

/**
 * A tenant always keeps one user holding Global Administrator, directly or through a role-assignable
 * group. Throws role.last_global_admin (with `message`) when the change described by `removes`
 * (which of the current holdings it takes away) would take away every one of them. An empty group
 * holding the role does not count: it holds nobody. The caller must hold the tenant's audit-chain
 * lock (lockAuditChain) in `trx` and make the change in the same transaction, so that two concurrent
 * changes cannot each see "another holder remains" and together remove the last two.
 */
export async function assertKeepsGlobalAdministrator(trx: Executor, tenantId: string, removes: (h: RoleHolding) => boolean, message: string): Promise<void> {
  const holdings = await listRoleHoldings(trx, tenantId, ROLE.globalAdministrator);
  if (!holdings.some(removes)) return;
  assertThat(holdings.some((h) => !removes(h)), 'role.last_global_admin', { message });
}

// ---- internals ----

async function removeAssignment(deps: DomainDeps, trx: Executor, ctx: RequestContext, assignment: RoleAssignment): Promise<void> {
  const role = getRoleDefinition(assignment.roleDefinitionId);
  if (role.id === ROLE.globalAdministrator) {
    // the caller holds the tenant lock, so the holders cannot change under us
    await assertKeepsGlobalAdministrator(trx, assignment.tenantId, (h) => h.assignmentId === assignment.id,
      'This role assignment is how the last Global Administrator of the tenant holds the role. Assign Global Administrator to another user first.');
  }
  const principal = await findPrincipal(trx, assignment.tenantId, assignment.principalId);
  await deleteRoleAssignment(trx, assignment.tenantId, assignment.id);
  await recordAudit(deps, trx, ctx, {
    tenantId: assignment.tenantId,
    activity: 'Remove member from role',
    category: 'RoleManagement',
    operationType: 'Unassign',
    targets: principal
      ? roleTargets(principalTarget(principal.type === 'user' ? principal.user : principal.group), role, 'old')
      : [{ id: assignment.principalId, displayName: null, type: 'User', userPrincipalName: null, modifiedProperties: [] }, roleTarget(role)],
  });
}

async function findPrincipal(db: Executor, tenantId: string, id: string): Promise<DirectoryObject | undefined> {
  const user = await findUserById(db, tenantId, id);
  if (user) return { type: 'user', user };
  const group = await findGroupById(db, tenantId, id);
  return group && { type: 'group', group };
}

/** A user, or a role-assignable group, of the tenant: the only principals a directory role can be assigned to. */
async function findAssignablePrincipal(db: Executor, tenantId: string, id: string): Promise<DirectoryObject> {
  const found = await findPrincipal(db, tenantId, id);
  if (!found) {
    throw new AppError('user.not_found', {
      message: `The principal '${id}' is not a user or group of this tenant. Directory roles can be assigned to users and role-assignable groups.`,
      data: { principalId: id },
    });
  }
  if (found.type === 'group' && !found.group.isAssignableToRole) {
    throw new AppError('role.principal_not_assignable', {
      message: `The group '${found.group.displayName}' is not role-assignable: only groups created with isAssignableToRole true can be assigned directory roles (the flag cannot be changed later).`,
      data: { principalId: found.group.id },
    });
  }
  return found;
}

/** The users behind assignments: direct user principals plus the direct user members of role-assignable groups. */
async function usersHolding(db: Executor, tenantId: string, assignments: readonly RoleAssignment[]): Promise<User[]> {
  const users = new Map<string, User>();
  for (const id of new Set(assignments.map((a) => a.principalId))) {
    const found = await findPrincipal(db, tenantId, id);
    if (found?.type === 'user') users.set(found.user.id, found.user);
    if (found?.type !== 'group' || !found.group.isAssignableToRole) continue;
    for (const m of await listDirectMembers(db, tenantId, found.group.id)) {
      const user = m.type === 'user' ? await findUserById(db, tenantId, m.id) : undefined;
      if (user) users.set(user.id, user);
    }
  }
  return [...users.values()];
}

const objectId = (o: DirectoryObject): string => (o.type === 'user' ? o.user.id : o.group.id);

function principalTarget(p: User | Group): AuditTarget {
  return 'userPrincipalName' in p
    ? { id: p.id, displayName: p.displayName, type: 'User', userPrincipalName: p.userPrincipalName, modifiedProperties: [] }
    : { id: p.id, displayName: p.displayName, type: 'Group', userPrincipalName: null, groupType: 'securityGroup', modifiedProperties: [] };
}

function roleTarget(role: RoleDefinition): AuditTarget {
  return { id: role.id, displayName: role.displayName, type: 'Role', userPrincipalName: null, modifiedProperties: [] };
}

/** Azure puts Role.ObjectID / Role.DisplayName / Role.TemplateId on the user (or group) target. */
function roleTargets(principal: AuditTarget, role: RoleDefinition, side: 'old' | 'new'): AuditTarget[] {
  const v = (value: string): [unknown, unknown] => (side === 'old' ? [value, undefined] : [undefined, value]);
  return [
    {
      ...principal,
      modifiedProperties: [
        modified('Role.ObjectID', ...v(role.id)),
        modified('Role.DisplayName', ...v(role.displayName)),
        modified('Role.TemplateId', ...v(role.id)),
      ],
    },
    roleTarget(role),
  ];
}
