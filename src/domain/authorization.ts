import { AppError } from '../errors.js';
import { ROLE } from './roles.js';

/** Who is calling, as established from an access token or a web session. */
export type Principal =
  | {
      readonly kind: 'app';
      readonly tenantId: string;
      readonly clientId: string;
      readonly displayName: string;
      /** Graph application permissions granted to the app (token `roles` claim) */
      readonly permissions: readonly string[];
    }
  | {
      readonly kind: 'user';
      readonly tenantId: string;
      readonly userId: string;
      readonly userPrincipalName: string;
      readonly displayName: string;
      /** the user's directory role template ids (token `wids` claim), re-read per request */
      readonly roles: readonly string[];
      readonly clientId: string | null;
      readonly scopes: readonly string[];
    };

export const APPLICATION_PERMISSIONS = [
  'User.Read.All',
  'User.ReadWrite.All',
  'Group.Read.All',
  'Group.ReadWrite.All',
  'GroupMember.ReadWrite.All',
  'RoleManagement.Read.Directory',
  'RoleManagement.ReadWrite.Directory',
  'UserAuthenticationMethod.ReadWrite.All',
  'User-PasswordProfile.ReadWrite.All',
  'AuditLog.Read.All',
  'Policy.ReadWrite.AuthenticationMethod',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
  'Policy.Read.All',
  'Policy.ReadWrite.Authorization',
  'User.RevokeSessions.All',
] as const;
export type ApplicationPermission = (typeof APPLICATION_PERMISSIONS)[number];

export function isApplicationPermission(name: string): name is ApplicationPermission {
  return (APPLICATION_PERMISSIONS as readonly string[]).includes(name);
}

export type Capability =
  | 'users.read'
  | 'users.write'
  | 'users.password'
  | 'users.ssprProperties'
  | 'groups.read'
  | 'groups.write'
  | 'groups.members.write'
  | 'groups.roleAssignable.write'
  | 'roles.read'
  | 'roles.write'
  | 'policies.password'
  | 'policies.sspr'
  | 'policies.authorization.read'
  | 'policies.authorization.write'
  | 'reports.read'
  | 'policies.audit'
  | 'users.authenticationMethods'
  | 'users.revokeSessions'
  | 'writeback.manage'
  | 'branding.manage';

/** Application permissions that grant each capability. */
const BY_PERMISSION: Record<Capability, readonly ApplicationPermission[]> = {
  'users.read': ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  'users.write': ['User.ReadWrite.All', 'Directory.ReadWrite.All'],
  // Graph lists User-PasswordProfile.ReadWrite.All as least privileged for passwordProfile, then
  // User.ReadWrite.All and Directory.ReadWrite.All.
  'users.password': ['User-PasswordProfile.ReadWrite.All', 'UserAuthenticationMethod.ReadWrite.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'],
  // mobilePhone, businessPhones, otherMails: the profile data self-service reset relies on
  'users.ssprProperties': ['User.ReadWrite.All', 'Directory.ReadWrite.All'],
  'groups.read': ['Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  'groups.write': ['Group.ReadWrite.All', 'Directory.ReadWrite.All'],
  'groups.members.write': ['Group.ReadWrite.All', 'GroupMember.ReadWrite.All', 'Directory.ReadWrite.All'],
  // Graph: creating a role-assignable group or changing its membership also needs RoleManagement.ReadWrite.Directory
  'groups.roleAssignable.write': ['RoleManagement.ReadWrite.Directory'],
  'roles.read': ['RoleManagement.Read.Directory', 'RoleManagement.ReadWrite.Directory', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  'roles.write': ['RoleManagement.ReadWrite.Directory'],
  'policies.password': ['Policy.ReadWrite.AuthenticationMethod'],
  'policies.sspr': ['Policy.ReadWrite.AuthenticationMethod'],
  'policies.authorization.read': ['Policy.Read.All', 'Policy.ReadWrite.Authorization', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  'policies.authorization.write': ['Policy.ReadWrite.Authorization'],
  // Graph: userRegistrationDetails needs AuditLog.Read.All
  'reports.read': ['AuditLog.Read.All'],
  // audit retention and SIEM webhooks: a tenant policy, like the password policy
  'policies.audit': ['Policy.ReadWrite.AuthenticationMethod'],
  // Graph: managing another user's phone and email methods
  'users.authenticationMethods': ['UserAuthenticationMethod.ReadWrite.All'],
  // Graph: revokeSignInSessions, least privileged first
  'users.revokeSessions': ['User.RevokeSessions.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'],
  // writeback agents: delegated admins only (Hybrid Identity / Global Administrator)
  'writeback.manage': [],
  // company branding (issue 8): delegated admins only, like writeback
  'branding.manage': [],
};

/**
 * Directory roles that grant each capability to a signed-in user. `'*'` = every member of the
 * tenant (Azure lets members read the directory by default). Password resets of other users are
 * decided per target by canResetPassword (roles.ts), not here.
 */
const BY_ROLE: Record<Capability, readonly string[] | '*'> = {
  'users.read': '*',
  'users.write': [ROLE.globalAdministrator, ROLE.userAdministrator],
  'users.password': [
    ROLE.globalAdministrator,
    ROLE.privilegedAuthenticationAdministrator,
    ROLE.authenticationAdministrator,
    ROLE.userAdministrator,
    ROLE.helpdeskAdministrator,
    ROLE.passwordAdministrator,
  ],
  // reference §4.3 sensitive actions: Authentication, Privileged Authentication, User and Global
  // Administrators; per target the who-can-reset table decides (reset-permission.ts)
  'users.ssprProperties': [ROLE.globalAdministrator, ROLE.privilegedAuthenticationAdministrator, ROLE.authenticationAdministrator, ROLE.userAdministrator],
  'groups.read': '*',
  'groups.write': [ROLE.globalAdministrator, ROLE.userAdministrator, ROLE.groupsAdministrator],
  'groups.members.write': [ROLE.globalAdministrator, ROLE.userAdministrator, ROLE.groupsAdministrator],
  // members of a role-assignable group hold its roles: only those who may assign roles manage it
  'groups.roleAssignable.write': [ROLE.globalAdministrator, ROLE.privilegedRoleAdministrator],
  'roles.read': '*',
  'roles.write': [ROLE.globalAdministrator, ROLE.privilegedRoleAdministrator],
  'policies.password': [ROLE.globalAdministrator, ROLE.securityAdministrator],
  'policies.sspr': [ROLE.globalAdministrator, ROLE.securityAdministrator],
  // Graph: reading the authorization policy is a directory read; updating it needs Privileged Role Administrator
  'policies.authorization.read': [ROLE.globalAdministrator, ROLE.privilegedRoleAdministrator, ROLE.securityAdministrator, ROLE.securityReader, ROLE.directoryReaders],
  'policies.authorization.write': [ROLE.globalAdministrator, ROLE.privilegedRoleAdministrator],
  'reports.read': [ROLE.globalAdministrator, ROLE.reportsReader, ROLE.securityReader, ROLE.securityAdministrator],
  'policies.audit': [ROLE.globalAdministrator, ROLE.securityAdministrator],
  'users.authenticationMethods': [ROLE.globalAdministrator, ROLE.privilegedAuthenticationAdministrator, ROLE.authenticationAdministrator],
  'users.revokeSessions': [
    ROLE.globalAdministrator,
    ROLE.privilegedAuthenticationAdministrator,
    ROLE.authenticationAdministrator,
    ROLE.userAdministrator,
    ROLE.helpdeskAdministrator,
    ROLE.passwordAdministrator,
  ],
  'writeback.manage': [ROLE.globalAdministrator, ROLE.hybridIdentityAdministrator],
  'branding.manage': [ROLE.globalAdministrator],
};

export function can(principal: Principal, capability: Capability): boolean {
  if (principal.kind === 'app') {
    return BY_PERMISSION[capability].some((p) => principal.permissions.includes(p));
  }
  const roles = BY_ROLE[capability];
  return roles === '*' || principal.roles.some((r) => roles.includes(r));
}

/** Throws 403 naming what was missing. */
export function requireCapability(principal: Principal, capability: Capability): void {
  if (can(principal, capability)) return;
  const needed =
    principal.kind === 'app'
      ? `one of the application permissions ${BY_PERMISSION[capability].join(', ')}`
      : 'a directory role that allows it';
  throw new AppError('auth.forbidden', {
    message: `Insufficient privileges to complete the operation: it needs ${needed}.`,
    data: { capability },
  });
}
