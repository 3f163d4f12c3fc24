import type { Executor } from '../store/database.js';
import { deleteMembership, findSyncedMemberships, insertMemberships, type SyncedGroupRow } from '../store/directory-sync.js';
import { modified, type AuditTarget } from './audit.js';
import type { SyncAuditLog } from './directory-sync-audit.js';

export interface MembershipInput {
  tenantId: string;
  now: string;
  runId: string;
  /** every group the batch names, by anchor (loaded or created in this batch) */
  groups: ReadonlyMap<string, SyncedGroupRow>;
  users: { id: string; groupAnchors: string[] }[];
}

/**
 * Replaces the batch users' direct memberships in synced groups by the directory's. Memberships in
 * cloud groups are not the directory's and stay. Anchors of groups outside the sync scope are
 * ignored. One "Add member to group" and one "Remove member from group" event per group that
 * changed in this batch, listing the group and every member added or removed.
 */
export async function syncMemberships(trx: Executor, log: SyncAuditLog, input: MembershipInput): Promise<void> {
  const current = await findSyncedMemberships(trx, input.tenantId, input.users.map((u) => u.id));
  const added = new Map<string, string[]>();
  const removed = new Map<string, string[]>();
  const push = (map: Map<string, string[]>, groupId: string, userId: string) => {
    const list = map.get(groupId);
    if (list) list.push(userId);
    else map.set(groupId, [userId]);
  };
  const inserts: { tenantId: string; groupId: string; userId: string; createdAt: string }[] = [];
  for (const u of input.users) {
    const want = new Set(u.groupAnchors.map((a) => input.groups.get(a)?.id).filter((id): id is string => id !== undefined));
    const have = current.get(u.id) ?? new Set<string>();
    for (const groupId of want) {
      if (have.has(groupId)) continue;
      inserts.push({ tenantId: input.tenantId, groupId, userId: u.id, createdAt: input.now });
      push(added, groupId, u.id);
    }
    for (const groupId of have) {
      if (want.has(groupId)) continue;
      await deleteMembership(trx, input.tenantId, groupId, u.id);
      push(removed, groupId, u.id);
    }
  }
  await insertMemberships(trx, inserts);

  const byId = new Map([...input.groups.values()].map((g) => [g.id, g]));
  const record = (activity: 'Add member to group' | 'Remove member from group', groupId: string, userIds: string[]) => {
    const group = byId.get(groupId);
    const side = activity === 'Add member to group' ? 'new' : 'old';
    const props = [
      modified('Group.ObjectID', side === 'old' ? groupId : undefined, side === 'new' ? groupId : undefined),
      modified('Group.DisplayName', side === 'old' ? group?.displayName : undefined, side === 'new' ? group?.displayName : undefined),
    ];
    const targets: AuditTarget[] = [
      { id: groupId, displayName: group?.displayName ?? null, type: 'Group', userPrincipalName: null, groupType: 'securityGroup', modifiedProperties: [] },
      ...userIds.map((id): AuditTarget => ({ id, displayName: null, type: 'User', userPrincipalName: null, modifiedProperties: props })),
    ];
    log.add({
      tenantId: input.tenantId,
      activity,
      category: 'GroupManagement',
      operationType: activity === 'Add member to group' ? 'Assign' : 'Unassign',
      targets,
      additionalDetails: [{ key: 'SyncRunId', value: input.runId }],
    });
  };
  for (const [groupId, userIds] of added) record('Add member to group', groupId, userIds);
  for (const [groupId, userIds] of removed) record('Remove member from group', groupId, userIds);
}
