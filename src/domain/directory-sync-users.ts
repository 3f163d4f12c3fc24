import type { UsersTable } from '../store/database.js';
import type { SyncedUserRow, SyncedUserUpdate } from '../store/directory-sync.js';
import type { SyncBatch } from '../writeback/protocol.js';
import { modified, type AuditTarget } from './audit.js';
import { isSupportedLdapHash } from './ldap-hashes.js';
import { checkUpn, domainOf } from './upn.js';

/** The pure half of user sync: what a directory entry should look like in Postern, and what changed. */

export type SyncedUser = SyncBatch['users'][number];

export interface DesiredUser {
  userPrincipalName: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  accountEnabled: boolean;
  passwordSource: 'hashSync' | 'passThrough';
  /** hashSync: the imported value when Postern can verify it, else null (no cloud sign-in until it can) */
  passwordHash: string | null;
  samAccountName: string;
  distinguishedName: string;
}

/**
 * The directory's userPrincipalName when it is valid and on one of the tenant's verified domains;
 * otherwise name@<default domain>, with characters a UPN may not hold replaced by "_" (Azure falls
 * back to the tenant's initial domain the same way).
 */
export function upnFor(u: SyncedUser, verifiedDomains: ReadonlySet<string>, defaultDomain: string): string {
  if (u.userPrincipalName && !checkUpn(u.userPrincipalName) && verifiedDomains.has(domainOf(u.userPrincipalName))) return u.userPrincipalName;
  let local = u.name.replace(/[^A-Za-z0-9'._!#^~-]/g, '_').slice(0, 64).replace(/^\.+/, '_').replace(/\.+$/, '_');
  if (local.length === 0) local = '_';
  return `${local}@${defaultDomain}`;
}

export function desiredUser(u: SyncedUser, upn: string): DesiredUser {
  const passwordSource = u.passwordHash !== null ? 'hashSync' : 'passThrough';
  return {
    userPrincipalName: upn,
    displayName: u.displayName ?? u.name,
    givenName: u.givenName,
    surname: u.surname,
    mail: u.mail,
    accountEnabled: u.enabled,
    passwordSource,
    passwordHash: u.passwordHash !== null && isSupportedLdapHash(u.passwordHash) ? u.passwordHash : null,
    samAccountName: u.name,
    distinguishedName: u.dn,
  };
}

/** The directory's pwdChangedTime / pwdLastSet when it is a real instant, else now. */
export function changedAt(u: SyncedUser, now: string): string {
  if (u.passwordChangedAt === null) return now;
  const at = new Date(u.passwordChangedAt);
  return Number.isNaN(at.getTime()) ? now : at.toISOString();
}

export function newUserRow(id: string, tenantId: string, anchor: string, d: DesiredUser, runId: string, now: string, passwordChangedAt: string): UsersTable {
  return {
    id,
    tenant_id: tenantId,
    user_principal_name: d.userPrincipalName,
    upn_key: d.userPrincipalName.toLowerCase(),
    display_name: d.displayName,
    given_name: d.givenName,
    surname: d.surname,
    mail: d.mail,
    other_mails: '[]',
    mobile_phone: null,
    business_phones: '[]',
    job_title: null,
    account_enabled: d.accountEnabled ? 1 : 0,
    // Synced users' passwords expire by the directory's policy, not the cloud's (reference §6.10).
    password_policies: 'DisablePasswordExpiration',
    password_hash: d.passwordSource === 'hashSync' ? d.passwordHash : null,
    force_change_password_next_sign_in: 0,
    force_change_password_next_sign_in_with_mfa: 0,
    last_password_change_at: d.passwordSource === 'hashSync' && d.passwordHash !== null ? passwordChangedAt : null,
    on_premises_sync_enabled: 1,
    on_premises_immutable_id: anchor,
    password_source: d.passwordSource,
    failed_sign_in_count: 0,
    lockout_count: 0,
    locked_until: null,
    recent_bad_hashes: '[]',
    sign_in_sessions_valid_from: now,
    created_at: now,
    updated_at: now,
    on_premises_sam_account_name: d.samAccountName,
    on_premises_distinguished_name: d.distinguishedName,
    last_sync_run: runId,
  };
}

export interface UserDiff {
  values: SyncedUserUpdate;
  changes: AuditTarget['modifiedProperties'];
  disabled: boolean;
}

/**
 * What differs between the stored user and the directory entry. The UPN changes only when
 * `upnFree` (nobody else holds the new one). A changed imported hash is stored as is: a hash sync
 * is not a reset, so sessions live on; the audit entry names the change, never the value.
 */
export function diffUser(before: SyncedUserRow, d: DesiredUser, upnFree: boolean, passwordChangedAt: string): UserDiff {
  const values: SyncedUserUpdate = {};
  const changes: AuditTarget['modifiedProperties'] = [];
  const field = <K extends keyof SyncedUserUpdate>(name: string, key: K, old: unknown, next: SyncedUserUpdate[K], shown: unknown = next) => {
    values[key] = next;
    changes.push(modified(name, [old], [shown]));
  };
  if (d.userPrincipalName !== before.userPrincipalName && upnFree) {
    values.upn_key = d.userPrincipalName.toLowerCase();
    field('UserPrincipalName', 'user_principal_name', before.userPrincipalName, d.userPrincipalName);
  }
  if (d.displayName !== before.displayName) field('DisplayName', 'display_name', before.displayName, d.displayName);
  if (d.givenName !== before.givenName) field('GivenName', 'given_name', before.givenName, d.givenName);
  if (d.surname !== before.surname) field('Surname', 'surname', before.surname, d.surname);
  if (d.mail !== before.mail) field('Mail', 'mail', before.mail, d.mail);
  if (d.accountEnabled !== before.accountEnabled) field('AccountEnabled', 'account_enabled', before.accountEnabled, d.accountEnabled ? 1 : 0, d.accountEnabled);
  if (d.samAccountName !== before.samAccountName) field('OnPremisesSamAccountName', 'on_premises_sam_account_name', before.samAccountName, d.samAccountName);
  if (d.distinguishedName !== before.distinguishedName) {
    field('OnPremisesDistinguishedName', 'on_premises_distinguished_name', before.distinguishedName, d.distinguishedName);
  }
  if (d.passwordSource !== before.passwordSource) field('PasswordSource', 'password_source', before.passwordSource, d.passwordSource);
  if (d.passwordSource === 'hashSync' && d.passwordHash !== before.passwordHash) {
    values.password_hash = d.passwordHash;
    values.last_password_change_at = passwordChangedAt;
    changes.push({ displayName: 'PasswordHashSync', oldValue: null, newValue: null });
  }
  return { values, changes, disabled: before.accountEnabled && !d.accountEnabled };
}
