import type { Executor } from './database.js';

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
}

/**
 * The role template ids a principal holds in its tenant: assigned to it directly, or to a
 * role-assignable group it is a direct member of (such groups do not nest, so one level is all).
 * This is the effective set every authorisation decision uses.
 */
export async function listRoleIdsOfPrincipal(db: Executor, tenantId: string, principalId: string): Promise<string[]> {
  const id = principalId.toLowerCase();
  const rows = await db
    .selectFrom('role_assignments')
    .select('role_definition_id')
    .where('tenant_id', '=', tenantId)
    .where((eb) =>
      eb.or([
        eb('principal_id', '=', id),
        eb(
          'principal_id',
          'in',
          eb
            .selectFrom('group_members')
            .innerJoin('groups', 'groups.id', 'group_members.group_id')
            .select('group_members.group_id')
            .where('group_members.tenant_id', '=', tenantId)
            .where('group_members.member_id', '=', id)
            .where('groups.is_assignable_to_role', '=', 1),
        ),
      ]),
    )
    .execute();
  return [...new Set(rows.map((r) => r.role_definition_id))];
}

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
