/**
 * The built-in directory roles, with Azure's role template ids so Graph scripts carry over, and the
 * "who can reset passwords" table (reference/azure-password-management.md §4.3).
 */
export const ROLE = {
  globalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
  privilegedAuthenticationAdministrator: '7be44c8a-adaf-4e2a-84d6-ab2649e08a13',
  authenticationAdministrator: 'c4e39bd9-1100-46d3-8c65-fb160da0071f',
  userAdministrator: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  helpdeskAdministrator: '729827e3-9c14-49f7-bb1b-9608f156bbb8',
  passwordAdministrator: '966707d0-3269-4727-9be2-8c3a10f19b9d',
  groupsAdministrator: 'fdd7a751-b60b-444a-984c-02652fe8fa1c',
  privilegedRoleAdministrator: 'e8611ab8-c189-46e8-94e1-60213ab1f814',
  reportsReader: '4a5d8f65-41da-4de4-8968-e035b65339cf',
  directoryReaders: '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
  guestInviter: '95e79109-95c0-4d8e-aee3-d01accf2d47b',
  messageCenterReader: '790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b',
  securityAdministrator: '194ae4cb-b126-40b2-bd5b-6091b380977d',
  securityReader: '5d6b6bb7-de71-4623-b4af-96380a352509',
  hybridIdentityAdministrator: '8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2',
  userExperienceSuccessManager: '27460883-1df1-4691-b032-3b79643e5e63',
  usageSummaryReportsReader: '75934031-6c7e-415a-99d7-48dbd49e875e',
} as const;

export type RoleKey = keyof typeof ROLE;
export type RoleTemplateId = (typeof ROLE)[RoleKey];

export interface RoleDefinition {
  readonly id: RoleTemplateId;
  readonly key: RoleKey;
  readonly displayName: string;
  readonly description: string;
  readonly isPrivileged: boolean;
}

const def = (key: RoleKey, displayName: string, description: string, isPrivileged: boolean): RoleDefinition => ({
  id: ROLE[key],
  key,
  displayName,
  description,
  isPrivileged,
});

export const BUILT_IN_ROLES: readonly RoleDefinition[] = [
  def('globalAdministrator', 'Global Administrator', 'Can manage all aspects of the directory.', true),
  def('privilegedAuthenticationAdministrator', 'Privileged Authentication Administrator', 'Can access to view, set and reset authentication method information for any user (admin or non-admin).', true),
  def('authenticationAdministrator', 'Authentication Administrator', 'Can access to view, set and reset authentication method information for any non-admin user.', true),
  def('userAdministrator', 'User Administrator', 'Can manage all aspects of users and groups, including resetting passwords for limited admins.', true),
  def('helpdeskAdministrator', 'Helpdesk Administrator', 'Can reset passwords for non-administrators and Helpdesk Administrators.', true),
  def('passwordAdministrator', 'Password Administrator', 'Can reset passwords for non-administrators and Password Administrators.', true),
  def('groupsAdministrator', 'Groups Administrator', 'Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies, and view groups activity and audit reports.', false),
  def('privilegedRoleAdministrator', 'Privileged Role Administrator', 'Can manage role assignments in the directory.', true),
  def('reportsReader', 'Reports Reader', 'Can read sign-in and audit reports.', false),
  def('directoryReaders', 'Directory Readers', 'Can read basic directory information.', false),
  def('guestInviter', 'Guest Inviter', 'Can invite guest users independent of the \'members can invite guests\' setting.', false),
  def('messageCenterReader', 'Message Center Reader', 'Can read messages and updates for their organization in Message Center only.', false),
  def('securityAdministrator', 'Security Administrator', 'Can read security information and reports, and manage configuration in security services.', true),
  def('securityReader', 'Security Reader', 'Can read security information and reports.', true),
  def('hybridIdentityAdministrator', 'Hybrid Identity Administrator', 'Can manage on-premises directory synchronisation and password writeback settings.', true),
  def('userExperienceSuccessManager', 'User Experience Success Manager', 'View product feedback, survey results, and reports to find training and communication opportunities.', false),
  def('usageSummaryReportsReader', 'Usage Summary Reports Reader', "Read Usage reports and Adoption Score, but can't access user details.", false),
];

const byId = new Map<string, RoleDefinition>(BUILT_IN_ROLES.map((r) => [r.id, r]));

export function findRole(id: string): RoleDefinition | undefined {
  return byId.get(id.toLowerCase());
}

/**
 * Which target roles each resetting role may reset, from the §4.3 table. `null` = "User (no admin
 * role)". Privileged Authentication Administrator and Global Administrator may reset anyone. Any role
 * not listed in a set ("All other built-in and custom roles": Global Administrator, Privileged
 * Authentication / Role Administrator, Security Administrator / Reader, Hybrid Identity
 * Administrator, unknown ids) is left to those two. The "member of a role-assignable group" row is
 * decided by reset-permission.ts, which knows the target's groups.
 */
const R = ROLE;
const RESETTABLE_BY: Partial<Record<RoleTemplateId, ReadonlySet<string | null>>> = {
  [R.passwordAdministrator]: new Set([null, R.directoryReaders, R.guestInviter, R.passwordAdministrator]),
  [R.helpdeskAdministrator]: new Set([
    null, R.directoryReaders, R.guestInviter, R.helpdeskAdministrator, R.messageCenterReader, R.passwordAdministrator, R.reportsReader,
    R.userExperienceSuccessManager, R.usageSummaryReportsReader,
  ]),
  [R.authenticationAdministrator]: new Set([
    null, R.authenticationAdministrator, R.directoryReaders, R.guestInviter, R.messageCenterReader, R.passwordAdministrator, R.reportsReader,
    R.userExperienceSuccessManager, R.usageSummaryReportsReader,
  ]),
  [R.userAdministrator]: new Set([
    null, R.directoryReaders, R.groupsAdministrator, R.guestInviter, R.helpdeskAdministrator, R.messageCenterReader, R.passwordAdministrator,
    R.reportsReader, R.userAdministrator, R.userExperienceSuccessManager, R.usageSummaryReportsReader,
  ]),
};
const RESETS_ANYONE: ReadonlySet<string> = new Set([R.privilegedAuthenticationAdministrator, R.globalAdministrator]);

/** Privileged Authentication Administrator and Global Administrator: every row of the table. */
export function canResetAnyone(actorRoles: readonly string[]): boolean {
  return actorRoles.some((r) => RESETS_ANYONE.has(r));
}

/**
 * May an actor holding `actorRoles` reset the password (and the SSPR-sensitive properties) of a
 * target holding `targetRoles`? One of the actor's roles must cover every role of the target: each
 * role grants "reset users whose roles are all in this set", and roles add up as a union of those
 * grants, so two partial roles do not combine into a cover.
 */
export function canResetPassword(actorRoles: readonly string[], targetRoles: readonly string[]): boolean {
  if (canResetAnyone(actorRoles)) return true;
  const targets: (string | null)[] = targetRoles.length === 0 ? [null] : [...targetRoles];
  return actorRoles.some((actor) => {
    const allowed = RESETTABLE_BY[actor as RoleTemplateId];
    return allowed !== undefined && targets.every((t) => allowed.has(t));
  });
}
