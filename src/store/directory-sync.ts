import { principalsChanged } from './principal-changes.js';
import type { Executor, UsersTable } from './database.js';
import type { DailyCountKey } from './audit-counts.js';
import { fromBool } from './database.js';

/**
 * The SQL of directory sync (src/domain/directory-sync.ts). Every read takes a whole batch's anchors
 * or ids at once, so a batch of 1,000 users costs a handful of queries, not thousands.
 */

/** The fields sync compares and writes, for one user matched by anchor. */
export interface SyncedUserRow {
  id: string;
  anchor: string;
  userPrincipalName: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  accountEnabled: boolean;
  passwordHash: string | null;
  passwordSource: UsersTable['password_source'];
  onPremisesSyncEnabled: boolean;
  samAccountName: string | null;
  distinguishedName: string | null;
}

export interface SyncedGroupRow {
  id: string;
  anchor: string;
  displayName: string;
  description: string | null;
  onPremisesSyncEnabled: boolean;
  samAccountName: string | null;
  distinguishedName: string | null;
}

/** SQLite binds at most 32,766 parameters per statement; stay far below with chunks. */
const CHUNK = 500;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function findUsersByAnchors(db: Executor, tenantId: string, anchors: readonly string[]): Promise<Map<string, SyncedUserRow>> {
  const found = new Map<string, SyncedUserRow>();
  for (const part of chunks([...new Set(anchors)])) {
    const rows = await db
      .selectFrom('users')
      .select([
        'id', 'on_premises_immutable_id', 'user_principal_name', 'display_name', 'given_name', 'surname', 'mail', 'account_enabled',
        'password_hash', 'password_source', 'on_premises_sync_enabled', 'on_premises_sam_account_name', 'on_premises_distinguished_name',
      ])
      .where('tenant_id', '=', tenantId)
      .where('on_premises_immutable_id', 'in', part)
      .execute();
    for (const r of rows) {
      found.set(r.on_premises_immutable_id!, {
        id: r.id,
        anchor: r.on_premises_immutable_id!,
        userPrincipalName: r.user_principal_name,
        displayName: r.display_name,
        givenName: r.given_name,
        surname: r.surname,
        mail: r.mail,
        accountEnabled: fromBool(r.account_enabled),
        passwordHash: r.password_hash,
        passwordSource: r.password_source,
        onPremisesSyncEnabled: fromBool(r.on_premises_sync_enabled),
        samAccountName: r.on_premises_sam_account_name ?? null,
        distinguishedName: r.on_premises_distinguished_name ?? null,
      });
    }
  }
  return found;
}

export async function findGroupsByAnchors(db: Executor, tenantId: string, anchors: readonly string[]): Promise<Map<string, SyncedGroupRow>> {
  const found = new Map<string, SyncedGroupRow>();
  for (const part of chunks([...new Set(anchors)])) {
    const rows = await db
      .selectFrom('groups')
      .select(['id', 'on_premises_immutable_id', 'display_name', 'description', 'on_premises_sync_enabled', 'on_premises_sam_account_name', 'on_premises_distinguished_name'])
      .where('tenant_id', '=', tenantId)
      .where('on_premises_immutable_id', 'in', part)
      .execute();
    for (const r of rows) {
      found.set(r.on_premises_immutable_id!, {
        id: r.id,
        anchor: r.on_premises_immutable_id!,
        displayName: r.display_name,
        description: r.description,
        onPremisesSyncEnabled: fromBool(r.on_premises_sync_enabled),
        samAccountName: r.on_premises_sam_account_name ?? null,
        distinguishedName: r.on_premises_distinguished_name ?? null,
      });
    }
  }
  return found;
}

/** Which of these lower-cased UPNs are taken, and by whom (user id by upn_key). */
export async function findUpnOwners(db: Executor, upnKeys: readonly string[]): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  for (const part of chunks([...new Set(upnKeys)])) {
    const rows = await db.selectFrom('users').select(['id', 'upn_key']).where('upn_key', 'in', part).execute();
    for (const r of rows) owners.set(r.upn_key, r.id);
  }
  return owners;
}

/** Direct memberships of these users in synced groups (cloud groups are not sync's to change). */
export async function findSyncedMemberships(db: Executor, tenantId: string, userIds: readonly string[]): Promise<Map<string, Set<string>>> {
  const byUser = new Map<string, Set<string>>();
  for (const part of chunks(userIds)) {
    const rows = await db
      .selectFrom('group_members')
      .innerJoin('groups', 'groups.id', 'group_members.group_id')
      .select(['group_members.member_id', 'group_members.group_id'])
      .where('group_members.tenant_id', '=', tenantId)
      .where('group_members.member_id', 'in', part)
      .where('groups.on_premises_sync_enabled', '=', 1)
      .execute();
    for (const r of rows) {
      let set = byUser.get(r.member_id);
      if (!set) byUser.set(r.member_id, (set = new Set()));
      set.add(r.group_id);
    }
  }
  return byUser;
}

export async function insertUserRows(db: Executor, rows: UsersTable[]): Promise<void> {
  for (const part of chunks(rows, 100)) await db.insertInto('users').values(part).execute();
}

export async function insertMemberships(db: Executor, rows: { tenantId: string; groupId: string; userId: string; createdAt: string }[]): Promise<void> {
  for (const part of chunks(rows, 200)) {
    await db
      .insertInto('group_members')
      .values(part.map((m) => ({ tenant_id: m.tenantId, group_id: m.groupId, member_id: m.userId, member_type: 'user' as const, created_at: m.createdAt })))
      .execute();
    principalsChanged();
  }
}

export async function deleteMembership(db: Executor, tenantId: string, groupId: string, userId: string): Promise<void> {
  await db.deleteFrom('group_members').where('tenant_id', '=', tenantId).where('group_id', '=', groupId).where('member_id', '=', userId).execute();
  principalsChanged();
}

/** Marks these users and groups as seen by the run. */
export async function markSeen(db: Executor, table: 'users' | 'groups', tenantId: string, ids: readonly string[], runId: string): Promise<void> {
  for (const part of chunks(ids)) await db.updateTable(table).set({ last_sync_run: runId }).where('tenant_id', '=', tenantId).where('id', 'in', part).execute();
}

/** Enabled synced users the run did not see: what its final batch disables. */
export async function findUnseenSyncedUsers(db: Executor, tenantId: string, runId: string): Promise<{ id: string; userPrincipalName: string; displayName: string }[]> {
  const rows = await db
    .selectFrom('users')
    .select(['id', 'user_principal_name', 'display_name'])
    .where('tenant_id', '=', tenantId)
    .where('on_premises_sync_enabled', '=', 1)
    .where('account_enabled', '=', 1)
    .where((eb) => eb.or([eb('last_sync_run', 'is', null), eb('last_sync_run', '!=', runId)]))
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: r.id, userPrincipalName: r.user_principal_name, displayName: r.display_name }));
}

/** Disables users and ends their sessions and refresh tokens at once. */
export async function disableUsers(db: Executor, tenantId: string, ids: readonly string[], at: string): Promise<void> {
  for (const part of chunks(ids)) {
    await db
      .updateTable('users')
      .set({ account_enabled: 0, sign_in_sessions_valid_from: at, updated_at: at })
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', part)
      .execute();
    principalsChanged();
    await endSessions(db, part, at);
  }
}

/** Deletes web sessions and revokes refresh tokens of these users. */
export async function endSessions(db: Executor, userIds: readonly string[], at: string): Promise<void> {
  for (const part of chunks(userIds)) {
    await db.deleteFrom('sessions').where('user_id', 'in', part).execute();
    await db.updateTable('refresh_tokens').set({ revoked_at: at }).where('user_id', 'in', part).where('revoked_at', 'is', null).execute();
  }
}

export type SyncedUserUpdate = Partial<Pick<UsersTable,
  'user_principal_name' | 'upn_key' | 'display_name' | 'given_name' | 'surname' | 'mail' | 'account_enabled' | 'password_hash' | 'password_source' |
  'last_password_change_at' | 'on_premises_sam_account_name' | 'on_premises_distinguished_name' | 'sign_in_sessions_valid_from'>>;

export async function updateSyncedUser(db: Executor, tenantId: string, id: string, values: SyncedUserUpdate, at: string): Promise<void> {
  await db.updateTable('users').set({ ...values, updated_at: at }).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  principalsChanged();
}

export async function insertSyncedGroup(
  db: Executor,
  g: { id: string; tenantId: string; anchor: string; displayName: string; description: string | null; samAccountName: string | null; dn: string; createdAt: string; runId: string },
): Promise<void> {
  await db
    .insertInto('groups')
    .values({
      id: g.id,
      tenant_id: g.tenantId,
      display_name: g.displayName,
      description: g.description,
      mail_nickname: g.samAccountName,
      security_enabled: 1,
      mail_enabled: 0,
      created_at: g.createdAt,
      is_assignable_to_role: 0,
      on_premises_immutable_id: g.anchor,
      on_premises_sync_enabled: 1,
      on_premises_sam_account_name: g.samAccountName,
      on_premises_distinguished_name: g.dn,
      last_sync_run: g.runId,
    })
    .execute();
}

export async function updateSyncedGroup(
  db: Executor,
  tenantId: string,
  id: string,
  values: { display_name?: string; description?: string | null; on_premises_distinguished_name?: string },
): Promise<void> {
  if (Object.keys(values).length === 0) return;
  await db.updateTable('groups').set(values).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  principalsChanged();
}

/** `incrementDailyCount` (store/audit-counts.ts) by n at once: one upsert per kind of event in a sync batch. */
export async function addDailyCount(trx: Executor, k: DailyCountKey, n: number): Promise<void> {
  await trx
    .insertInto('audit_daily_counts')
    .values({ tenant_id: k.tenantId, day: k.day, activity_display_name: k.activityDisplayName, result: k.result, result_reason: k.resultReason, logged_by_service: k.loggedByService, count: n })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'day', 'activity_display_name', 'result', 'result_reason', 'logged_by_service'])
        .doUpdateSet((eb) => ({ count: eb('audit_daily_counts.count', '+', n) })),
    )
    .execute();
}

