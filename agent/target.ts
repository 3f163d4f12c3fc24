/**
 * What the agent needs from an on-premises directory. Two implementations: ActiveDirectory
 * (agent/targets/active-directory.ts, Samba AD / Windows AD over LDAPS) and OpenLdap
 * (agent/targets/openldap.ts, slapd with ppolicy over LDAPS or StartTLS). Every operation either
 * resolves or throws a DirectoryRefusal; nothing else leaves a target (raw LDAP errors are mapped).
 */

/** Why the directory refused, as the user will be told (the server maps it to a message). */
export type RefusalReason =
  | 'tooShort' // below the minimum length
  | 'recentlyUsed' // in the password history
  | 'tooYoung' // changed too recently (minimum age)
  | 'notComplex' // complexity / quality check failed
  | 'accountDisabled'
  | 'notFound' // no entry for the anchor / name
  | 'protectedAccount' // AD adminCount=1: Azure refuses writeback for these
  | 'wrongPassword' // change or verify: the old/current password is not right
  | 'lockedOut' // the account is locked in the directory (verify / change)
  | 'accessDenied' // the service account lacks the right
  | 'unreachable' // connection, TLS or timeout
  | 'other';

export class DirectoryRefusal extends Error {
  constructor(
    readonly reason: RefusalReason,
    /** the directory's own words, safe to log (never contains a password) */
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'DirectoryRefusal';
  }
}

/** How a user is found: the sync anchor (objectGUID base64 for AD, entryUUID for OpenLDAP), else the login name. */
export interface UserRef {
  anchor: string | null;
  /** sAMAccountName / uid, or userPrincipalName / mail */
  name: string;
}

/** The effective password policy for one user (AD: domain policy or the winning PSO; OpenLDAP: ppolicy). */
export interface EffectivePolicy {
  minLength: number;
  historyLength: number;
  /** minimum age in seconds (0 = none) */
  minAgeSeconds: number;
  complexity: boolean;
  /** where it came from, e.g. "domain policy", "PSO cn=Admins,…", "cn=default,ou=policies,…" */
  source: string;
}

export interface DirectoryUser {
  anchor: string;
  dn: string;
  /** sAMAccountName or uid */
  name: string;
  userPrincipalName: string | null;
  mail: string | null;
  displayName: string | null;
  givenName: string | null;
  surname: string | null;
  enabled: boolean;
  /** anchors of the groups the user is a direct member of */
  groupAnchors: string[];
  /** OpenLDAP only: the userPassword value as stored ({SSHA}…), for password hash sync; AD: null */
  passwordHash: string | null;
  /** ISO-8601 of the last change the directory knows (pwdChangedTime / pwdLastSet), or null */
  passwordChangedAt: string | null;
}

export interface DirectoryGroup {
  anchor: string;
  dn: string;
  displayName: string;
  description: string | null;
}

export interface SyncScope {
  /** under this DN */
  baseDn: string;
  /** an extra LDAP filter ANDed with the user class, e.g. "(department=Sales)"; null = all */
  userFilter: string | null;
}

export interface DirectoryTarget {
  readonly kind: 'activeDirectory' | 'openLdap';
  /** an admin reset / SSPR reset: history, age and complexity apply (AD: policy hints control) */
  resetPassword(user: UserRef, newPassword: string, opts: { mustChange: boolean; unlock: boolean }): Promise<void>;
  /** a self-service change: proves the old password (AD: delete old + add new bound as the user) */
  changePassword(user: UserRef, oldPassword: string, newPassword: string): Promise<void>;
  unlock(user: UserRef): Promise<void>;
  /** pass-through authentication: a bind as the user, within the timeout */
  verifyPassword(user: UserRef, password: string, timeoutMs: number): Promise<void>;
  effectivePolicy(user: UserRef): Promise<EffectivePolicy>;
  /** can we bind as the service account and read the base DN? Never throws: false + reason. */
  checkReachable(): Promise<{ reachable: boolean; detail: string }>;
  listUsers(scope: SyncScope): AsyncIterable<DirectoryUser>;
  listGroups(scope: SyncScope): AsyncIterable<DirectoryGroup>;
  close(): Promise<void>;
}

/** How the agent connects: only ldaps:// or ldap:// + StartTLS, always with a validated certificate. */
export interface DirectoryConnection {
  /** ldaps://host:636 or ldap://host:389 (then startTls must be true) */
  url: string;
  startTls: boolean;
  /** PEM file of the CA that signed the directory's certificate (absent: the system store) */
  caFile: string | null;
  /** the service account (never the directory's root / rootdn) */
  bindDn: string;
  bindPassword: string;
  baseDn: string;
  /** per-operation timeout */
  timeoutMs: number;
}
