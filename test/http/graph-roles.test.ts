import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { listAuditEvents } from '../../src/store/audit-events.js';
import type { User } from '../../src/store/users.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

type Json = Record<string, unknown> & { value?: Record<string, unknown>[] };
const HELPDESK = '729827e3-9c14-49f7-bb1b-9608f156bbb8';
const ASSIGNMENTS = '/v1.0/roleManagement/directory/roleAssignments';

describe.each(testDialects())('Graph directory roles and role assignments on %s', (dialect) => {
  let ctx: TestContext;
  let token: string;
  let tenantId: string;
  let n = 0;

  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, bearer: string, payload?: unknown) => {
    const res = await ctx.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${bearer}` },
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
    return {
      status: res.statusCode,
      body: res.body ? res.json<Json>() : ({} as Json),
      innerCode: () => res.json<{ error: { innerError: { code: string } } }>().error.innerError.code,
      message: () => res.json<{ error: { message: string } }>().error.message,
    };
  };
  const newUser = async (name: string): Promise<User> => {
    n += 1;
    return createUser(ctx.services, systemContext(ctx.services), {
      tenantId,
      userPrincipalName: `${name.toLowerCase()}${n}@contoso.test`,
      displayName: name,
      password: 'Umber-Kestrel-Pivot-62',
    });
  };
  const assign = (principalId: string, roleDefinitionId = HELPDESK, bearer = token, directoryScopeId = '/') =>
    call('POST', ASSIGNMENTS, bearer, { principalId, roleDefinitionId, directoryScopeId });

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    tenantId = ctx.tenant.tenant.id;
    token = await ctx.appToken(['RoleManagement.ReadWrite.Directory']);
  });
  afterAll(async () => ctx.close());

  it('lists the built-in directory roles with Azure template ids, by id and by roleTemplateId', async () => {
    const list = await call('GET', '/v1.0/directoryRoles', token);
    expect(list.status).toBe(200);
    expect(list.body.value).toHaveLength(17);
    expect(list.body.value).toContainEqual({
      id: HELPDESK,
      deletedDateTime: null,
      roleTemplateId: HELPDESK,
      displayName: 'Helpdesk Administrator',
      description: expect.any(String) as string,
    });
    const byId = await call('GET', `/v1.0/directoryRoles/${ROLE.globalAdministrator}`, token);
    expect(byId.body).toMatchObject({ displayName: 'Global Administrator', roleTemplateId: ROLE.globalAdministrator });
    const byTemplate = await call('GET', `/v1.0/directoryRoles(roleTemplateId='${HELPDESK}')`, token);
    expect(byTemplate.status).toBe(200);
    expect(byTemplate.body).toMatchObject({ id: HELPDESK, displayName: 'Helpdesk Administrator' });
    const filtered = await call('GET', `/v1.0/directoryRoles?$filter=${encodeURIComponent(`roleTemplateId eq '${HELPDESK}'`)}`, token);
    expect(filtered.body.value!.map((r) => r.displayName)).toEqual(['Helpdesk Administrator']);
    const unknown = await call('GET', '/v1.0/directoryRoles/00000000-0000-4000-8000-000000000000', token);
    expect(unknown.status).toBe(404);
    expect(unknown.innerCode()).toBe('role.not_found');
  });

  it('lists and assigns the two non-admin roles of the "who can reset passwords" table', async () => {
    const list = await call('GET', '/v1.0/directoryRoles', token);
    const names = list.body.value!.map((r) => [r.id, r.displayName]);
    expect(names).toContainEqual(['27460883-1df1-4691-b032-3b79643e5e63', 'User Experience Success Manager']);
    expect(names).toContainEqual(['75934031-6c7e-415a-99d7-48dbd49e875e', 'Usage Summary Reports Reader']);
    const definition = await call('GET', '/v1.0/roleManagement/directory/roleDefinitions/75934031-6c7e-415a-99d7-48dbd49e875e', token);
    expect(definition.body).toMatchObject({ displayName: 'Usage Summary Reports Reader', isBuiltIn: true });

    const user = await newUser('Usage');
    for (const roleId of ['27460883-1df1-4691-b032-3b79643e5e63', '75934031-6c7e-415a-99d7-48dbd49e875e']) {
      expect((await assign(user.id, roleId)).status).toBe(201);
      const members = await call('GET', `/v1.0/directoryRoles/${roleId}/members`, token);
      expect(members.body.value!.map((m) => m.id)).toEqual([user.id]);
    }
  });

  it('serves unifiedRoleDefinitions with $filter on displayName', async () => {
    const list = await call('GET', '/v1.0/roleManagement/directory/roleDefinitions', token);
    expect(list.status).toBe(200);
    expect(list.body.value).toHaveLength(17);
    const one = await call('GET', `/v1.0/roleManagement/directory/roleDefinitions/${HELPDESK}`, token);
    expect(one.body).toMatchObject({ id: HELPDESK, templateId: HELPDESK, displayName: 'Helpdesk Administrator', isBuiltIn: true, isEnabled: true });
    const filtered = await call('GET', `/v1.0/roleManagement/directory/roleDefinitions?$filter=${encodeURIComponent("displayName eq 'Helpdesk Administrator'")}`, token);
    expect(filtered.body.value!.map((r) => r.id)).toEqual([HELPDESK]);
    expect((await call('GET', '/v1.0/roleManagement/directory/roleDefinitions/nope', token)).status).toBe(404);
  });

  it('assigns Helpdesk Administrator through roleAssignments: create, get, filter, duplicate, delete', async () => {
    const user = await newUser('Helper');
    const created = await assign(user.id);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ principalId: user.id, roleDefinitionId: HELPDESK, directoryScopeId: '/' });
    const id = created.body.id as string;

    expect((await call('GET', `${ASSIGNMENTS}/${id}`, token)).body).toMatchObject({ id, principalId: user.id });
    const byPrincipal = await call('GET', `${ASSIGNMENTS}?$filter=${encodeURIComponent(`principalId eq '${user.id}'`)}`, token);
    expect(byPrincipal.body.value!.map((a) => a.id)).toEqual([id]);
    const byRole = await call('GET', `${ASSIGNMENTS}?$filter=${encodeURIComponent(`roleDefinitionId eq '${HELPDESK}'`)}`, token);
    expect(byRole.body.value!.map((a) => a.id)).toContain(id);
    expect(byRole.body.value!.every((a) => a.roleDefinitionId === HELPDESK)).toBe(true);
    const both = await call('GET', `${ASSIGNMENTS}?$filter=${encodeURIComponent(`principalId eq '${user.id}' and roleDefinitionId eq '${ROLE.globalAdministrator}'`)}`, token);
    expect(both.body.value).toEqual([]);

    // the role shows up among the directory role's members
    const members = await call('GET', `/v1.0/directoryRoles/${HELPDESK}/members`, token);
    expect(members.body.value!.map((m) => m.id)).toContain(user.id);

    const dup = await assign(user.id);
    expect(dup.status).toBe(400);
    expect(dup.innerCode()).toBe('role.assignment_exists');

    expect((await call('DELETE', `${ASSIGNMENTS}/${id}`, token)).status).toBe(204);
    const gone = await call('GET', `${ASSIGNMENTS}/${id}`, token);
    expect(gone.status).toBe(404);
    expect(gone.innerCode()).toBe('role.assignment_not_found');
    expect((await call('DELETE', `${ASSIGNMENTS}/${id}`, token)).status).toBe(404);
  });

  it('refuses unknown principals and roles, other scopes and unknown fields, naming each', async () => {
    const user = await newUser('Target');
    const noUser = await assign('00000000-0000-4000-8000-000000000000');
    expect(noUser.status).toBe(404);
    expect(noUser.innerCode()).toBe('user.not_found');
    const noRole = await assign(user.id, '00000000-0000-4000-8000-000000000000');
    expect(noRole.status).toBe(404);
    expect(noRole.innerCode()).toBe('role.not_found');
    expect(noRole.message()).toContain('00000000-0000-4000-8000-000000000000');
    const scope = await assign(user.id, HELPDESK, token, '/administrativeUnits/5d107bba-d8e2-4e7c-a2b8-0a2d9d8ae7e5');
    expect(scope.status).toBe(400);
    expect(scope.message()).toContain('/administrativeUnits/5d107bba');
    const extra = await call('POST', ASSIGNMENTS, token, { principalId: user.id, roleDefinitionId: HELPDESK, directoryScopeId: '/', colour: 'red' });
    expect(extra.status).toBe(400);
    expect(extra.innerCode()).toBe('request.unknown_property');
    const missing = await call('POST', ASSIGNMENTS, token, { principalId: user.id });
    expect(missing.status).toBe(400);
    expect(missing.message()).toContain('roleDefinitionId');
  });

  it('assigns and removes through directoryRoles/{id}/members/$ref', async () => {
    const user = await newUser('Viaref');
    const add = await call('POST', `/v1.0/directoryRoles/${HELPDESK}/members/$ref`, token, {
      '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${user.id}`,
    });
    expect(add.status).toBe(204);
    const members = await call('GET', `/v1.0/directoryRoles/${HELPDESK}/members`, token);
    expect(members.body.value!.find((m) => m.id === user.id)).toMatchObject({ '@odata.type': '#microsoft.graph.user', displayName: 'Viaref' });
    const listed = await call('GET', `${ASSIGNMENTS}?$filter=${encodeURIComponent(`principalId eq '${user.id}'`)}`, token);
    expect(listed.body.value!.map((a) => a.roleDefinitionId)).toEqual([HELPDESK]);

    const dup = await call('POST', `/v1.0/directoryRoles/${HELPDESK}/members/$ref`, token, { '@odata.id': `https://graph.microsoft.com/v1.0/users/${user.id}` });
    expect(dup.status).toBe(400);

    expect((await call('DELETE', `/v1.0/directoryRoles/${HELPDESK}/members/${user.id}/$ref`, token)).status).toBe(204);
    expect((await call('GET', `/v1.0/directoryRoles/${HELPDESK}/members`, token)).body.value!.map((m) => m.id)).not.toContain(user.id);
    expect((await call('DELETE', `/v1.0/directoryRoles/${HELPDESK}/members/${user.id}/$ref`, token)).status).toBe(404);
  });

  it('protects the last Global Administrator', async () => {
    const admin = ctx.tenant.admin;
    const gaList = await call('GET', `${ASSIGNMENTS}?$filter=${encodeURIComponent(`roleDefinitionId eq '${ROLE.globalAdministrator}'`)}`, token);
    expect(gaList.body.value!.map((a) => a.principalId)).toEqual([admin.id]);
    const gaId = gaList.body.value![0]!.id as string;

    const last = await call('DELETE', `${ASSIGNMENTS}/${gaId}`, token);
    expect(last.status).toBe(400);
    expect(last.innerCode()).toBe('role.last_global_admin');
    const viaRef = await call('DELETE', `/v1.0/directoryRoles/${ROLE.globalAdministrator}/members/${admin.id}/$ref`, token);
    expect(viaRef.status).toBe(400);
    expect(viaRef.innerCode()).toBe('role.last_global_admin');

    const second = await newUser('Second');
    const secondGa = await assign(second.id, ROLE.globalAdministrator);
    expect(secondGa.status).toBe(201);
    expect((await call('DELETE', `${ASSIGNMENTS}/${gaId}`, token)).status).toBe(204);
    const nowLast = await call('DELETE', `${ASSIGNMENTS}/${secondGa.body.id as string}`, token);
    expect(nowLast.status).toBe(400);
    // put the original admin back for the remaining tests
    expect((await assign(admin.id, ROLE.globalAdministrator)).status).toBe(201);
  });

  it('authorises role writes: RoleManagement.ReadWrite.Directory for apps, GA or PRA for users', async () => {
    const target = await newUser('Authz');
    const readApp = await ctx.appToken(['RoleManagement.Read.Directory']);
    expect((await call('GET', ASSIGNMENTS, readApp)).status).toBe(200);
    const refused = await assign(target.id, HELPDESK, readApp);
    expect(refused.status).toBe(403);
    expect(refused.message()).toContain('RoleManagement.ReadWrite.Directory');
    const dirWrite = await ctx.appToken(['Directory.ReadWrite.All', 'User.ReadWrite.All']);
    expect((await assign(target.id, HELPDESK, dirWrite)).status).toBe(403);
    expect((await call('GET', '/v1.0/directoryRoles', await ctx.appToken(['User.Read.All']))).status).toBe(403);

    // a delegated Helpdesk Administrator may reset passwords, not hand out roles
    const helper = await newUser('Desk');
    expect((await assign(helper.id)).status).toBe(201);
    const helperToken = await ctx.userToken(helper.userPrincipalName);
    const byHelper = await assign(target.id, HELPDESK, helperToken);
    expect(byHelper.status).toBe(403);
    expect(byHelper.innerCode()).toBe('auth.forbidden');
    const refByHelper = await call('POST', `/v1.0/directoryRoles/${HELPDESK}/members/$ref`, helperToken, {
      '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${target.id}`,
    });
    expect(refByHelper.status).toBe(403);
    expect((await call('GET', ASSIGNMENTS, helperToken)).status).toBe(200);

    const pra = await newUser('Pra');
    expect((await assign(pra.id, ROLE.privilegedRoleAdministrator)).status).toBe(201);
    expect((await assign(target.id, HELPDESK, await ctx.userToken(pra.userPrincipalName))).status).toBe(201);
    const ga = await ctx.userToken('admin@contoso.test');
    expect((await assign(target.id, ROLE.passwordAdministrator, ga)).status).toBe(201);
  });

  it('keeps tenants apart', async () => {
    const user = await newUser('Isolated');
    const a = await assign(user.id);
    const b = await createTenant(ctx.services, systemContext(ctx.services), {
      name: 'Fabrikam',
      domain: 'fabrikam.test',
      adminUpn: 'admin@fabrikam.test',
      adminPassword: ADMIN_PASSWORD,
    });
    const bToken = await ctx.appToken(['RoleManagement.ReadWrite.Directory'], b.tenant.id);
    expect((await call('GET', `${ASSIGNMENTS}/${a.body.id as string}`, bToken)).status).toBe(404);
    expect((await call('DELETE', `${ASSIGNMENTS}/${a.body.id as string}`, bToken)).status).toBe(404);
    const bList = await call('GET', ASSIGNMENTS, bToken);
    expect(bList.body.value!.map((x) => x.principalId)).toEqual([b.admin.id]);
    expect((await call('GET', `/v1.0/directoryRoles/${HELPDESK}/members`, bToken)).body.value).toEqual([]);
    const foreign = await assign(user.id, HELPDESK, bToken);
    expect(foreign.status).toBe(404);
    expect(foreign.innerCode()).toBe('user.not_found');
    expect((await call('DELETE', `/v1.0/directoryRoles/${HELPDESK}/members/${user.id}/$ref`, bToken)).status).toBe(404);
  });

  it('audits assignments as Add/Remove member to/from role with the user and the role as targets', async () => {
    const user = await newUser('Audited');
    const a = await assign(user.id);
    await call('DELETE', `${ASSIGNMENTS}/${a.body.id as string}`, token);
    const events = (await listAuditEvents(ctx.services.db, tenantId, 0, 10_000)).filter((e) => e.targetResources.some((t) => t.id === user.id));
    const roleEvents = events.filter((e) => e.category === 'RoleManagement');
    expect(roleEvents.map((e) => [e.activityDisplayName, e.operationType])).toEqual([
      ['Add member to role', 'Assign'],
      ['Remove member from role', 'Unassign'],
    ]);
    for (const e of roleEvents) {
      expect(e.targetResources.map((t) => [t.type, t.id])).toEqual([
        ['User', user.id],
        ['Role', HELPDESK],
      ]);
      expect(e.targetResources[1]!.displayName).toBe('Helpdesk Administrator');
    }
    expect(roleEvents[0]!.targetResources[0]!.modifiedProperties).toContainEqual({ displayName: 'Role.DisplayName', oldValue: null, newValue: '"Helpdesk Administrator"' });
    expect(roleEvents[0]!.initiatedBy.app?.displayName).toContain('RoleManagement.ReadWrite.Directory');
  });
});
