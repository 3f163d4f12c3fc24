import { AppError } from '../errors.js';
import { lockAuditChain } from '../store/audit-events.js';
import type { Executor, UsersTable } from '../store/database.js';
import {
  disableUsers,
  endSessions,
  findGroupsByAnchors,
  findUnseenSyncedUsers,
  findUpnOwners,
  findUsersByAnchors,
  insertSyncedGroup,
  insertUserRows,
  markSeen,
  updateSyncedGroup,
  updateSyncedUser,
  type SyncedGroupRow,
} from '../store/directory-sync.js';
import { listDomains } from '../store/tenants.js';
import type { SyncAnswer, SyncBatch } from '../writeback/protocol.js';
import { modified, type AuditTarget, type RequestContext } from './audit.js';
import type { DomainDeps } from './deps.js';
import { SyncAuditLog } from './directory-sync-audit.js';
import { syncMemberships } from './directory-sync-members.js';
import { changedAt, desiredUser, diffUser, newUserRow, upnFor } from './directory-sync-users.js';

/** The agent that sent the batch (src/http/agent-auth.ts's AgentPrincipal has this shape). */
export interface SyncAgent {
  agentId: string;
  tenantId: string;
  name: string;
}

export type SyncDeps = Pick<DomainDeps, 'db' | 'clock' | 'random'> & {
  /** accidental-disable prevention (Azure's "prevent accidental deletes", default 500) */
  readonly syncDisableThreshold?: number;
};

/** Azure AD Connect's default export deletion threshold. */
export const DEFAULT_SYNC_DISABLE_THRESHOLD = 500;

/**
 * Applies one page of a directory sync run (SPEC 3.6): groups, then users (matched by their anchor,
 * objectGUID / entryUUID), then the users' memberships in synced groups; the run's final page
 * disables the synced users the run never saw (never deletes them) and ends their sessions.
 *
 * One transaction per batch, one query per kind of row per batch, and one audit event per object
 * that changed (none for the unchanged ones, which are most of every run after the first), each
 * initiated by the agent as an app. Only objects sync created (onPremisesSyncEnabled) are ever
 * changed: a cloud user whose UPN the directory also claims is left alone and the clash audited.
 */
export async function applySyncBatch(deps: SyncDeps, agent: SyncAgent, batch: SyncBatch, request: { ipAddress?: string | null; correlationId?: string } = {}): Promise<SyncAnswer> {
  assertWellFormed(batch);
  const tenantId = agent.tenantId;
  const ctx: RequestContext = {
    principal: { kind: 'app', tenantId, clientId: agent.agentId, displayName: agent.name, permissions: [] },
    ipAddress: request.ipAddress ?? null,
    userAgent: null,
    correlationId: request.correlationId ?? deps.random.uuid(),
  };
  const domains = await listDomains(deps.db, tenantId);
  const verified = new Set(domains.filter((d) => d.isVerified).map((d) => d.domain.toLowerCase()));
  const defaultDomain = (domains.find((d) => d.isDefault) ?? domains[0])?.domain;
  if (!defaultDomain) throw new AppError('tenant.not_found');
  const answer: SyncAnswer = { created: 0, updated: 0, disabled: 0, groupsCreated: 0, groupsUpdated: 0 };

  await deps.db.transaction().execute(async (trx) => {
    // Every event of the batch goes on the tenant's chain: take its lock once, up front.
    await lockAuditChain(trx, tenantId);
    const now = deps.clock.now().toISOString();
    const log = new SyncAuditLog();
    const audit = (activity: 'Add user' | 'Update user' | 'Add group' | 'Update group', target: AuditTarget, result?: { failure: string }) =>
      log.add({
        tenantId,
        activity,
        category: activity.endsWith('group') ? 'GroupManagement' : 'UserManagement',
        operationType: activity.startsWith('Add') ? 'Add' : 'Update',
        targets: [target],
        ...(result ? { result: 'failure' as const, resultReason: result.failure } : {}),
        additionalDetails: [{ key: 'SyncRunId', value: batch.runId }],
      });

    // ---- groups ----
    const groupAnchors = [...batch.groups.map((g) => g.anchor), ...batch.users.flatMap((u) => u.groupAnchors)];
    const groups = await findGroupsByAnchors(trx, tenantId, groupAnchors);
    for (const g of batch.groups) {
      const before = groups.get(g.anchor);
      if (!before) {
        const row: SyncedGroupRow = { id: deps.random.uuid(), anchor: g.anchor, displayName: g.displayName, description: g.description, onPremisesSyncEnabled: true, samAccountName: null, distinguishedName: g.dn };
        await insertSyncedGroup(trx, { ...row, tenantId, samAccountName: null, dn: g.dn, createdAt: now, runId: batch.runId });
        groups.set(g.anchor, row);
        answer.groupsCreated += 1;
        audit('Add group', groupTarget(row, [modified('DisplayName', undefined, [g.displayName]), modified('OnPremisesImmutableId', undefined, [g.anchor])]));
        continue;
      }
      const values: { display_name?: string; description?: string | null; on_premises_distinguished_name?: string } = {};
      const changes: AuditTarget['modifiedProperties'] = [];
      if (g.displayName !== before.displayName) {
        values.display_name = g.displayName;
        changes.push(modified('DisplayName', [before.displayName], [g.displayName]));
      }
      if (g.description !== before.description) {
        values.description = g.description;
        changes.push(modified('Description', [before.description], [g.description]));
      }
      if (g.dn !== before.distinguishedName) {
        values.on_premises_distinguished_name = g.dn;
        changes.push(modified('OnPremisesDistinguishedName', [before.distinguishedName], [g.dn]));
      }
      if (changes.length > 0) {
        await updateSyncedGroup(trx, tenantId, before.id, values);
        groups.set(g.anchor, { ...before, displayName: g.displayName, description: g.description, distinguishedName: g.dn });
        answer.groupsUpdated += 1;
        audit('Update group', groupTarget({ ...before, displayName: g.displayName }, changes));
      }
    }
    await markSeen(trx, 'groups', tenantId, batch.groups.map((g) => groups.get(g.anchor)!.id), batch.runId);

    // ---- users ----
    const existing = await findUsersByAnchors(trx, tenantId, batch.users.map((u) => u.anchor));
    const desired = batch.users.map((u) => ({ source: u, want: desiredUser(u, upnFor(u, verified, defaultDomain)) }));
    const owners = await findUpnOwners(trx, desired.map((d) => d.want.userPrincipalName.toLowerCase()));
    const inserts: UsersTable[] = [];
    const seen: { id: string; source: (typeof desired)[number]['source'] }[] = [];
    const toEnd: string[] = [];
    for (const { source, want } of desired) {
      const key = want.userPrincipalName.toLowerCase();
      const before = existing.get(source.anchor);
      const target = (id: string, upn: string, props: AuditTarget['modifiedProperties']): AuditTarget => ({ id, displayName: want.displayName, type: 'User', userPrincipalName: upn, modifiedProperties: props });
      if (before && !before.onPremisesSyncEnabled) {
        audit('Update user', target(before.id, before.userPrincipalName, []), { failure: 'A cloud user already holds this on-premises anchor; the directory entry was not applied.' });
        continue;
      }
      const owner = owners.get(key);
      if (!before) {
        if (owner !== undefined) {
          audit('Add user', target(source.anchor, want.userPrincipalName, []), { failure: 'Another user already holds this userPrincipalName; the directory entry was not imported.' });
          continue;
        }
        const row = newUserRow(deps.random.uuid(), tenantId, source.anchor, want, batch.runId, now, changedAt(source, now));
        inserts.push(row);
        owners.set(key, row.id);
        seen.push({ id: row.id, source });
        answer.created += 1;
        continue;
      }
      seen.push({ id: before.id, source });
      const diff = diffUser(before, want, owner === undefined || owner === before.id, changedAt(source, now));
      if (diff.changes.length === 0) continue;
      if (diff.values.upn_key !== undefined) {
        owners.delete(before.userPrincipalName.toLowerCase());
        owners.set(diff.values.upn_key, before.id);
      }
      if (diff.disabled) {
        diff.values.sign_in_sessions_valid_from = now;
        toEnd.push(before.id);
        answer.disabled += 1;
      }
      await updateSyncedUser(trx, tenantId, before.id, diff.values, now);
      answer.updated += 1;
      audit('Update user', target(before.id, diff.values.user_principal_name ?? before.userPrincipalName, diff.changes));
    }
    await insertUserRows(trx, inserts);
    for (const row of inserts) {
      audit('Add user', {
        id: row.id,
        displayName: row.display_name,
        type: 'User',
        userPrincipalName: row.user_principal_name,
        modifiedProperties: [
          modified('AccountEnabled', undefined, [row.account_enabled === 1]),
          modified('DisplayName', undefined, [row.display_name]),
          modified('UserPrincipalName', undefined, [row.user_principal_name]),
          modified('OnPremisesImmutableId', undefined, [row.on_premises_immutable_id]),
          modified('PasswordSource', undefined, [row.password_source]),
        ],
      });
    }
    await endSessions(trx, toEnd, now);
    await markSeen(trx, 'users', tenantId, seen.map((s) => s.id), batch.runId);
    await syncMemberships(trx, log, { tenantId, now, groups, users: seen.map((s) => ({ id: s.id, groupAnchors: s.source.groupAnchors })), runId: batch.runId });

    if (batch.final) {
      const outcome = await disableUnseen(trx, log, tenantId, batch.runId, now, deps.syncDisableThreshold ?? DEFAULT_SYNC_DISABLE_THRESHOLD);
      if (typeof outcome === 'number') answer.disabled += outcome;
      else answer.disablePrevented = outcome;
    }
    await log.flush(deps, trx, ctx);
  });
  return answer;
}

/**
 * The final batch: enabled synced users this run never saw are disabled (kept, not deleted) and
 * signed out — unless that would be more than the threshold (an empty or mis-scoped run, a wrong base
 * DN): then nobody is disabled and one failed event says why, as Azure's accidental-delete prevention.
 */
async function disableUnseen(
  trx: Executor,
  log: SyncAuditLog,
  tenantId: string,
  runId: string,
  now: string,
  threshold: number,
): Promise<number | { wouldDisable: number; threshold: number }> {
  const unseen = await findUnseenSyncedUsers(trx, tenantId, runId);
  if (unseen.length > threshold) {
    log.add({
      tenantId,
      activity: 'Disable account',
      category: 'UserManagement',
      operationType: 'Update',
      result: 'failure',
      resultReason: `Accidental-disable prevention: this sync run would disable ${unseen.length} users, more than the threshold of ${threshold}; nobody was disabled. Check the agent's base DN and filter.`,
      targets: [],
      additionalDetails: [{ key: 'SyncRunId', value: runId }, { key: 'WouldDisable', value: String(unseen.length) }],
    });
    return { wouldDisable: unseen.length, threshold };
  }
  await disableUsers(trx, tenantId, unseen.map((u) => u.id), now);
  for (const u of unseen) {
    log.add({
      tenantId,
      activity: 'Disable account',
      category: 'UserManagement',
      operationType: 'Update',
      resultReason: 'The user was not found in the on-premises directory by the last sync run.',
      targets: [{ id: u.id, displayName: u.displayName, type: 'User', userPrincipalName: u.userPrincipalName, modifiedProperties: [modified('AccountEnabled', [true], [false])] }],
      additionalDetails: [{ key: 'SyncRunId', value: runId }],
    });
  }
  return unseen.length;
}

function groupTarget(g: Pick<SyncedGroupRow, 'id' | 'displayName'>, modifiedProperties: AuditTarget['modifiedProperties']): AuditTarget {
  return { id: g.id, displayName: g.displayName, type: 'Group', userPrincipalName: null, groupType: 'securityGroup', modifiedProperties };
}

/**
 * What the schema cannot say: an anchor appears once per batch, and no string holds a NUL (PostgreSQL
 * text cannot store one, and no directory name needs one). Checked before anything is written.
 */
function assertWellFormed(batch: SyncBatch): void {
  const problem = (message: string) => new AppError('request.invalid', { message });
  const userAnchors = new Set<string>();
  for (const u of batch.users) {
    if (userAnchors.has(u.anchor)) throw problem(`The user anchor "${u.anchor.slice(0, 80)}" appears twice in the batch.`);
    userAnchors.add(u.anchor);
  }
  const groupAnchors = new Set<string>();
  for (const g of batch.groups) {
    if (groupAnchors.has(g.anchor)) throw problem(`The group anchor "${g.anchor.slice(0, 80)}" appears twice in the batch.`);
    groupAnchors.add(g.anchor);
  }
  if (JSON.stringify(batch).includes('\\u0000')) throw problem('A value in the batch contains a NUL character.');
}
