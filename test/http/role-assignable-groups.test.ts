import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { findUserById, type User } from '../../src/store/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';

type Json = Record<string, unknown> & { value?: Record<string, unknown>[] };
const ASSIGNMENTS = '/v1.0/roleManagement/directory/roleAssignments';
const RULE_GROUP_ADMINS = 'only a Global Administrator or Privileged Role Administrator can';
const RULE_MEMBER_RESET = 'only Privileged Authentication Administrator or Global Administrator can act on members of role-assignable groups';

interface Actor {
  user: User;
  token: string;
}

describe.each(testDialects())('role-assignable groups on %s', (dialect) => {
  let ctx: TestContext;
  let n = 0;
  let ga: string;
  let roleApp: string;
  let groupApp: string;
  let fullApp: string;
  let pra: Actor;
  let paa: Actor;
  let groupsAdmin: Actor;
  let userAdmin: Actor;
  let helpdesk: Actor;

  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, bearer: string, payload?: unknown) => {
    const res = await ctx.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${bearer}` },
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
    const error = () => res.json<{ error: { message: string; innerError: { code: string } } }>().error;
    return { status: res.statusCode, body: res.body ? res.json<Json>() : ({} as Json), code: () => error().innerError.code, message: () => error().message };
  };
  const newUser = async (name: string): Promise<User> => {
    n += 1;
    return createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: `${name.toLowerCase()}${n}@contoso.test`,
      displayName: name,
      password: 'Umber-Kestrel-Pivot-62',
    });
  };
  const assign = (principalId: string, roleDefinitionId: string) => call('POST', ASSIGNMENTS, roleApp, { principalId, roleDefinitionId, directoryScopeId: '/' });
  const actor = async (name: string, role?: string): Promise<Actor> => {
    const user = await newUser(name);
    if (role) expect((await assign(user.id, role)).status).toBe(201);
    return { user, token: await ctx.userToken(user.userPrincipalName) };
  };
  const newGroup = (bearer: string, name: string, extra: Record<string, unknown> = {}) =>
    call('POST', '/v1.0/groups', bearer, { displayName: name, mailNickname: name.replace(/\W/g, ''), mailEnabled: false, securityEnabled: true, ...extra });
  const roleGroup = async (name: string): Promise<string> => {
    const res = await newGroup(ga, name, { isAssignableToRole: true });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const ref = (id: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });
  const addMember = (groupId: string, memberId: string, bearer = ga) => call('POST', `/v1.0/groups/${groupId}/members/$ref`, bearer, ref(memberId));
  const removeMember = (groupId: string, memberId: string, bearer = ga) => call('DELETE', `/v1.0/groups/${groupId}/members/${memberId}/$ref`, bearer);
  const resetPassword = (target: User, bearer: string) => {
    n += 1;
    return call('PATCH', `/v1.0/users/${target.id}`, bearer, { passwordProfile: { password: `Lantern-Quiver-Spruce-${n}0`, forceChangePasswordNextSignIn: true } });
  };
  const groupNamed = async (name: string) =>
    (await call('GET', `/v1.0/groups?$filter=${encodeURIComponent(`displayName eq '${name}'`)}`, ga)).body.value ?? [];

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    ga = await ctx.userToken('admin@contoso.test');
    roleApp = await ctx.appToken(['RoleManagement.ReadWrite.Directory']);
    groupApp = await ctx.appToken(['Group.ReadWrite.All']);
    fullApp = await ctx.appToken(['Group.ReadWrite.All', 'RoleManagement.ReadWrite.Directory']);
    pra = await actor('Pria', ROLE.privilegedRoleAdministrator);
    paa = await actor('Paula', ROLE.privilegedAuthenticationAdministrator);
    groupsAdmin = await actor('Gus', ROLE.groupsAdministrator);
    userAdmin = await actor('Uma', ROLE.userAdministrator);
    helpdesk = await actor('Hal', ROLE.helpdeskAdministrator);
  });
  afterAll(async () => ctx.close());

  it('lets only Global / Privileged Role Administrators (apps: RoleManagement.ReadWrite.Directory) create one, and shows the flag', async () => {
    const byGa = await newGroup(ga, 'Tier One', { isAssignableToRole: true });
    expect(byGa.status).toBe(201);
    expect(byGa.body).toMatchObject({ isAssignableToRole: true, securityEnabled: true, mailEnabled: false });
    expect((await call('GET', `/v1.0/groups/${byGa.body.id as string}`, groupApp)).body.isAssignableToRole).toBe(true);
    expect((await newGroup(pra.token, 'Tier Two', { isAssignableToRole: true })).status).toBe(201);
    expect((await newGroup(fullApp, 'Tier Three', { isAssignableToRole: true })).status).toBe(201);

    const plain = await newGroup(groupApp, 'Plain Folk');
    expect(plain.body.isAssignableToRole).toBe(false);
    const filtered = await call('GET', `/v1.0/groups?$filter=${encodeURIComponent('isAssignableToRole eq true')}`, groupApp);
    expect(filtered.body.value!.map((g) => g.displayName).sort()).toEqual(['Tier One', 'Tier Three', 'Tier Two']);

    const byGroupsAdmin = await newGroup(groupsAdmin.token, 'Sneaky', { isAssignableToRole: true });
    expect(byGroupsAdmin.status).toBe(403);
    expect(byGroupsAdmin.message()).toContain(`create a role-assignable group: its members hold the directory roles assigned to the group, so ${RULE_GROUP_ADMINS}`);
    const byGroupApp = await newGroup(groupApp, 'Sneaky', { isAssignableToRole: true });
    expect(byGroupApp.status).toBe(403);
    expect(byGroupApp.message()).toContain('RoleManagement.ReadWrite.Directory');
    // Graph wants the group permission too, not only RoleManagement.ReadWrite.Directory
    expect((await newGroup(roleApp, 'Sneaky', { isAssignableToRole: true })).status).toBe(403);
    expect(await groupNamed('Sneaky')).toEqual([]);
    // the same callers still create ordinary groups
    expect((await newGroup(groupsAdmin.token, 'Sneaky')).status).toBe(201);
  });

  it('is a security group that is not mail-enabled, and the flag never changes', async () => {
    expect((await newGroup(ga, 'Bad One', { isAssignableToRole: true, securityEnabled: false })).code()).toBe('group.role_assignable_invalid');
    expect((await newGroup(ga, 'Bad Two', { isAssignableToRole: true, mailEnabled: true })).code()).toBe('group.role_assignable_invalid');
    expect(await groupNamed('Bad One')).toEqual([]);

    const id = await roleGroup('Fixed Flag');
    const plainId = (await newGroup(groupApp, 'Fixed Plain')).body.id as string;
    const unset = await call('PATCH', `/v1.0/groups/${id}`, ga, { isAssignableToRole: false });
    expect(unset.status).toBe(400);
    expect(unset.code()).toBe('group.role_assignable_immutable');
    expect(unset.message()).toContain('can only be set when the group is created');
    expect((await call('PATCH', `/v1.0/groups/${plainId}`, fullApp, { isAssignableToRole: true })).code()).toBe('group.role_assignable_immutable');
    expect((await call('GET', `/v1.0/groups/${id}`, ga)).body.isAssignableToRole).toBe(true);
    expect((await call('GET', `/v1.0/groups/${plainId}`, ga)).body.isAssignableToRole).toBe(false);

    expect((await call('PATCH', `/v1.0/groups/${id}`, ga, { isAssignableToRole: true, description: 'same flag is fine' })).status).toBe(204);
    expect((await call('PATCH', `/v1.0/groups/${id}`, ga, { securityEnabled: false })).code()).toBe('group.role_assignable_invalid');
    const renameByGroupsAdmin = await call('PATCH', `/v1.0/groups/${id}`, groupsAdmin.token, { displayName: 'Renamed' });
    expect(renameByGroupsAdmin.status).toBe(403);
    expect(renameByGroupsAdmin.message()).toContain(RULE_GROUP_ADMINS);
    expect((await call('DELETE', `/v1.0/groups/${id}`, groupApp)).status).toBe(403);
    expect((await call('GET', `/v1.0/groups/${id}`, ga)).body).toMatchObject({ displayName: 'Fixed Flag', description: 'same flag is fine', securityEnabled: true });
  });

  it('has only users as members, and only Global / Privileged Role Administrators change them', async () => {
    const id = await roleGroup('Members Only');
    const plainId = (await newGroup(groupApp, 'Outer Plain')).body.id as string;
    const nested = await addMember(id, plainId);
    expect(nested.status).toBe(400);
    expect(nested.code()).toBe('group.role_assignable_nesting');
    const bound = await newGroup(ga, 'Bound Nest', { isAssignableToRole: true, 'members@odata.bind': [ref(plainId)['@odata.id']] });
    expect(bound.code()).toBe('group.role_assignable_nesting');
    expect(await groupNamed('Bound Nest')).toEqual([]);

    const someone = await newUser('Sam');
    for (const bearer of [groupsAdmin.token, userAdmin.token, groupApp]) {
      const res = await addMember(id, someone.id, bearer);
      expect(res.status).toBe(403);
      expect(res.message()).toContain("add or remove members of a role-assignable group ('Members Only')");
    }
    expect((await call('GET', `/v1.0/groups/${id}/members`, ga)).body.value).toEqual([]);
    expect((await addMember(id, someone.id, pra.token)).status).toBe(204);
    expect((await removeMember(id, someone.id, groupsAdmin.token)).status).toBe(403);
    expect((await call('GET', `/v1.0/groups/${id}/members`, ga)).body.value!.map((m) => m.id)).toEqual([someone.id]);
    expect((await removeMember(id, someone.id, fullApp)).status).toBe(204);

    // the rules are about role-assignable groups only; one may still sit inside an ordinary group,
    // and a Privileged Role Administrator gains nothing over ordinary groups
    expect((await addMember(plainId, someone.id, pra.token)).status).toBe(403);
    expect((await addMember(plainId, someone.id, groupsAdmin.token)).status).toBe(204);
    expect((await addMember(plainId, id, groupsAdmin.token)).status).toBe(204);
  });

  it('is a role principal only when role-assignable; its direct members then hold the role', async () => {
    const plainId = (await newGroup(groupApp, 'Not For Roles')).body.id as string;
    const refused = await assign(plainId, ROLE.helpdeskAdministrator);
    expect(refused.status).toBe(400);
    expect(refused.code()).toBe('role.principal_not_assignable');
    const viaRef = await call('POST', `/v1.0/directoryRoles/${ROLE.reportsReader}/members/$ref`, roleApp, ref(plainId));
    expect(viaRef.code()).toBe('role.principal_not_assignable');

    const desk = await roleGroup('Desk Crew');
    const member = await actor('Mia');
    const target = await newUser('Pat');
    expect((await addMember(desk, member.user.id)).status).toBe(204);
    const before = await resetPassword(target, member.token);
    expect(before.status).toBe(403);

    const assigned = await assign(desk, ROLE.helpdeskAdministrator);
    expect(assigned.status).toBe(201);
    expect(assigned.body).toMatchObject({ principalId: desk, roleDefinitionId: ROLE.helpdeskAdministrator });
    expect((await call('POST', `/v1.0/directoryRoles/${ROLE.reportsReader}/members/$ref`, roleApp, ref(desk))).status).toBe(204);
    const roleMembers = await call('GET', `/v1.0/directoryRoles/${ROLE.helpdeskAdministrator}/members`, roleApp);
    expect(roleMembers.body.value).toContainEqual(expect.objectContaining({ '@odata.type': '#microsoft.graph.group', id: desk, isAssignableToRole: true }));
    const audit = await ctx.services.db.selectFrom('audit_events').selectAll().where('activity_display_name', '=', 'Add member to role').execute();
    expect(audit.some((e) => e.target_resources.includes(desk) && e.target_resources.includes('"Group"'))).toBe(true);

    // the same token, re-read per request: the role comes from the group now
    expect((await resetPassword(target, member.token)).status).toBe(204);
    expect((await removeMember(desk, member.user.id)).status).toBe(204);
    expect((await resetPassword(target, member.token)).status).toBe(403);

    expect((await addMember(desk, member.user.id)).status).toBe(204);
    expect((await call('DELETE', `/v1.0/groups/${desk}`, ga)).status).toBe(204);
    const left = await call('GET', `${ASSIGNMENTS}?$filter=${encodeURIComponent(`principalId eq '${desk}'`)}`, roleApp);
    expect(left.body.value).toEqual([]);
    expect((await resetPassword(target, member.token)).status).toBe(403);
  });

  it('lets only Privileged Authentication Administrators and Global Administrators act on its members', async () => {
    const id = await roleGroup('Protected');
    const member = await newUser('Moe');
    const outsider = await newUser('Ola');
    expect((await addMember(id, member.id)).status).toBe(204);
    const hashBefore = (await findUserById(ctx.services.db, ctx.tenant.tenant.id, member.id))?.passwordHash;

    for (const a of [helpdesk, userAdmin]) {
      const res = await resetPassword(member, a.token);
      expect(res.status).toBe(403);
      expect(res.message()).toContain('reset the password of a member of a role-assignable group');
      expect(res.message()).toContain(RULE_MEMBER_RESET);
    }
    const phone = await call('PATCH', `/v1.0/users/${member.id}`, userAdmin.token, { mobilePhone: '+1 425 555 0109' });
    expect(phone.status).toBe(403);
    expect(phone.message()).toContain(RULE_MEMBER_RESET);
    expect((await findUserById(ctx.services.db, ctx.tenant.tenant.id, member.id))?.passwordHash).toBe(hashBefore);

    // the same admins may reset the user next door, who is in no such group
    expect((await resetPassword(outsider, helpdesk.token)).status).toBe(204);
    expect((await resetPassword(member, paa.token)).status).toBe(204);
    expect((await resetPassword(member, ga)).status).toBe(204);
  });

  it('counts a group-held Global Administrator role by its members: an empty group is not a last admin', async () => {
    const admins = await roleGroup('Admins');
    expect((await assign(admins, ROLE.globalAdministrator)).status).toBe(201);
    const adminId = ctx.tenant.admin.id;
    const direct = (await call('GET', `${ASSIGNMENTS}?$filter=${encodeURIComponent(`principalId eq '${adminId}'`)}`, roleApp)).body.value!;
    const gaAssignment = direct.find((a) => a.roleDefinitionId === ROLE.globalAdministrator);
    const removal = await call('DELETE', `${ASSIGNMENTS}/${gaAssignment!.id as string}`, roleApp);
    expect(removal.status).toBe(400);
    expect(removal.code()).toBe('role.last_global_admin');

    // a member of the group is a Global Administrator for every check
    const viaGroup = await actor('Gia');
    expect((await addMember(admins, viaGroup.user.id)).status).toBe(204);
    expect((await newGroup(viaGroup.token, 'Made By Gia', { isAssignableToRole: true })).status).toBe(201);
  });
});
