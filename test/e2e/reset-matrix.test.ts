import { randomBytes } from 'node:crypto';
import type { Client } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignRole } from '../../src/domain/role-assignments.js';
import { ROLE, type RoleKey } from '../../src/domain/roles.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { ADMIN_PASSWORD, testDialects } from '../helpers/context.js';
import { sdkSend, startTlsPostern, type SdkOutcome, type TlsPostern } from '../helpers/graph-tls.js';

/**
 * Acceptance (issue 5): the "who can reset passwords" matrix (reference §4.3), walked with DELEGATED
 * tokens from the real token endpoint through the official Graph SDK, every performer against every
 * target row, for the three paths the table governs:
 *   (a) PATCH /users/{id} passwordProfile.password                    → 204 | 403
 *   (b) PATCH /users/{id} {mobilePhone} (SSPR-sensitive property)     → 204 | 403
 *   (c) POST  /users/{id}/authentication/methods/{password}/resetPassword → 202 | 403
 * The expected table is written out by hand from §4.3; it is never computed by the product's code.
 */

const PASSWORD_METHOD = '28c10230-6103-485e-b985-444c60001490';
const PERFORMER_PASSWORD = 'Tundra-Kestrel-Mosaic-41';

/** §4.3 columns, then two performers with no reset power. */
const PERFORMERS = ['Password', 'Helpdesk', 'Auth', 'User', 'PrivAuth', 'Global', 'Groups', 'none'] as const;
type Performer = (typeof PERFORMERS)[number];
const PERFORMER_ROLE: Record<Performer, RoleKey | null> = {
  Password: 'passwordAdministrator',
  Helpdesk: 'helpdeskAdministrator',
  Auth: 'authenticationAdministrator',
  User: 'userAdministrator',
  PrivAuth: 'privilegedAuthenticationAdministrator',
  Global: 'globalAdministrator',
  Groups: 'groupsAdministrator', // may manage groups, holds no reset power
  none: null, // a plain member of the tenant
};

/**
 * Reference §4.3, transcribed. Columns: Password Admin, Helpdesk Admin, Auth Admin, User Admin,
 * Privileged Auth Admin, Global Admin ("Y" = may reset). Built-in roles without a row of their own
 * (Security Administrator, Security Reader, Hybrid Identity Administrator) fall under "All other
 * built-in and custom roles". Groups Administrator and a plain user are in no column: never allowed.
 */
const TABLE = {
  'User (no admin role)':                          'Y Y Y Y Y Y',
  'Global Administrator':                          '- - - - Y Y',
  'Privileged Authentication Administrator':       '- - - - Y Y',
  'Authentication Administrator':                  '- - Y - Y Y',
  'User Administrator':                            '- - - Y Y Y',
  'Helpdesk Administrator':                        '- Y - Y Y Y',
  'Password Administrator':                        'Y Y Y Y Y Y',
  'Groups Administrator':                          '- - - Y Y Y',
  'Privileged Role Administrator':                 '- - - - Y Y',
  'Reports Reader':                                '- Y Y Y Y Y',
  'Directory Readers':                             'Y Y Y Y Y Y',
  'Guest Inviter':                                 'Y Y Y Y Y Y',
  'Message Center Reader':                         '- Y Y Y Y Y',
  'User Experience Success Manager':               '- Y Y Y Y Y',
  'Usage Summary Reports Reader':                  '- Y Y Y Y Y',
  'Security Administrator (all other roles)':      '- - - - Y Y',
  'Security Reader (all other roles)':             '- - - - Y Y',
  'Hybrid Identity Administrator (all other roles)': '- - - - Y Y',
  'User (no admin role, member of a role-assignable group)': '- - - - Y Y',
  'Helpdesk Administrator through a role-assignable group': '- - - - Y Y',
} as const;
type TargetRow = keyof typeof TABLE;

/** How each target row is made: a directly assigned role, or membership of a role-assignable group. */
const TARGET_SETUP: Record<TargetRow, { role: RoleKey | null; group?: 'plain' | 'withHelpdeskRole' }> = {
  'User (no admin role)': { role: null },
  'Global Administrator': { role: 'globalAdministrator' },
  'Privileged Authentication Administrator': { role: 'privilegedAuthenticationAdministrator' },
  'Authentication Administrator': { role: 'authenticationAdministrator' },
  'User Administrator': { role: 'userAdministrator' },
  'Helpdesk Administrator': { role: 'helpdeskAdministrator' },
  'Password Administrator': { role: 'passwordAdministrator' },
  'Groups Administrator': { role: 'groupsAdministrator' },
  'Privileged Role Administrator': { role: 'privilegedRoleAdministrator' },
  'Reports Reader': { role: 'reportsReader' },
  'Directory Readers': { role: 'directoryReaders' },
  'Guest Inviter': { role: 'guestInviter' },
  'Message Center Reader': { role: 'messageCenterReader' },
  'User Experience Success Manager': { role: 'userExperienceSuccessManager' },
  'Usage Summary Reports Reader': { role: 'usageSummaryReportsReader' },
  'Security Administrator (all other roles)': { role: 'securityAdministrator' },
  'Security Reader (all other roles)': { role: 'securityReader' },
  'Hybrid Identity Administrator (all other roles)': { role: 'hybridIdentityAdministrator' },
  'User (no admin role, member of a role-assignable group)': { role: null, group: 'plain' },
  'Helpdesk Administrator through a role-assignable group': { role: null, group: 'withHelpdeskRole' },
};
const GROUP_ROWS = (Object.keys(TARGET_SETUP) as TargetRow[]).filter((row) => TARGET_SETUP[row].group !== undefined);

function mayReset(performer: Performer, row: TargetRow): boolean {
  const column = PERFORMERS.indexOf(performer);
  return column < 6 && TABLE[row].split(' ')[column] === 'Y';
}

/**
 * What Postern checks BEFORE the table, per authorization.ts (written out, not imported):
 * - setting a password (a, c) needs a role that can reset at all: the six §4.3 columns;
 * - the SSPR contact properties (b: mobilePhone, businessPhones, otherMails) need the sensitive-
 *   properties capability, which §4.3's sensitive-actions table gives Authentication, Privileged
 *   Authentication, User and Global Administrators; Helpdesk and Password Administrators get 403 by
 *   capability whatever the target, and the table decides for the other four.
 */
const CAN_SET_PASSWORDS: ReadonlySet<Performer> = new Set(['Password', 'Helpdesk', 'Auth', 'User', 'PrivAuth', 'Global']);
const CAN_WRITE_SSPR_PROPERTIES: ReadonlySet<Performer> = new Set(['Auth', 'User', 'PrivAuth', 'Global']);

type Expect = { status: number; rule?: RegExp };
const CAPABILITY_RULE = /Insufficient privileges.*a directory role that allows it/;
const OWN_ACCOUNT_RULE = /cannot reset your own password/;
function tableRule(row: TargetRow): RegExp {
  // the group rows are refused by the role-assignable-group rule; role rows by the table
  return TARGET_SETUP[row].group !== undefined ? /role-assignable group/i : /"who can reset passwords" rules/;
}

function expected(performer: Performer, row: TargetRow, success: number, capable: ReadonlySet<Performer>): Expect {
  if (!capable.has(performer)) return { status: 403, rule: CAPABILITY_RULE };
  return mayReset(performer, row) ? { status: success } : { status: 403, rule: tableRule(row) };
}

/** All outcomes of one pair compared at once, so a failure shows every path's status side by side. */
function checkOutcomes(got: Record<string, SdkOutcome>, want: Record<string, Expect>): void {
  const statuses = (o: Record<string, { status: number }>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.status]));
  expect(statuses(got)).toEqual(statuses(want));
  for (const [label, w] of Object.entries(want)) {
    if (!w.rule) continue;
    expect(got[label]?.error?.code, label).toBe('Authorization_RequestDenied');
    expect(got[label]?.error?.message, label).toMatch(w.rule);
  }
}

/** A password the policy accepts, different every time (the targets are reset again and again). */
const freshPassword = () => `${randomBytes(9).toString('base64url')}-Qz7`;

describe.each(testDialects())('the "who can reset passwords" matrix through the Graph SDK on %s', (dialect) => {
  let postern: TlsPostern;
  const performers = new Map<Performer, { id: string; client: Client }>();
  const targets = new Map<TargetRow, string>();
  let phone = 0;

  beforeAll(async () => {
    postern = await startTlsPostern(dialect);
    const { services, tenant } = postern;
    const sys = systemContext(services);
    const tenantId = tenant.tenant.id;

    for (const performer of PERFORMERS) {
      const upn = `performer.${performer.toLowerCase()}@contoso.test`;
      const user = await createUser(services, sys, { tenantId, userPrincipalName: upn, displayName: `Performer ${performer}`, password: PERFORMER_PASSWORD });
      const role = PERFORMER_ROLE[performer];
      if (role) await assignRole(services, sys, { tenantId, principalId: user.id, roleDefinitionId: ROLE[role], directoryScopeId: '/' });
      performers.set(performer, { id: user.id, client: postern.sdk(await postern.passwordToken(upn, PERFORMER_PASSWORD)) });
    }

    // one target per row, reset by every performer in turn
    for (const [index, row] of (Object.keys(TARGET_SETUP) as TargetRow[]).entries()) {
      const user = await createUser(services, sys, { tenantId, userPrincipalName: `target.${index}@contoso.test`, displayName: `Target ${index}`, password: freshPassword() });
      const role = TARGET_SETUP[row].role;
      if (role) await assignRole(services, sys, { tenantId, principalId: user.id, roleDefinitionId: ROLE[role], directoryScopeId: '/' });
      targets.set(row, user.id);
    }
  });

  afterAll(async () => postern?.close());

  async function walk(performer: Performer, row: TargetRow): Promise<void> {
    const { client } = performers.get(performer)!;
    const id = targets.get(row)!;
    const a = await sdkSend(client, 'patch', `/users/${id}`, { passwordProfile: { password: freshPassword(), forceChangePasswordNextSignIn: true } });
    phone += 1;
    const b = await sdkSend(client, 'patch', `/users/${id}`, { mobilePhone: `+1 425 555 ${String(1000 + phone)}` });
    const c = await sdkSend(client, 'post', `/users/${id}/authentication/methods/${PASSWORD_METHOD}/resetPassword`, {});
    checkOutcomes(
      { '(a) PATCH passwordProfile': a, '(b) PATCH mobilePhone': b, '(c) POST resetPassword': c },
      {
        '(a) PATCH passwordProfile': expected(performer, row, 204, CAN_SET_PASSWORDS),
        '(b) PATCH mobilePhone': expected(performer, row, 204, CAN_WRITE_SSPR_PROPERTIES),
        '(c) POST resetPassword': expected(performer, row, 202, CAN_SET_PASSWORDS),
      },
    );
    if (c.status === 202) expect(c.location).toMatch(new RegExp(`^${postern.publicUrl}/v1\\.0/users/${id}/authentication/operations/[^/]+$`));
  }

  describe.each(Object.keys(TABLE).filter((row) => TARGET_SETUP[row as TargetRow].group === undefined) as TargetRow[])('target: %s', (row) => {
    it.each(PERFORMERS)('performer: %s', async (performer) => walk(performer, row));
  });

  describe('targets in role-assignable groups', () => {
    beforeAll(async () => {
      // made through Graph's standard shapes, by the tenant's Global Administrator
      const admin = postern.sdk(await postern.passwordToken('admin@contoso.test', ADMIN_PASSWORD));
      const newGroup = async (nickname: string) =>
        (await admin.api('/groups').post({ displayName: nickname, mailNickname: nickname, mailEnabled: false, securityEnabled: true, isAssignableToRole: true })) as { id: string };
      const addMember = (groupId: string, userId: string) =>
        admin.api(`/groups/${groupId}/members/$ref`).post({ '@odata.id': `${postern.publicUrl}/v1.0/directoryObjects/${userId}` });

      const plain = await newGroup('tier0-plain');
      await addMember(plain.id, targets.get('User (no admin role, member of a role-assignable group)')!);
      const helpdesk = await newGroup('tier0-helpdesk');
      await admin.api('/roleManagement/directory/roleAssignments').post({ principalId: helpdesk.id, roleDefinitionId: ROLE.helpdeskAdministrator, directoryScopeId: '/' });
      await addMember(helpdesk.id, targets.get('Helpdesk Administrator through a role-assignable group')!);
    });

    describe.each(GROUP_ROWS)('target: %s', (row) => {
      it.each(PERFORMERS)('performer: %s', async (performer) => walk(performer, row));
    });
  });

  describe('own account', () => {
    it.each(PERFORMERS)('%s cannot reset their own password through the admin paths', async (performer) => {
      const { client, id } = performers.get(performer)!;
      const a = await sdkSend(client, 'patch', `/users/${id}`, { passwordProfile: { password: freshPassword(), forceChangePasswordNextSignIn: false } });
      const c = await sdkSend(client, 'post', `/users/${id}/authentication/methods/${PASSWORD_METHOD}/resetPassword`, {});
      // a performer who cannot set passwords at all is stopped by that first
      const want: Expect = CAN_SET_PASSWORDS.has(performer) ? { status: 403, rule: OWN_ACCOUNT_RULE } : { status: 403, rule: CAPABILITY_RULE };
      checkOutcomes({ '(a) own PATCH passwordProfile': a, '(c) own POST resetPassword': c }, { '(a) own PATCH passwordProfile': want, '(c) own POST resetPassword': want });
    });
  });
});
