import { AppError, assertThat } from '../errors.js';
import { lockAuditChain } from '../store/audit-events.js';
import { findDomain, findTenantById } from '../store/tenants.js';
import {
  deleteUser as deleteUserRow,
  findGraphUser,
  findUserByIdOrUpn,
  listGraphUsers,
  type GraphUser,
  type GraphUserDefaults,
  findUserByUpn,
  insertUser,
  isUpnUniqueViolation,
  updateUser as updateUserRow,
  type User,
  type UserListQuery,
  type UserPatch,
} from '../store/users.js';
import { modified, recordAudit, type AuditTarget, type RequestContext } from './audit.js';
import type { Executor } from '../store/database.js';
import type { DomainDeps } from './deps.js';
import { assertPasswordAllowed, recordPasswordHistory } from './password-rules.js';
import { prepareAdminReset, pushToOnPremises, writeAdminReset, type AdminResetDeps } from './admin-reset.js';
import { assertMayActOnUser } from './reset-permission.js';
import { assertKeepsGlobalAdministrator } from './role-assignments.js';
import { checkUpn, domainOf } from './upn.js';

export interface NewUserInput {
  tenantId: string;
  userPrincipalName: string;
  displayName: string;
  password: string;
  accountEnabled?: boolean;
  forceChangePasswordNextSignIn?: boolean;
  forceChangePasswordNextSignInWithMfa?: boolean;
  givenName?: string | null;
  surname?: string | null;
  mail?: string | null;
  otherMails?: string[];
  mobilePhone?: string | null;
  businessPhones?: string[];
  jobTitle?: string | null;
  passwordPolicies?: string | null;
  onPremisesImmutableId?: string | null;
}

/** Throws the registered error when the UPN is malformed, on a domain the tenant has not verified, or taken. */
export async function assertUpnUsable(deps: Pick<DomainDeps, 'db'>, tenantId: string, upn: string, exceptUserId?: string): Promise<void> {
  const problem = checkUpn(upn);
  assertThat(!problem, 'user.upn_invalid', {
    message: `The userPrincipalName "${upn.slice(0, 120)}" is not valid: ${problem?.reason ?? ''}.`,
  });
  const domain = await findDomain(deps.db, domainOf(upn));
  assertThat(domain && domain.tenantId === tenantId && domain.isVerified, 'user.upn_domain_unverified', {
    data: { domain: domainOf(upn) },
  });
  const existing = await findUserByUpn(deps.db, upn);
  assertThat(!existing || existing.id === exceptUserId, 'user.upn_taken');
}

/** Creates a cloud user with a password; writes the user and its "Add user" event together. */
export async function createUser(deps: DomainDeps, ctx: RequestContext, input: NewUserInput): Promise<User> {
  const tenant = await findTenantById(deps.db, input.tenantId);
  if (!tenant) throw new AppError('tenant.not_found');
  const owner = { givenName: input.givenName ?? null, surname: input.surname ?? null, passwordPolicies: input.passwordPolicies ?? null };
  const policy = await assertPasswordAllowed(deps, { tenant, user: owner, candidate: input.password, purpose: 'create' });
  await assertUpnUsable(deps, input.tenantId, input.userPrincipalName);
  const user = newCloudUser(deps, input, await deps.hasher.hash(input.password));
  await inTransactionMappingUpnRace(deps, async (trx) => {
    await insertUserAudited(deps, trx, ctx, user);
    if (policy.historyCount > 0) await recordPasswordHistory(trx, user.id, user.passwordHash!, user.createdDateTime, policy.historyCount);
  });
  return user;
}

/** The row of a new cloud user; the caller has checked the UPN and hashed the password. */
export function newCloudUser(deps: Pick<DomainDeps, 'clock' | 'random'>, input: Omit<NewUserInput, 'password'>, passwordHash: string): User {
  const now = deps.clock.now().toISOString();
  return {
    id: deps.random.uuid(),
    tenantId: input.tenantId,
    userPrincipalName: input.userPrincipalName,
    displayName: input.displayName,
    givenName: input.givenName ?? null,
    surname: input.surname ?? null,
    mail: input.mail ?? null,
    otherMails: input.otherMails ?? [],
    mobilePhone: input.mobilePhone ?? null,
    businessPhones: input.businessPhones ?? [],
    jobTitle: input.jobTitle ?? null,
    accountEnabled: input.accountEnabled ?? true,
    passwordPolicies: input.passwordPolicies ?? null,
    passwordHash,
    forceChangePasswordNextSignIn: input.forceChangePasswordNextSignIn ?? false,
    forceChangePasswordNextSignInWithMfa: input.forceChangePasswordNextSignInWithMfa ?? false,
    lastPasswordChangeDateTime: now,
    onPremisesSyncEnabled: null,
    onPremisesImmutableId: input.onPremisesImmutableId ?? null,
    passwordSource: 'cloud',
    failedSignInCount: 0,
    lockoutCount: 0,
    lockedUntil: null,
    recentBadHashes: [],
    signInSessionsValidFrom: now,
    createdDateTime: now,
    updatedDateTime: now,
  };
}

/** Inserts the user and its "Add user" event in the caller's transaction. */
export async function insertUserAudited(deps: Pick<DomainDeps, 'clock' | 'random'>, trx: Executor, ctx: RequestContext, user: User): Promise<void> {
  await insertUser(trx, user);
  await recordAudit(deps, trx, ctx, {
    tenantId: user.tenantId,
    activity: 'Add user',
    category: 'UserManagement',
    operationType: 'Add',
    targets: [
      {
        id: user.id,
        displayName: user.displayName,
        type: 'User',
        userPrincipalName: user.userPrincipalName,
        modifiedProperties: [
          modified('AccountEnabled', undefined, [user.accountEnabled]),
          modified('DisplayName', undefined, [user.displayName]),
          modified('UserPrincipalName', undefined, [user.userPrincipalName]),
        ],
      },
    ],
  });
}

// ---- Graph users: read, update, delete ---------------------------------------------------------

/** Runs `work` in one transaction; the unique index settling a UPN race becomes user.upn_taken, never a 500. */
async function inTransactionMappingUpnRace<T>(deps: Pick<DomainDeps, 'db'>, work: (trx: Executor) => Promise<T>): Promise<T> {
  try {
    return await deps.db.transaction().execute(work);
  } catch (err) {
    if (isUpnUniqueViolation(err)) throw new AppError('user.upn_taken', { cause: err });
    throw err;
  }
}

/** Graph's wording for a missing object; the key is echoed (truncated) so the caller sees what was asked. */
export function userNotFound(key: string): AppError {
  return new AppError('user.not_found', {
    message: `Resource '${key.slice(0, 200)}' does not exist or one of its queried reference-property objects are not present.`,
  });
}

/** A user of the tenant by id or UPN (case-insensitive). Other tenants' users are simply not found. */
export async function getUser(deps: Pick<DomainDeps, 'db'>, tenantId: string, key: string): Promise<User> {
  const user = key.length <= 256 ? await findUserByIdOrUpn(deps.db, tenantId, key) : undefined;
  if (!user) throw userNotFound(key);
  return user;
}

/**
 * A user of the tenant by id or UPN for Graph, with only the properties Graph may show: its default
 * set, or all it can return (for `$select`). Not found as getUser says it.
 */
export async function getGraphUser(deps: Pick<DomainDeps, 'db'>, tenantId: string, key: string, columns: 'defaults'): Promise<GraphUserDefaults>;
export async function getGraphUser(deps: Pick<DomainDeps, 'db'>, tenantId: string, key: string, columns: 'all'): Promise<GraphUser>;
export async function getGraphUser(deps: Pick<DomainDeps, 'db'>, tenantId: string, key: string, columns: 'defaults' | 'all'): Promise<GraphUserDefaults | GraphUser> {
  const user = key.length <= 256 ? await (columns === 'all' ? findGraphUser(deps.db, tenantId, key, 'all') : findGraphUser(deps.db, tenantId, key, 'defaults')) : undefined;
  if (!user) throw userNotFound(key);
  return user;
}

/** One page of the tenant's users for Graph, read as getGraphUser reads one. */
export async function listGraphUserPage(deps: Pick<DomainDeps, 'db'>, tenantId: string, query: UserListQuery, columns: 'defaults'): Promise<{ users: GraphUserDefaults[]; more: boolean }>;
export async function listGraphUserPage(deps: Pick<DomainDeps, 'db'>, tenantId: string, query: UserListQuery, columns: 'all'): Promise<{ users: GraphUser[]; more: boolean }>;
export async function listGraphUserPage(deps: Pick<DomainDeps, 'db'>, tenantId: string, query: UserListQuery, columns: 'defaults' | 'all'): Promise<{ users: (GraphUserDefaults | GraphUser)[]; more: boolean }> {
  return columns === 'all' ? listGraphUsers(deps.db, tenantId, query, 'all') : listGraphUsers(deps.db, tenantId, query, 'defaults');
}

export interface UserUpdate {
  patch: UserPatch;
  /** set: an administrator's reset to this password (checked against the policy before hashing) */
  newPassword?: string | undefined;
}

/**
 * Properties that can hand over an account (sign-in name, recovery phones and mails, enablement):
 * on a user who holds directory roles, a signed-in admin may change them only if allowed to reset
 * that user's password (Azure's rule).
 */
const SENSITIVE: readonly (keyof UserPatch)[] = ['accountEnabled', 'businessPhones', 'mobilePhone', 'otherMails', 'userPrincipalName', 'onPremisesImmutableId'];
const FORCE_FLAGS: readonly (keyof UserPatch)[] = ['forceChangePasswordNextSignIn', 'forceChangePasswordNextSignInWithMfa'];

/**
 * What directory sync writes for a synced user (src/domain/directory-sync-users.ts): the on-premises
 * directory is their source, so a cloud edit would be undone by the next sync — Azure refuses it.
 */
const DIRECTORY_MASTERED: readonly (keyof UserPatch)[] = ['userPrincipalName', 'displayName', 'givenName', 'surname', 'mail', 'accountEnabled', 'onPremisesImmutableId'];

function assertNotDirectoryMastered(target: User, patch: UserPatch): void {
  if (target.onPremisesSyncEnabled !== true) return;
  const touched = DIRECTORY_MASTERED.filter((p) => patch[p] !== undefined && patch[p] !== target[p]);
  if (touched.length > 0) throw new AppError('user.onprem_mastered', { data: { properties: touched } });
}

/** Graph PATCH /users/{id}: profile changes and/or an admin password reset, written with their audit events. */
export async function updateUser(deps: AdminResetDeps, ctx: RequestContext, tenantId: string, key: string, change: UserUpdate): Promise<User> {
  const target = await getUser(deps, tenantId, key);
  assertNotDirectoryMastered(target, change.patch);
  const resetting = change.newPassword !== undefined;
  if (resetting) await assertMayActOnUser(deps.db, ctx.principal, target, 'password');
  else if (SENSITIVE.some((p) => change.patch[p] !== undefined)) await assertMayActOnUser(deps.db, ctx.principal, target, 'sensitiveProperties');
  // checked with the names the user will have after this PATCH, before any hashing (admin-reset.ts)
  const reset = change.newPassword === undefined ? undefined : await prepareAdminReset(deps, ctx, target, { ...target, ...change.patch }, change.newPassword);
  const upn = change.patch.userPrincipalName;
  if (upn !== undefined && upn !== target.userPrincipalName) await assertUpnUsable(deps, tenantId, upn, target.id);

  const changes = changedProperties(target, change.patch, resetting ? FORCE_FLAGS : []);
  if (!resetting && changes.length === 0) return target;
  const forceChange = change.patch.forceChangePasswordNextSignIn ?? true;
  // Hashed before the job leaves, and carried with it with the must-change flag, as resetPasswordByAdmin
  // does: if the cloud write below fails after the directory took the password, the writeback sweep
  // completes the cloud side (OnPremisesSuccessCloudFailure). The on-premises directory decides first
  // (a PATCH has no operation to fail); its job is marked applied in the cloud transaction.
  const passwordHash = reset ? await deps.hasher.hash(reset.password) : undefined;
  const done = reset ? await pushToOnPremises(deps, target, reset, { passwordHash, mustChange: forceChange }) : null;
  const now = deps.clock.now().toISOString();

  await inTransactionMappingUpnRace(deps, async (trx) => {
    await updateUserRow(trx, tenantId, target.id, change.patch, now);
    const after = { ...target, ...change.patch };
    if (reset && passwordHash !== undefined) await writeAdminReset(deps, trx, ctx, after, reset, { passwordHash, forceChange, now, done });
    if (changes.length > 0) {
      await recordAudit(deps, trx, ctx, { tenantId, activity: 'Update user', category: 'UserManagement', operationType: 'Update', targets: [userTarget(after, changes)] });
    }
  });
  return {
    ...target,
    ...change.patch,
    ...(passwordHash !== undefined ? { passwordHash, lastPasswordChangeDateTime: now, forceChangePasswordNextSignIn: forceChange, signInSessionsValidFrom: now } : {}),
    updatedDateTime: now,
  };
}

/** Graph DELETE /users/{id}. A tenant always keeps at least one Global Administrator. */
export async function deleteUser(deps: DomainDeps, ctx: RequestContext, tenantId: string, key: string): Promise<void> {
  const target = await getUser(deps, tenantId, key);
  const actor = ctx.principal;
  if (actor?.kind === 'user') {
    assertThat(actor.userId !== target.id, 'user.cannot_delete_self');
    await assertMayActOnUser(deps.db, actor, target, 'delete');
  }
  await deps.db.transaction().execute(async (trx) => {
    // Take the tenant's audit-chain lock before counting, so two concurrent deletes cannot each see
    // "another Global Administrator remains" and together remove the last two.
    await lockAuditChain(trx, tenantId);
    await assertKeepsGlobalAdministrator(
      trx,
      tenantId,
      (h) => h.userId === target.id,
      'The last Global Administrator of a tenant cannot be deleted (directly assigned or through a role-assignable group). Assign the role to another user first.',
    );
    await deleteUserRow(trx, tenantId, target.id);
    await recordAudit(deps, trx, ctx, { tenantId, activity: 'Delete user', category: 'UserManagement', operationType: 'Delete', targets: [userTarget(target, [])] });
  });
}

function changedProperties(before: User, patch: UserPatch, skip: readonly (keyof UserPatch)[]): AuditTarget['modifiedProperties'] {
  return (Object.keys(patch) as (keyof UserPatch)[])
    .filter((k) => patch[k] !== undefined && !skip.includes(k) && JSON.stringify(before[k]) !== JSON.stringify(patch[k]))
    .map((k) => modified(k.charAt(0).toUpperCase() + k.slice(1), [before[k]], [patch[k]]));
}

function userTarget(u: User, modifiedProperties: AuditTarget['modifiedProperties']): AuditTarget {
  return { id: u.id, displayName: u.displayName, type: 'User', userPrincipalName: u.userPrincipalName, modifiedProperties };
}
