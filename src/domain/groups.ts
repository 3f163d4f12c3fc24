import { AppError, assertThat } from '../errors.js';
import { lockAuditChain } from '../store/audit-events.js';
import type { Executor } from '../store/database.js';
import {
  deleteGroup as deleteGroupRow,
  deleteGroupMember,
  findGroupById,
  findGroupMember,
  findGroupsByIds,
  findGroupTenantId,
  insertGroup,
  insertGroupMember,
  isTransitiveMemberOf,
  listDirectMemberOf,
  listDirectMembers,
  listGroups,
  listTransitiveMemberOf,
  listTransitiveMembers,
  updateGroup as updateGroupRow,
  type Group,
  type GroupListQuery,
  type GroupPatch,
  type MemberRef,
} from '../store/groups.js';
import { findUserById, findUserByIdOrUpn, type User } from '../store/users.js';
import { modified, recordAudit, type AuditTarget, type RequestContext } from './audit.js';
import type { DomainDeps } from './deps.js';
import { assertMayWriteGroup, assertRoleAssignableShape, immutableFlagError, nestingError } from './role-assignable-groups.js';
import { assertKeepsGlobalAdministrator } from './role-assignments.js';

export type { Group, GroupPatch, MemberRef } from '../store/groups.js';

export interface NewGroupInput {
  tenantId: string;
  displayName: string;
  description?: string | null;
  mailEnabled: boolean;
  mailNickname: string;
  securityEnabled: boolean;
  /** Azure's isAssignableToRole: only Global / Privileged Role Administrators; fixed for the group's life */
  isAssignableToRole?: boolean;
  /** ids of users or groups of the tenant to add as first members ("members@odata.bind") */
  memberIds?: string[];
}

/** PATCH of a group. isAssignableToRole may be repeated with its current value, never changed. */
export type GroupUpdate = GroupPatch & { isAssignableToRole?: boolean | undefined };

/** A resolved directory object: what a membership points at. */
export type DirectoryObject = { type: 'user'; user: User } | { type: 'group'; group: Group };

/** Creates a group (and its first members) with its "Add group" and "Add member to group" events. */
export async function createGroup(deps: DomainDeps, ctx: RequestContext, input: NewGroupInput): Promise<Group> {
  const isAssignableToRole = input.isAssignableToRole ?? false;
  assertMayWriteGroup(ctx.principal, 'groups.write', { isAssignableToRole }, 'create');
  if (isAssignableToRole) assertRoleAssignableShape(input);
  const group: Group = {
    id: deps.random.uuid(),
    tenantId: input.tenantId,
    displayName: input.displayName,
    description: input.description ?? null,
    mailNickname: input.mailNickname,
    securityEnabled: input.securityEnabled,
    mailEnabled: input.mailEnabled,
    createdDateTime: deps.clock.now().toISOString(),
    isAssignableToRole,
  };
  const memberIds = [...new Set((input.memberIds ?? []).map((id) => id.toLowerCase()))];
  await deps.db.transaction().execute(async (trx) => {
    const members: DirectoryObject[] = [];
    for (const id of memberIds) members.push(await resolveDirectoryObject(trx, input.tenantId, id));
    await insertGroup(trx, group);
    await recordAudit(deps, trx, ctx, {
      tenantId: group.tenantId,
      activity: 'Add group',
      category: 'GroupManagement',
      operationType: 'Add',
      targets: [
        groupTarget(group, [
          modified('DisplayName', undefined, [group.displayName]),
          modified('MailNickname', undefined, [group.mailNickname]),
          modified('SecurityEnabled', undefined, [group.securityEnabled]),
          modified('MailEnabled', undefined, [group.mailEnabled]),
          ...(isAssignableToRole ? [modified('IsAssignableToRole', undefined, [true])] : []),
        ]),
      ],
    });
    for (const member of members) await writeMembership(deps, trx, ctx, group, member);
  });
  return group;
}

export async function getGroup(deps: Pick<DomainDeps, 'db'>, tenantId: string, id: string): Promise<Group> {
  const group = await findGroupById(deps.db, tenantId, id);
  if (!group) throw groupNotFound(id);
  return group;
}

export async function findGroups(deps: Pick<DomainDeps, 'db'>, tenantId: string, q: GroupListQuery): Promise<{ groups: Group[]; more: boolean }> {
  return listGroups(deps.db, tenantId, q);
}

/** PATCH semantics: only the given properties change; the event lists old and new values. */
export async function updateGroup(deps: DomainDeps, ctx: RequestContext, tenantId: string, id: string, update: GroupUpdate): Promise<Group> {
  const { isAssignableToRole, ...patch } = update;
  return deps.db.transaction().execute(async (trx) => {
    const before = await findGroupById(trx, tenantId, id);
    if (!before) throw groupNotFound(id);
    if (isAssignableToRole !== undefined && isAssignableToRole !== before.isAssignableToRole) throw immutableFlagError(before.isAssignableToRole);
    assertMayWriteGroup(ctx.principal, 'groups.write', before, 'update');
    const after: Group = { ...before, ...definedOnly(patch) };
    if (before.isAssignableToRole) assertRoleAssignableShape(after);
    const changes = (['displayName', 'description', 'mailNickname', 'securityEnabled', 'mailEnabled'] as const)
      .filter((k) => patch[k] !== undefined && patch[k] !== before[k])
      .map((k) => modified(k.charAt(0).toUpperCase() + k.slice(1), [before[k]], [after[k]]));
    if (changes.length === 0) return before;
    await updateGroupRow(trx, tenantId, before.id, patch);
    await recordAudit(deps, trx, ctx, {
      tenantId,
      activity: 'Update group',
      category: 'GroupManagement',
      operationType: 'Update',
      targets: [groupTarget(after, changes)],
    });
    return after;
  });
}

/**
 * Deleting a role-assignable group takes its roles from its members: under the tenant's audit-chain
 * lock, it is refused when that would leave nobody holding Global Administrator.
 */
export async function deleteGroup(deps: DomainDeps, ctx: RequestContext, tenantId: string, id: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await lockAuditChain(trx, tenantId);
    const group = await findGroupById(trx, tenantId, id);
    if (!group) throw groupNotFound(id);
    assertMayWriteGroup(ctx.principal, 'groups.write', group, 'delete');
    if (group.isAssignableToRole) {
      await assertKeepsGlobalAdministrator(
        trx,
        tenantId,
        (h) => h.groupId === group.id,
        `The group '${group.displayName}' is how the last Global Administrator of the tenant holds the role; deleting it would leave none. Assign Global Administrator to another user first.`,
      );
    }
    await deleteGroupRow(trx, tenantId, group.id);
    await recordAudit(deps, trx, ctx, {
      tenantId,
      activity: 'Delete group',
      category: 'GroupManagement',
      operationType: 'Delete',
      targets: [groupTarget(group, [])],
    });
  });
}

/**
 * `POST groups/{id}/members/$ref`. The tenant's audit-chain lock is taken first: it serialises
 * membership changes of one tenant, so two concurrent adds (A into B, B into A) cannot both pass
 * the cycle check on PostgreSQL.
 */
export async function addGroupMember(deps: DomainDeps, ctx: RequestContext, tenantId: string, groupId: string, memberId: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await lockAuditChain(trx, tenantId);
    const group = await findGroupById(trx, tenantId, groupId);
    if (!group) throw groupNotFound(groupId);
    assertMayWriteGroup(ctx.principal, 'groups.members.write', group, 'members');
    const member = await resolveDirectoryObject(trx, tenantId, memberId);
    await writeMembership(deps, trx, ctx, group, member);
  });
}

/**
 * `DELETE groups/{id}/members/{memberId}/$ref`. Under the tenant's audit-chain lock; removing the
 * last Global Administrator from the role-assignable group they hold the role through is refused.
 */
export async function removeGroupMember(deps: DomainDeps, ctx: RequestContext, tenantId: string, groupId: string, memberId: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await lockAuditChain(trx, tenantId);
    const group = await findGroupById(trx, tenantId, groupId);
    if (!group) throw groupNotFound(groupId);
    assertMayWriteGroup(ctx.principal, 'groups.members.write', group, 'members');
    const ref = await findGroupMember(trx, tenantId, group.id, memberId);
    assertThat(ref, 'group.member_not_found', { message: `The object '${memberId}' is not a member of the group '${group.id}'.` });
    if (group.isAssignableToRole) {
      await assertKeepsGlobalAdministrator(
        trx,
        tenantId,
        (h) => h.groupId === group.id && h.userId === ref.id,
        `The object '${ref.id}' is the last Global Administrator of the tenant and holds the role through the group '${group.displayName}'; removing it from the group would leave none. Assign Global Administrator to another user first.`,
      );
    }
    const member = await resolveDirectoryObject(trx, tenantId, ref.id).catch(() => undefined);
    await deleteGroupMember(trx, tenantId, group.id, ref.id);
    await recordAudit(deps, trx, ctx, {
      tenantId,
      activity: 'Remove member from group',
      category: 'GroupManagement',
      operationType: 'Unassign',
      targets: [
        member ? memberTarget(member, group, 'old') : { id: ref.id, displayName: null, type: ref.type === 'user' ? 'User' : 'Group', userPrincipalName: null, modifiedProperties: [] },
        groupTarget(group, []),
      ],
    });
  });
}

export async function listGroupMembers(deps: Pick<DomainDeps, 'db'>, tenantId: string, groupId: string, transitive: boolean): Promise<DirectoryObject[]> {
  const group = await getGroup(deps, tenantId, groupId);
  const refs = transitive ? await listTransitiveMembers(deps.db, tenantId, group.id) : await listDirectMembers(deps.db, tenantId, group.id);
  return loadObjects(deps.db, tenantId, refs);
}

/** `users/{id}/memberOf` and `transitiveMemberOf`: the groups, by id. */
export async function listUserMemberOf(deps: Pick<DomainDeps, 'db'>, tenantId: string, userKey: string, transitive: boolean): Promise<Group[]> {
  const user = await findUserByIdOrUpn(deps.db, tenantId, userKey);
  assertThat(user, 'user.not_found', { message: `Resource '${userKey}' does not exist or one of its queried reference-property objects are not present.` });
  const ids = transitive ? await listTransitiveMemberOf(deps.db, tenantId, user.id) : await listDirectMemberOf(deps.db, tenantId, user.id);
  return findGroupsByIds(deps.db, tenantId, ids);
}

/**
 * Is the user a member of the group directly or through nested groups? (SSPR "selected group".)
 * The group's own tenant scopes the walk; an unknown group has no members.
 */
export async function isTransitiveMember(db: Executor, groupId: string, userId: string): Promise<boolean> {
  const tenantId = await findGroupTenantId(db, groupId);
  if (tenantId === undefined) return false;
  return isTransitiveMemberOf(db, tenantId, groupId.toLowerCase(), userId);
}

// ---- internals ----

/** A user or group of the tenant by id; anything else (other tenants' objects too) is 404. */
async function resolveDirectoryObject(db: Executor, tenantId: string, id: string): Promise<DirectoryObject> {
  const user = await findUserById(db, tenantId, id);
  if (user) return { type: 'user', user };
  const group = await findGroupById(db, tenantId, id);
  if (group) return { type: 'group', group };
  throw new AppError('request.not_found', {
    message: `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
    data: { id },
  });
}

async function writeMembership(deps: DomainDeps, trx: Executor, ctx: RequestContext, group: Group, member: DirectoryObject): Promise<void> {
  const memberId = member.type === 'user' ? member.user.id : member.group.id;
  assertThat(!(await findGroupMember(trx, group.tenantId, group.id, memberId)), 'group.member_exists');
  if (member.type === 'group' && group.isAssignableToRole) throw nestingError(group.id, memberId);
  if (member.type === 'group') {
    // adding M to G closes a loop when G is M, or G is already (transitively) inside M
    const cycle = memberId === group.id || (await isTransitiveMemberOf(trx, group.tenantId, memberId, group.id));
    assertThat(!cycle, 'group.cycle', {
      message: `Adding the group '${memberId}' to '${group.id}' would make a group a member of itself.`,
    });
  }
  await insertGroupMember(trx, { tenantId: group.tenantId, groupId: group.id, member: { id: memberId, type: member.type }, createdAt: deps.clock.now().toISOString() });
  await recordAudit(deps, trx, ctx, {
    tenantId: group.tenantId,
    activity: 'Add member to group',
    category: 'GroupManagement',
    operationType: 'Assign',
    targets: [memberTarget(member, group, 'new'), groupTarget(group, [])],
  });
}

async function loadObjects(db: Executor, tenantId: string, refs: MemberRef[]): Promise<DirectoryObject[]> {
  const out: DirectoryObject[] = [];
  for (const ref of refs) {
    if (ref.type === 'user') {
      const user = await findUserById(db, tenantId, ref.id);
      if (user) out.push({ type: 'user', user });
    }
  }
  const groups = await findGroupsByIds(db, tenantId, refs.filter((r) => r.type === 'group').map((r) => r.id));
  for (const group of groups) out.push({ type: 'group', group });
  return out;
}

function groupTarget(group: Group, modifiedProperties: AuditTarget['modifiedProperties']): AuditTarget {
  return { id: group.id, displayName: group.displayName, type: 'Group', userPrincipalName: null, groupType: 'securityGroup', modifiedProperties };
}

/** Azure records the group on the member target as Group.ObjectID / Group.DisplayName. */
function memberTarget(member: DirectoryObject, group: Group, side: 'old' | 'new'): AuditTarget {
  const props = [
    modified('Group.ObjectID', side === 'old' ? group.id : undefined, side === 'new' ? group.id : undefined),
    modified('Group.DisplayName', side === 'old' ? group.displayName : undefined, side === 'new' ? group.displayName : undefined),
  ];
  return member.type === 'user'
    ? { id: member.user.id, displayName: member.user.displayName, type: 'User', userPrincipalName: member.user.userPrincipalName, modifiedProperties: props }
    : { id: member.group.id, displayName: member.group.displayName, type: 'Group', userPrincipalName: null, modifiedProperties: props };
}

function groupNotFound(id: string): AppError {
  return new AppError('group.not_found', { message: `Resource '${id}' does not exist or one of its queried reference-property objects are not present.` });
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
