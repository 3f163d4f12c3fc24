import { sql } from 'kysely';
import { principalsChanged } from './principal-changes.js';
import type { Executor } from './database.js';
import { precompiled } from './precompiled.js';

export interface RoleAssignment {
  id: string;
  tenantId: string;
  principalId: string;
  roleDefinitionId: string;
  directoryScopeId: string;
  createdDateTime: string;
}

export async function insertRoleAssignment(db: Executor, a: RoleAssignment): Promise<void> {
  await db
    .insertInto('role_assignments')
    .values({
      id: a.id,
      tenant_id: a.tenantId,
      principal_id: a.principalId,
      role_definition_id: a.roleDefinitionId,
      directory_scope_id: a.directoryScopeId,
      created_at: a.createdDateTime,
    })
    .execute();
  principalsChanged();
}

/**
 * The role template ids a principal holds in its tenant: assigned to it directly, or to a
 * role-assignable group it is a direct member of (such groups do not nest, so one level is all).
 * This is the effective set every authorisation decision uses.
 */
export async function listRoleIdsOfPrincipal(db: Executor, tenantId: string, principalId: string): Promise<string[]> {
  const id = principalId.toLowerCase();
  const rows = await rolesOfPrincipal(db, tenantId, id, tenantId, tenantId, id);
  return [...new Set(rows.map((r) => r.role_definition_id))];
}

/**
 * Direct assignments and those through role-assignable groups, as two keyed lookups joined by
 * `union all` rather than one query with `or` (SQLite cannot use the principal index across the
 * `or` and scanned the tenant's assignments on every authenticated request), in one statement:
 * one round trip through Kysely and the driver instead of two on every sign-in and token check.
 */
const rolesOfPrincipal = precompiled((db: Executor, tenantId: string, principalId: string, groupTenantId: string, memberTenantId: string, memberId: string) =>
  db
    .selectFrom('role_assignments')
    .select('role_definition_id')
    .where('principal_id', '=', principalId)
    .where('tenant_id', '=', tenantId)
    .unionAll(
      db
        .selectFrom('role_assignments')
        .select('role_definition_id')
        .where('tenant_id', '=', groupTenantId)
        .where('principal_id', 'in', (eb) =>
          eb
            .selectFrom('group_members')
            .innerJoin('groups', 'groups.id', 'group_members.group_id')
            .select('group_members.group_id')
            .where('group_members.member_id', '=', memberId)
            .where('group_members.tenant_id', '=', memberTenantId)
            .where('groups.is_assignable_to_role', '=', 1),
        ),
    ),
);

export interface RoleAssignmentQuery {
  principalId?: string | undefined;
  roleDefinitionId?: string | undefined;
}

export async function listRoleAssignments(db: Executor, tenantId: string, q: RoleAssignmentQuery = {}): Promise<RoleAssignment[]> {
  let query = db.selectFrom('role_assignments').selectAll().where('tenant_id', '=', tenantId);
  if (q.principalId !== undefined) query = query.where('principal_id', '=', q.principalId);
  if (q.roleDefinitionId !== undefined) query = query.where('role_definition_id', '=', q.roleDefinitionId);
  const rows = await query.orderBy('created_at').orderBy('id').execute();
  return rows.map(toAssignment);
}

export async function findRoleAssignment(db: Executor, tenantId: string, id: string): Promise<RoleAssignment | undefined> {
  const row = await db.selectFrom('role_assignments').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return row && toAssignment(row);
}

export async function deleteRoleAssignment(db: Executor, tenantId: string, id: string): Promise<void> {
  await db.deleteFrom('role_assignments').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  principalsChanged();
}

function toAssignment(r: {
  id: string;
  tenant_id: string;
  principal_id: string;
  role_definition_id: string;
  directory_scope_id: string;
  created_at: string;
}): RoleAssignment {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    principalId: r.principal_id,
    roleDefinitionId: r.role_definition_id,
    directoryScopeId: r.directory_scope_id,
    createdDateTime: r.created_at,
  };
}

/** The one assignment of a role to a principal at a scope, if any. */
export async function findRoleAssignmentOf(
  db: Executor,
  tenantId: string,
  principalId: string,
  roleDefinitionId: string,
  directoryScopeId = '/',
): Promise<RoleAssignment | undefined> {
  const row = await db
    .selectFrom('role_assignments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('principal_id', '=', principalId.toLowerCase())
    .where('role_definition_id', '=', roleDefinitionId.toLowerCase())
    .where('directory_scope_id', '=', directoryScopeId)
    .executeTakeFirst();
  return row && toAssignment(row);
}

/** One way a user holds a role: a direct assignment, or membership of a role-assignable group that holds it. */
export interface RoleHolding {
  assignmentId: string;
  userId: string;
  /** the role-assignable group the role comes through; null for a direct assignment */
  groupId: string | null;
}

/**
 * Every way the tenant's users hold a role, in one query: direct assignments to users, and direct
 * user members of role-assignable groups the role is assigned to (such groups do not nest).
 * Assignments to anything else (an empty group, a deleted principal) hold nobody.
 */
export async function listRoleHoldings(db: Executor, tenantId: string, roleDefinitionId: string): Promise<RoleHolding[]> {
  const roleId = roleDefinitionId.toLowerCase();
  const direct = db
    .selectFrom('role_assignments')
    .innerJoin('users', (j) => j.onRef('users.id', '=', 'role_assignments.principal_id').onRef('users.tenant_id', '=', 'role_assignments.tenant_id'))
    .select(['role_assignments.id as assignment_id', 'users.id as user_id', sql<string | null>`null`.as('group_id')])
    .where('role_assignments.tenant_id', '=', tenantId)
    .where('role_assignments.role_definition_id', '=', roleId);
  const viaGroups = db
    .selectFrom('role_assignments')
    .innerJoin('groups', (j) => j.onRef('groups.id', '=', 'role_assignments.principal_id').onRef('groups.tenant_id', '=', 'role_assignments.tenant_id'))
    .innerJoin('group_members', (j) => j.onRef('group_members.group_id', '=', 'groups.id').onRef('group_members.tenant_id', '=', 'groups.tenant_id'))
    .select(['role_assignments.id as assignment_id', 'group_members.member_id as user_id', 'groups.id as group_id'])
    .where('role_assignments.tenant_id', '=', tenantId)
    .where('role_assignments.role_definition_id', '=', roleId)
    .where('groups.is_assignable_to_role', '=', 1)
    .where('group_members.member_type', '=', 'user');
  const rows = await direct.unionAll(viaGroups).execute();
  return rows.map((r) => ({ assignmentId: r.assignment_id, userId: r.user_id, groupId: r.group_id }));
}
