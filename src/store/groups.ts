import { principalsChanged } from './principal-changes.js';
import type { Executor, GroupsTable } from './database.js';
import { fromBool, toBool } from './database.js';
import { filterCondition, type ListFilter, type ListQuery } from './filters.js';

export interface Group {
  id: string;
  tenantId: string;
  displayName: string;
  description: string | null;
  mailNickname: string | null;
  securityEnabled: boolean;
  mailEnabled: boolean;
  createdDateTime: string;
  /** Azure's isAssignableToRole: set at creation only; direct members hold the group's directory roles */
  isAssignableToRole: boolean;
}

/** A group row to insert; a group is not role-assignable unless it says so. */
export type NewGroupRow = Omit<Group, 'isAssignableToRole'> & { isAssignableToRole?: boolean };

export type GroupPatch = Partial<Pick<Group, 'displayName' | 'description' | 'mailNickname' | 'securityEnabled' | 'mailEnabled'>>;

export type MemberType = 'user' | 'group';

export interface MemberRef {
  id: string;
  type: MemberType;
}

export async function insertGroup(db: Executor, g: NewGroupRow): Promise<void> {
  await db
    .insertInto('groups')
    .values({
      id: g.id,
      tenant_id: g.tenantId,
      display_name: g.displayName,
      description: g.description,
      mail_nickname: g.mailNickname,
      security_enabled: toBool(g.securityEnabled),
      mail_enabled: toBool(g.mailEnabled),
      created_at: g.createdDateTime,
      is_assignable_to_role: toBool(g.isAssignableToRole ?? false),
    })
    .execute();
}

export async function findGroupById(db: Executor, tenantId: string, id: string): Promise<Group | undefined> {
  const row = await db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id.toLowerCase()).executeTakeFirst();
  return row && toGroup(row);
}

/** The tenant of a group id, for callers that hold only the id (SSPR's selected group). */
export async function findGroupTenantId(db: Executor, id: string): Promise<string | undefined> {
  const row = await db.selectFrom('groups').select('tenant_id').where('id', '=', id.toLowerCase()).executeTakeFirst();
  return row?.tenant_id;
}

export async function findGroupsByIds(db: Executor, tenantId: string, ids: readonly string[]): Promise<Group[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', [...ids]).orderBy('id').execute();
  return rows.map(toGroup);
}

export async function updateGroup(db: Executor, tenantId: string, id: string, patch: GroupPatch): Promise<void> {
  const values: Partial<GroupsTable> = {};
  if (patch.displayName !== undefined) values.display_name = patch.displayName;
  if (patch.description !== undefined) values.description = patch.description;
  if (patch.mailNickname !== undefined) values.mail_nickname = patch.mailNickname;
  if (patch.securityEnabled !== undefined) values.security_enabled = toBool(patch.securityEnabled);
  if (patch.mailEnabled !== undefined) values.mail_enabled = toBool(patch.mailEnabled);
  if (Object.keys(values).length === 0) return;
  await db.updateTable('groups').set(values).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  principalsChanged();
}

/** Deletes the group, its member rows, its own memberships in other groups and the roles assigned to it. */
export async function deleteGroup(db: Executor, tenantId: string, id: string): Promise<void> {
  await db.deleteFrom('role_assignments').where('tenant_id', '=', tenantId).where('principal_id', '=', id).execute();
  await db.deleteFrom('group_members').where('tenant_id', '=', tenantId).where((eb) => eb.or([eb('group_id', '=', id), eb('member_id', '=', id)])).execute();
  await db.deleteFrom('groups').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  principalsChanged();
}

/** Filterable group properties and the column behind each. */
export const GROUP_FILTER_COLUMNS = {
  id: 'id',
  displayName: 'display_name',
  description: 'description',
  mailNickname: 'mail_nickname',
  securityEnabled: 'security_enabled',
  mailEnabled: 'mail_enabled',
  isAssignableToRole: 'is_assignable_to_role',
} as const satisfies Record<string, keyof GroupsTable>;

export type GroupFilterField = keyof typeof GROUP_FILTER_COLUMNS;

export type GroupFilter = ListFilter<GroupFilterField>;
export type GroupListQuery = ListQuery<GroupFilterField>;

/** One page of a tenant's groups ordered by id, plus whether more follow. Comparisons ignore case. */
export async function listGroups(db: Executor, tenantId: string, q: GroupListQuery): Promise<{ groups: Group[]; more: boolean }> {
  let query = db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId);
  for (const f of q.filters) query = query.where(filterCondition(GROUP_FILTER_COLUMNS[f.field], f.op, f.value));
  if (q.afterId !== undefined) query = query.where('id', '>', q.afterId);
  const rows = await query.orderBy('id').limit(q.limit + 1).execute();
  return { groups: rows.slice(0, q.limit).map(toGroup), more: rows.length > q.limit };
}


// ---- membership ----

export async function insertGroupMember(db: Executor, m: { tenantId: string; groupId: string; member: MemberRef; createdAt: string }): Promise<void> {
  await db
    .insertInto('group_members')
    .values({ tenant_id: m.tenantId, group_id: m.groupId, member_id: m.member.id, member_type: m.member.type, created_at: m.createdAt })
    .execute();
  principalsChanged();
}

export async function deleteGroupMember(db: Executor, tenantId: string, groupId: string, memberId: string): Promise<void> {
  await db.deleteFrom('group_members').where('tenant_id', '=', tenantId).where('group_id', '=', groupId).where('member_id', '=', memberId).execute();
  principalsChanged();
}

export async function findGroupMember(db: Executor, tenantId: string, groupId: string, memberId: string): Promise<MemberRef | undefined> {
  const row = await db
    .selectFrom('group_members')
    .select(['member_id', 'member_type'])
    .where('tenant_id', '=', tenantId)
    .where('group_id', '=', groupId)
    .where('member_id', '=', memberId.toLowerCase())
    .executeTakeFirst();
  return row && { id: row.member_id, type: row.member_type };
}

/** Direct members of a group, ordered by id. */
export async function listDirectMembers(db: Executor, tenantId: string, groupId: string): Promise<MemberRef[]> {
  const rows = await db
    .selectFrom('group_members')
    .select(['member_id', 'member_type'])
    .where('tenant_id', '=', tenantId)
    .where('group_id', '=', groupId)
    .orderBy('member_id')
    .execute();
  return rows.map((r) => ({ id: r.member_id, type: r.member_type }));
}

/**
 * Every member reachable from a group through nested groups (the group itself excluded). A recursive
 * CTE with UNION (not UNION ALL) removes repeats, so it terminates even if a cycle slipped in.
 */
export async function listTransitiveMembers(db: Executor, tenantId: string, groupId: string): Promise<MemberRef[]> {
  const rows = await db
    .withRecursive('tree(member_id, member_type)', (qb) =>
      qb
        .selectFrom('group_members')
        .select(['member_id', 'member_type'])
        .where('tenant_id', '=', tenantId)
        .where('group_id', '=', groupId)
        .union((qb2) =>
          qb2
            .selectFrom('group_members')
            .innerJoin('tree', 'tree.member_id', 'group_members.group_id')
            .select(['group_members.member_id', 'group_members.member_type'])
            .where('group_members.tenant_id', '=', tenantId),
        ),
    )
    .selectFrom('tree')
    .select(['member_id', 'member_type'])
    .where('member_id', '!=', groupId)
    .orderBy('member_id')
    .execute();
  return dedupe(rows.map((r) => ({ id: r.member_id, type: r.member_type })));
}

/** The groups an object is a direct member of. */
export async function listDirectMemberOf(db: Executor, tenantId: string, memberId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('group_members')
    .select('group_id')
    .where('tenant_id', '=', tenantId)
    .where('member_id', '=', memberId)
    .orderBy('group_id')
    .execute();
  return rows.map((r) => r.group_id);
}

/**
 * The role-assignable groups an object is a direct member of. Role-assignable groups cannot contain
 * groups, so direct membership is the only way to hold their roles.
 */
export async function listRoleAssignableGroupIdsOf(db: Executor, tenantId: string, memberId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('group_members')
    .innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select('group_members.group_id')
    .where('group_members.tenant_id', '=', tenantId)
    .where('group_members.member_id', '=', memberId.toLowerCase())
    .where('groups.is_assignable_to_role', '=', 1)
    .orderBy('group_members.group_id')
    .execute();
  return rows.map((r) => r.group_id);
}

/** Every group an object belongs to directly or through nested groups. */
export async function listTransitiveMemberOf(db: Executor, tenantId: string, memberId: string): Promise<string[]> {
  const rows = await db
    .withRecursive('up(group_id)', (qb) =>
      qb
        .selectFrom('group_members')
        .select('group_id')
        .where('tenant_id', '=', tenantId)
        .where('member_id', '=', memberId)
        .union((qb2) =>
          qb2
            .selectFrom('group_members')
            .innerJoin('up', 'up.group_id', 'group_members.member_id')
            .select('group_members.group_id')
            .where('group_members.tenant_id', '=', tenantId),
        ),
    )
    .selectFrom('up')
    .select('group_id')
    .where('group_id', '!=', memberId)
    .orderBy('group_id')
    .execute();
  return [...new Set(rows.map((r) => r.group_id))];
}

/**
 * Which of `memberIds` are reachable from `groupId` through direct or nested membership: one
 * recursive query for the whole page (UNION removes repeats, so a cycle cannot loop forever).
 */
export async function transitiveMembersAmong(db: Executor, tenantId: string, groupId: string, memberIds: readonly string[]): Promise<Set<string>> {
  if (memberIds.length === 0) return new Set();
  const rows = await db
    .withRecursive('tree(member_id)', (qb) =>
      qb
        .selectFrom('group_members')
        .select('member_id')
        .where('tenant_id', '=', tenantId)
        .where('group_id', '=', groupId)
        .union((qb2) =>
          qb2
            .selectFrom('group_members')
            .innerJoin('tree', 'tree.member_id', 'group_members.group_id')
            .select('group_members.member_id')
            .where('group_members.tenant_id', '=', tenantId),
        ),
    )
    .selectFrom('tree')
    .select('member_id')
    .where('member_id', 'in', memberIds.map((id) => id.toLowerCase()))
    .execute();
  return new Set(rows.map((r) => r.member_id));
}

/** Is `memberId` reachable from `groupId` through direct or nested membership? */
export async function isTransitiveMemberOf(db: Executor, tenantId: string, groupId: string, memberId: string): Promise<boolean> {
  return (await transitiveMembersAmong(db, tenantId, groupId, [memberId])).has(memberId.toLowerCase());
}

function dedupe(refs: MemberRef[]): MemberRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)));
}

function toGroup(r: GroupsTable): Group {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    displayName: r.display_name,
    description: r.description,
    mailNickname: r.mail_nickname,
    securityEnabled: fromBool(r.security_enabled),
    mailEnabled: fromBool(r.mail_enabled),
    createdDateTime: r.created_at,
    isAssignableToRole: fromBool(r.is_assignable_to_role),
  };
}
