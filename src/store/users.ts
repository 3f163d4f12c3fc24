import type { Selectable } from 'kysely';
import { principalsChanged } from './principal-changes.js';
import type { Executor, UsersTable } from './database.js';
import { fromBool, toBool } from './database.js';
import { filterCondition, type ListFilter, type ListQuery } from './filters.js';
import { precompiled } from './precompiled.js';

export type PasswordSource = 'cloud' | 'hashSync' | 'passThrough';

export interface User {
  id: string;
  tenantId: string;
  userPrincipalName: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  otherMails: string[];
  mobilePhone: string | null;
  businessPhones: string[];
  jobTitle: string | null;
  accountEnabled: boolean;
  passwordPolicies: string | null;
  passwordHash: string | null;
  forceChangePasswordNextSignIn: boolean;
  forceChangePasswordNextSignInWithMfa: boolean;
  lastPasswordChangeDateTime: string | null;
  onPremisesSyncEnabled: boolean | null;
  onPremisesImmutableId: string | null;
  passwordSource: PasswordSource;
  failedSignInCount: number;
  lockoutCount: number;
  lockedUntil: string | null;
  recentBadHashes: string[];
  signInSessionsValidFrom: string;
  createdDateTime: string;
  updatedDateTime: string;
}

/** Properties a Graph PATCH may change (the password has its own path). */
export type UserPatch = Partial<
  Pick<
    User,
    | 'userPrincipalName'
    | 'displayName'
    | 'givenName'
    | 'surname'
    | 'mail'
    | 'otherMails'
    | 'mobilePhone'
    | 'businessPhones'
    | 'jobTitle'
    | 'accountEnabled'
    | 'passwordPolicies'
    | 'forceChangePasswordNextSignIn'
    | 'forceChangePasswordNextSignInWithMfa'
    | 'onPremisesImmutableId'
  >
>;

export async function insertUser(db: Executor, u: User): Promise<void> {
  await db.insertInto('users').values(toRow(u)).execute();
}

// every authenticated request and sign-in reads a user by one of these: built once (src/store/precompiled.ts)
const userByTenantAnd = {
  id: precompiled((db: Executor, tenantId: string, id: string) => db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).limit(1)),
  upn_key: precompiled((db: Executor, tenantId: string, key: string) => db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('upn_key', '=', key).limit(1)),
};
const userByUpnKey = precompiled((db: Executor, key: string) => db.selectFrom('users').selectAll().where('upn_key', '=', key).limit(1));

export async function findUserById(db: Executor, tenantId: string, id: string): Promise<User | undefined> {
  const [row] = await userByTenantAnd.id(db, tenantId, id.toLowerCase());
  return row && toUser(row);
}

/** What a bearer token's check needs of its user: a narrow read (every authenticated request makes it). */
export interface TokenUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  accountEnabled: boolean;
  signInSessionsValidFrom: string;
}

const tokenUserById = precompiled((db: Executor, tenantId: string, id: string) =>
  db
    .selectFrom('users')
    .select(['id', 'user_principal_name', 'display_name', 'account_enabled', 'sign_in_sessions_valid_from'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .limit(1),
);

export async function findTokenUser(db: Executor, tenantId: string, id: string): Promise<TokenUser | undefined> {
  const [r] = await tokenUserById(db, tenantId, id.toLowerCase());
  return r && { id: r.id, userPrincipalName: r.user_principal_name, displayName: r.display_name, accountEnabled: fromBool(r.account_enabled), signInSessionsValidFrom: r.sign_in_sessions_valid_from };
}

/**
 * Where a user's password is decided: on-premises when the account is synchronised from a directory
 * or its password is not a cloud one (hashSync, passThrough). One rule for every path that sets or
 * unlocks a password (admin reset and unlock, self-service reset and unlock, change).
 */
export function isOnPremises(user: Pick<User, 'onPremisesSyncEnabled' | 'passwordSource'>): boolean {
  return user.onPremisesSyncEnabled === true || user.passwordSource !== 'cloud';
}

/**
 * The canonical form a typed UPN is looked up (and throttled) by: NFKC, then lower case, so the
 * full-width, Kelvin-sign and other compatibility spellings of a name are that name, one account and
 * one bucket. Stored UPNs are ASCII (checkUpn), for which this is plain lower case: every upn_key is
 * already in this form. Whatever was typed, mail goes to the stored address only.
 */
export function upnLookupKey(upn: string): string {
  return upn.normalize('NFKC').toLowerCase();
}

/** By UPN across all tenants: the UPN's domain already selects the tenant. */
export async function findUserByUpn(db: Executor, upn: string): Promise<User | undefined> {
  // no UPN holds a NUL, and PostgreSQL refuses one in a text parameter (a 500 instead of "no such user")
  if (upn.includes('\u0000')) return undefined;
  const [row] = await userByUpnKey(db, upnLookupKey(upn));
  return row && toUser(row);
}

/** Graph's `users/{id | userPrincipalName}`. */
export async function findUserByIdOrUpn(db: Executor, tenantId: string, key: string): Promise<User | undefined> {
  if (key.includes('\u0000')) return undefined;
  const [row] = await userByTenantAnd[key.includes('@') ? 'upn_key' : 'id'](db, tenantId, key.toLowerCase());
  return row && toUser(row);
}

/** The properties Graph returns for a user when no `$select` is given (src/http/graph-views.ts). */
export type GraphUserDefaults = Pick<User, 'id' | 'userPrincipalName' | 'displayName' | 'givenName' | 'surname' | 'mail' | 'mobilePhone' | 'businessPhones' | 'jobTitle'>;

/**
 * Every user property Graph can return. Never the password hash, lockout state or session bounds:
 * a Graph answer is built from this narrower row, so they are not even read.
 */
export type GraphUser = GraphUserDefaults &
  Pick<
    User,
    | 'otherMails'
    | 'accountEnabled'
    | 'passwordPolicies'
    | 'forceChangePasswordNextSignIn'
    | 'forceChangePasswordNextSignInWithMfa'
    | 'lastPasswordChangeDateTime'
    | 'onPremisesSyncEnabled'
    | 'onPremisesImmutableId'
    | 'createdDateTime'
  >;

/** Which of a user's Graph properties a read needs: Graph's default set, or any that `$select` may name. */
export type GraphUserColumns = 'defaults' | 'all';

const GRAPH_DEFAULT_COLUMNS = ['id', 'user_principal_name', 'display_name', 'given_name', 'surname', 'mail', 'mobile_phone', 'business_phones', 'job_title'] as const;
const GRAPH_COLUMNS = [
  ...GRAPH_DEFAULT_COLUMNS,
  'other_mails',
  'account_enabled',
  'password_policies',
  'force_change_password_next_sign_in',
  'force_change_password_next_sign_in_with_mfa',
  'last_password_change_at',
  'on_premises_sync_enabled',
  'on_premises_immutable_id',
  'created_at',
] as const;
type GraphDefaultsRow = Pick<Selectable<UsersTable>, (typeof GRAPH_DEFAULT_COLUMNS)[number]>;
type GraphRow = Pick<Selectable<UsersTable>, (typeof GRAPH_COLUMNS)[number]>;

// a Graph read of one user materialises only these columns: SQLite builds a JS object per row, and
// the 31 of `select *` cost twice the 9 of Graph's default set (BENCHMARKS.md, graph-read)
const graphUserBy = {
  defaults: {
    id: precompiled((db: Executor, tenantId: string, id: string) => db.selectFrom('users').select(GRAPH_DEFAULT_COLUMNS).where('tenant_id', '=', tenantId).where('id', '=', id).limit(1)),
    upn_key: precompiled((db: Executor, tenantId: string, key: string) => db.selectFrom('users').select(GRAPH_DEFAULT_COLUMNS).where('tenant_id', '=', tenantId).where('upn_key', '=', key).limit(1)),
  },
  all: {
    id: precompiled((db: Executor, tenantId: string, id: string) => db.selectFrom('users').select(GRAPH_COLUMNS).where('tenant_id', '=', tenantId).where('id', '=', id).limit(1)),
    upn_key: precompiled((db: Executor, tenantId: string, key: string) => db.selectFrom('users').select(GRAPH_COLUMNS).where('tenant_id', '=', tenantId).where('upn_key', '=', key).limit(1)),
  },
};

/** Graph's `users/{id | userPrincipalName}`, with only the properties Graph may show. */
export async function findGraphUser(db: Executor, tenantId: string, key: string, columns: 'defaults'): Promise<GraphUserDefaults | undefined>;
export async function findGraphUser(db: Executor, tenantId: string, key: string, columns: 'all'): Promise<GraphUser | undefined>;
export async function findGraphUser(db: Executor, tenantId: string, key: string, columns: GraphUserColumns): Promise<GraphUserDefaults | GraphUser | undefined> {
  if (key.includes('\u0000')) return undefined;
  const by = key.includes('@') ? 'upn_key' : 'id';
  if (columns === 'defaults') {
    const [row] = await graphUserBy.defaults[by](db, tenantId, key.toLowerCase());
    return row && toGraphUserDefaults(row);
  }
  const [row] = await graphUserBy.all[by](db, tenantId, key.toLowerCase());
  return row && toGraphUser(row);
}

export async function updateUser(db: Executor, tenantId: string, id: string, patch: UserPatch, updatedAt: string): Promise<void> {
  const values: Partial<UsersTable> = { updated_at: updatedAt };
  if (patch.userPrincipalName !== undefined) {
    values.user_principal_name = patch.userPrincipalName;
    values.upn_key = patch.userPrincipalName.toLowerCase();
  }
  if (patch.displayName !== undefined) values.display_name = patch.displayName;
  if (patch.givenName !== undefined) values.given_name = patch.givenName;
  if (patch.surname !== undefined) values.surname = patch.surname;
  if (patch.mail !== undefined) values.mail = patch.mail;
  if (patch.otherMails !== undefined) values.other_mails = JSON.stringify(patch.otherMails);
  if (patch.mobilePhone !== undefined) values.mobile_phone = patch.mobilePhone;
  if (patch.businessPhones !== undefined) values.business_phones = JSON.stringify(patch.businessPhones);
  if (patch.jobTitle !== undefined) values.job_title = patch.jobTitle;
  if (patch.accountEnabled !== undefined) values.account_enabled = toBool(patch.accountEnabled);
  if (patch.passwordPolicies !== undefined) values.password_policies = patch.passwordPolicies;
  if (patch.forceChangePasswordNextSignIn !== undefined) values.force_change_password_next_sign_in = toBool(patch.forceChangePasswordNextSignIn);
  if (patch.forceChangePasswordNextSignInWithMfa !== undefined) {
    values.force_change_password_next_sign_in_with_mfa = toBool(patch.forceChangePasswordNextSignInWithMfa);
  }
  if (patch.onPremisesImmutableId !== undefined) values.on_premises_immutable_id = patch.onPremisesImmutableId;
  await db.updateTable('users').set(values).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  principalsChanged();
}

export async function setPasswordHash(
  db: Executor,
  id: string,
  change: { passwordHash: string; changedAt: string | null; forceChange?: boolean },
): Promise<void> {
  const values: Partial<UsersTable> = { password_hash: change.passwordHash };
  if (change.changedAt !== null) values.last_password_change_at = change.changedAt;
  if (change.forceChange !== undefined) values.force_change_password_next_sign_in = toBool(change.forceChange);
  await db.updateTable('users').set(values).where('id', '=', id).execute();
  principalsChanged();
}

export interface LockoutState {
  failedSignInCount: number;
  lockoutCount: number;
  lockedUntil: string | null;
  recentBadHashes: string[];
}

export async function setLockoutState(db: Executor, id: string, s: LockoutState): Promise<void> {
  await db
    .updateTable('users')
    .set({
      failed_sign_in_count: s.failedSignInCount,
      lockout_count: s.lockoutCount,
      locked_until: s.lockedUntil,
      recent_bad_hashes: JSON.stringify(s.recentBadHashes),
    })
    .where('id', '=', id)
    .execute();
  principalsChanged();
}

export async function deleteUser(db: Executor, tenantId: string, id: string): Promise<void> {
  await db.deleteFrom('group_members').where('member_id', '=', id).execute();
  await db.deleteFrom('role_assignments').where('principal_id', '=', id).execute();
  await db.deleteFrom('users').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  principalsChanged();
}

/** Filterable user properties and the column behind each. */
export const USER_FILTER_COLUMNS = {
  id: 'id',
  userPrincipalName: 'upn_key',
  displayName: 'display_name',
  givenName: 'given_name',
  surname: 'surname',
  mail: 'mail',
  mobilePhone: 'mobile_phone',
  jobTitle: 'job_title',
  accountEnabled: 'account_enabled',
  onPremisesImmutableId: 'on_premises_immutable_id',
} as const satisfies Record<string, keyof UsersTable>;

export type UserFilterField = keyof typeof USER_FILTER_COLUMNS;

export type UserFilter = ListFilter<UserFilterField>;
export type UserListQuery = ListQuery<UserFilterField>;

/** One page of a tenant's users, ordered by id, plus whether more follow. Comparisons ignore case. */
export async function listUsers(db: Executor, tenantId: string, q: UserListQuery): Promise<{ users: User[]; more: boolean }> {
  const rows = await userPage(db, tenantId, q).selectAll().execute();
  return { users: rows.slice(0, q.limit).map(toUser), more: rows.length > q.limit };
}

/** One page of `GET /v1.0/users`, as listUsers, with only the properties Graph may show. */
export async function listGraphUsers(db: Executor, tenantId: string, q: UserListQuery, columns: 'defaults'): Promise<{ users: GraphUserDefaults[]; more: boolean }>;
export async function listGraphUsers(db: Executor, tenantId: string, q: UserListQuery, columns: 'all'): Promise<{ users: GraphUser[]; more: boolean }>;
export async function listGraphUsers(db: Executor, tenantId: string, q: UserListQuery, columns: GraphUserColumns): Promise<{ users: (GraphUserDefaults | GraphUser)[]; more: boolean }> {
  if (columns === 'defaults') {
    const rows = await userPage(db, tenantId, q).select(GRAPH_DEFAULT_COLUMNS).execute();
    return { users: rows.slice(0, q.limit).map(toGraphUserDefaults), more: rows.length > q.limit };
  }
  const rows = await userPage(db, tenantId, q).select(GRAPH_COLUMNS).execute();
  return { users: rows.slice(0, q.limit).map(toGraphUser), more: rows.length > q.limit };
}

/** The page's conditions, order and limit (one row more than asked, to tell whether more follow). */
function userPage(db: Executor, tenantId: string, q: UserListQuery) {
  let query = db.selectFrom('users').where('tenant_id', '=', tenantId);
  for (const f of q.filters) query = query.where(filterCondition(USER_FILTER_COLUMNS[f.field], f.op, f.value));
  if (q.afterId !== undefined) query = query.where('id', '>', q.afterId);
  return query.orderBy('id').limit(q.limit + 1);
}


function toRow(u: User): UsersTable {
  return {
    id: u.id,
    tenant_id: u.tenantId,
    user_principal_name: u.userPrincipalName,
    upn_key: u.userPrincipalName.toLowerCase(),
    display_name: u.displayName,
    given_name: u.givenName,
    surname: u.surname,
    mail: u.mail,
    other_mails: JSON.stringify(u.otherMails),
    mobile_phone: u.mobilePhone,
    business_phones: JSON.stringify(u.businessPhones),
    job_title: u.jobTitle,
    account_enabled: toBool(u.accountEnabled),
    password_policies: u.passwordPolicies,
    password_hash: u.passwordHash,
    force_change_password_next_sign_in: toBool(u.forceChangePasswordNextSignIn),
    force_change_password_next_sign_in_with_mfa: toBool(u.forceChangePasswordNextSignInWithMfa),
    last_password_change_at: u.lastPasswordChangeDateTime,
    on_premises_sync_enabled: u.onPremisesSyncEnabled === null ? null : toBool(u.onPremisesSyncEnabled),
    on_premises_immutable_id: u.onPremisesImmutableId,
    password_source: u.passwordSource,
    failed_sign_in_count: u.failedSignInCount,
    lockout_count: u.lockoutCount,
    locked_until: u.lockedUntil,
    recent_bad_hashes: JSON.stringify(u.recentBadHashes),
    sign_in_sessions_valid_from: u.signInSessionsValidFrom,
    created_at: u.createdDateTime,
    updated_at: u.updatedDateTime,
  };
}

function toUser(r: Selectable<UsersTable>): User {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    userPrincipalName: r.user_principal_name,
    displayName: r.display_name,
    givenName: r.given_name,
    surname: r.surname,
    mail: r.mail,
    otherMails: JSON.parse(r.other_mails) as string[],
    mobilePhone: r.mobile_phone,
    businessPhones: JSON.parse(r.business_phones) as string[],
    jobTitle: r.job_title,
    accountEnabled: fromBool(r.account_enabled),
    passwordPolicies: r.password_policies,
    passwordHash: r.password_hash,
    forceChangePasswordNextSignIn: fromBool(r.force_change_password_next_sign_in),
    forceChangePasswordNextSignInWithMfa: fromBool(r.force_change_password_next_sign_in_with_mfa),
    lastPasswordChangeDateTime: r.last_password_change_at,
    onPremisesSyncEnabled: r.on_premises_sync_enabled === null ? null : fromBool(r.on_premises_sync_enabled),
    onPremisesImmutableId: r.on_premises_immutable_id,
    passwordSource: r.password_source,
    failedSignInCount: r.failed_sign_in_count,
    lockoutCount: r.lockout_count,
    lockedUntil: r.locked_until,
    recentBadHashes: JSON.parse(r.recent_bad_hashes) as string[],
    signInSessionsValidFrom: r.sign_in_sessions_valid_from,
    createdDateTime: r.created_at,
    updatedDateTime: r.updated_at,
  };
}

function toGraphUserDefaults(r: GraphDefaultsRow): GraphUserDefaults {
  return {
    id: r.id,
    userPrincipalName: r.user_principal_name,
    displayName: r.display_name,
    givenName: r.given_name,
    surname: r.surname,
    mail: r.mail,
    mobilePhone: r.mobile_phone,
    businessPhones: JSON.parse(r.business_phones) as string[],
    jobTitle: r.job_title,
  };
}

function toGraphUser(r: GraphRow): GraphUser {
  return {
    ...toGraphUserDefaults(r),
    otherMails: JSON.parse(r.other_mails) as string[],
    accountEnabled: fromBool(r.account_enabled),
    passwordPolicies: r.password_policies,
    forceChangePasswordNextSignIn: fromBool(r.force_change_password_next_sign_in),
    forceChangePasswordNextSignInWithMfa: fromBool(r.force_change_password_next_sign_in_with_mfa),
    lastPasswordChangeDateTime: r.last_password_change_at,
    onPremisesSyncEnabled: r.on_premises_sync_enabled === null ? null : fromBool(r.on_premises_sync_enabled),
    onPremisesImmutableId: r.on_premises_immutable_id,
    createdDateTime: r.created_at,
  };
}

/** Sessions and refresh tokens issued before `at` stop working (password reset, revoke). */
export async function revokeSignInSessions(db: Executor, tenantId: string, id: string, at: string): Promise<void> {
  await db.updateTable('users').set({ sign_in_sessions_valid_from: at }).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  principalsChanged();
}

/**
 * True when `err` is the database refusing a second user with the same UPN (the check-then-insert
 * race the unique index on upn_key settles). SQLite: SQLITE_CONSTRAINT_UNIQUE naming users.upn_key;
 * PostgreSQL: 23505 on the upn_key index.
 */
export function isUpnUniqueViolation(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown; constraint?: unknown; detail?: unknown };
  if (e.code !== '23505' && e.code !== 'SQLITE_CONSTRAINT_UNIQUE') return false;
  return [e.message, e.constraint, e.detail].some((v) => typeof v === 'string' && v.includes('upn_key'));
}
