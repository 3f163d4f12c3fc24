import { describe, expect, it } from 'vitest';
import { resetRefusal, type ResetTargetFacts } from '../../src/domain/reset-permission.js';
import { canResetPassword, ROLE } from '../../src/domain/roles.js';

const R = ROLE;

/** The performing columns of reference §4.3, in the table's order. */
const COLUMNS = [
  R.passwordAdministrator,
  R.helpdeskAdministrator,
  R.authenticationAdministrator,
  R.userAdministrator,
  R.privilegedAuthenticationAdministrator,
  R.globalAdministrator,
] as const;

const CUSTOM_ROLE = '0b6f6c55-2a1b-4c8e-9d1e-3f1d2c3b4a59';

/**
 * reference/azure-password-management.md §4.3, row by row: target role → which columns (PA, HA, AA,
 * UA, PAA, GA) may reset. `null` = a user with no admin role. The role-assignable-group row is
 * checked separately below (it is a fact about the target's groups, not a role).
 */
const TABLE: [string, string | null, string][] = [
  ['Auth Admin', R.authenticationAdministrator, '..x.xx'],
  ['Directory Readers', R.directoryReaders, 'xxxxxx'],
  ['Global Admin', R.globalAdministrator, '....xx'],
  ['Groups Admin', R.groupsAdministrator, '...xxx'],
  ['Guest Inviter', R.guestInviter, 'xxxxxx'],
  ['Helpdesk Admin', R.helpdeskAdministrator, '.x.xxx'],
  ['Message Center Reader', R.messageCenterReader, '.xxxxx'],
  ['Password Admin', R.passwordAdministrator, 'xxxxxx'],
  ['Privileged Auth Admin', R.privilegedAuthenticationAdministrator, '....xx'],
  ['Privileged Role Admin', R.privilegedRoleAdministrator, '....xx'],
  ['Reports Reader', R.reportsReader, '.xxxxx'],
  ['User (no admin role)', null, 'xxxxxx'],
  ['User Admin', R.userAdministrator, '...xxx'],
  ['User Experience Success Manager', R.userExperienceSuccessManager, '.xxxxx'],
  ['Usage Summary Reports Reader', R.usageSummaryReportsReader, '.xxxxx'],
  // "All other built-in and custom roles"
  ['Security Administrator', R.securityAdministrator, '....xx'],
  ['Security Reader', R.securityReader, '....xx'],
  ['Hybrid Identity Administrator', R.hybridIdentityAdministrator, '....xx'],
  ['a custom role', CUSTOM_ROLE, '....xx'],
];

const cells = TABLE.flatMap(([name, target, marks]) =>
  COLUMNS.map((actor, i) => ({ name, target, actor, allowed: marks[i] === 'x' })),
);

describe('the "who can reset passwords" table (reference §4.3)', () => {
  it.each(cells)('$actor on $name: $allowed', ({ target, actor, allowed }) => {
    const targetRoles = target === null ? [] : [target];
    expect(canResetPassword([actor], targetRoles)).toBe(allowed);
    const facts: ResetTargetFacts = { roles: targetRoles, inRoleAssignableGroup: false };
    expect(resetRefusal([actor], facts, 'password') === null).toBe(allowed);
  });

  it('roles that are not reset columns (Groups Admin, Security Admin, none) reset nobody', () => {
    for (const actor of [[R.groupsAdministrator], [R.securityAdministrator], [R.privilegedRoleAdministrator], []]) {
      expect(canResetPassword(actor, [])).toBe(false);
      expect(resetRefusal(actor, { roles: [], inRoleAssignableGroup: false }, 'password')).toContain('who can reset passwords');
    }
  });

  it('one role must cover every role of the target: two partial roles do not add up', () => {
    expect(canResetPassword([R.helpdeskAdministrator, R.authenticationAdministrator], [R.helpdeskAdministrator, R.authenticationAdministrator])).toBe(false);
    expect(canResetPassword([R.helpdeskAdministrator, R.userAdministrator], [R.helpdeskAdministrator, R.userAdministrator])).toBe(true);
  });
});

describe('members of role-assignable groups', () => {
  const member = (roles: string[] = []): ResetTargetFacts => ({ roles, inRoleAssignableGroup: true });

  it.each(COLUMNS.map((actor, i) => ({ actor, allowed: i >= 4 })))('$actor on a plain member: $allowed', ({ actor, allowed }) => {
    expect(resetRefusal([actor], member(), 'password') === null).toBe(allowed);
  });

  it('even a role the actor could otherwise reset does not help when it comes through the group', () => {
    // Helpdesk may reset a Helpdesk Administrator, but not one who is a role-assignable group member
    expect(resetRefusal([R.helpdeskAdministrator], { roles: [R.helpdeskAdministrator], inRoleAssignableGroup: false }, 'password')).toBeNull();
    expect(resetRefusal([R.helpdeskAdministrator], member([R.helpdeskAdministrator]), 'password')).not.toBeNull();
  });

  it('names the rule and the two roles that may act, for every action', () => {
    const reason = resetRefusal([R.userAdministrator, R.helpdeskAdministrator], member(), 'authenticationMethods');
    expect(reason).toContain('Your roles (User Administrator, Helpdesk Administrator) cannot manage the authentication methods of a member of a role-assignable group');
    expect(reason).toContain('only Privileged Authentication Administrator or Global Administrator can act on members of role-assignable groups');
    expect(resetRefusal([], member(), 'unlock')).toContain('You hold no directory role that can unlock a member of a role-assignable group');
  });
});
