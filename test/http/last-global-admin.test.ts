import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { listAuditEvents } from '../../src/store/audit-events.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

/**
 * A tenant always keeps one user holding Global Administrator, directly or through a role-assignable
 * group. Every path that can take the role away is refused with role.last_global_admin when it would
 * take the last holder: deleting the user, removing them from the group, deleting the group, and
 * removing the group's role assignment (both Graph shapes). Each scenario runs in a tenant of its own.
 */

type Json = Record<string, unknown> & { value?: Record<string, unknown>[] };
const ASSIGNMENTS = '/v1.0/roleManagement/directory/roleAssignments';
const GA = ROLE.globalAdministrator;

interface Tenant {
  id: string;
  adminId: string;
  token: string;
  /** a new user of the tenant */
  user(name: string): Promise<string>;
  /** a role-assignable group holding Global Administrator, with these members */
  gaGroup(name: string, memberIds: string[]): Promise<string>;
  /** the id of the direct Global Administrator assignment of a principal */
  gaAssignmentOf(principalId: string): Promise<string>;
}

describe.each(testDialects())('the last Global Administrator on %s', (dialect) => {
  let ctx: TestContext;
  let n = 0;

  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, bearer: string, payload?: unknown) => {
    const res = await ctx.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${bearer}` },
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
    const error = () => res.json<{ error: { message: string; innerError: { code: string } } }>().error;
    return { status: res.statusCode, body: res.body ? res.json<Json>() : ({} as Json), code: () => error().innerError.code, message: () => error().message };
  };
  type Answer = Awaited<ReturnType<typeof call>>;
  const expectLastAdmin = (res: Answer, rule: RegExp) => {
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.code()).toBe('role.last_global_admin');
    expect(res.message()).toMatch(rule);
  };

  async function tenant(): Promise<Tenant> {
    n += 1;
    const domain = `lastga${n}-${dialect}.test`;
    const created = await createTenant(ctx.services, systemContext(ctx.services), { name: `Last GA ${n}`, domain, adminUpn: `admin@${domain}`, adminPassword: ADMIN_PASSWORD });
    const id = created.tenant.id;
    const token = await ctx.appToken(['User.ReadWrite.All', 'Group.ReadWrite.All', 'RoleManagement.ReadWrite.Directory'], id);
    let users = 0;
    const t: Tenant = {
      id,
      adminId: created.admin.id,
      token,
      user: async (name) => {
        users += 1;
        const u = await createUser(ctx.services, systemContext(ctx.services), { tenantId: id, userPrincipalName: `${name}${users}@${domain}`, displayName: name, password: 'Umber-Kestrel-Pivot-62' });
        return u.id;
      },
      gaGroup: async (name, memberIds) => {
        const group = await call('POST', '/v1.0/groups', token, { displayName: name, mailNickname: name, mailEnabled: false, securityEnabled: true, isAssignableToRole: true });
        expect(group.status).toBe(201);
        const groupId = group.body.id as string;
        expect((await call('POST', ASSIGNMENTS, token, { principalId: groupId, roleDefinitionId: GA, directoryScopeId: '/' })).status).toBe(201);
        for (const m of memberIds) expect((await addMember(t, groupId, m)).status).toBe(204);
        return groupId;
      },
      gaAssignmentOf: async (principalId) => {
        const list = await call('GET', `${ASSIGNMENTS}?$filter=${encodeURIComponent(`principalId eq '${principalId}'`)}`, token);
        const found = list.body.value!.find((a) => a.roleDefinitionId === GA);
        expect(found).toBeDefined();
        return found!.id as string;
      },
    };
    return t;
  }
  const addMember = (t: Tenant, groupId: string, memberId: string) =>
    call('POST', `/v1.0/groups/${groupId}/members/$ref`, t.token, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${memberId}` });
  const removeMember = (t: Tenant, groupId: string, memberId: string) => call('DELETE', `/v1.0/groups/${groupId}/members/${memberId}/$ref`, t.token);
  const assignGa = async (t: Tenant, principalId: string) =>
    expect((await call('POST', ASSIGNMENTS, t.token, { principalId, roleDefinitionId: GA, directoryScopeId: '/' })).status).toBe(201);
  /** Hands the role over to the group: the admin's direct assignment goes, the group's members remain. */
  const dropDirectAdmin = async (t: Tenant) => expect((await call('DELETE', `${ASSIGNMENTS}/${await t.gaAssignmentOf(t.adminId)}`, t.token)).status).toBe(204);
  const auditCount = async (t: Tenant) => (await listAuditEvents(ctx.services.db, t.id)).length;
  const memberIds = async (t: Tenant, groupId: string) => (await call('GET', `/v1.0/groups/${groupId}/members`, t.token)).body.value!.map((m) => m.id);

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
  });
  afterAll(async () => ctx?.close());

  it('an empty group holding Global Administrator does not stand in for the last admin when deleting them', async () => {
    const t = await tenant();
    await t.gaGroup('EmptyAdmins', []);
    const before = await auditCount(t);
    expectLastAdmin(await call('DELETE', `/v1.0/users/${t.adminId}`, t.token), /last Global Administrator of a tenant cannot be deleted/);
    expect((await call('GET', `/v1.0/users/${t.adminId}`, t.token)).status).toBe(200);
    expect(await auditCount(t)).toBe(before);
  });

  it('deleting the last Global Administrator who holds the role through a group is refused', async () => {
    const t = await tenant();
    const x = await t.user('xavier');
    await t.gaGroup('Admins', [x]);
    await dropDirectAdmin(t);
    expectLastAdmin(await call('DELETE', `/v1.0/users/${x}`, t.token), /last Global Administrator of a tenant cannot be deleted/);
    expect((await call('GET', `/v1.0/users/${x}`, t.token)).status).toBe(200);
    // with another holder (the original admin, again directly) the delete goes through
    await assignGa(t, t.adminId);
    expect((await call('DELETE', `/v1.0/users/${x}`, t.token)).status).toBe(204);
    expectLastAdmin(await call('DELETE', `/v1.0/users/${t.adminId}`, t.token), /cannot be deleted/);
  });

  it('removing the last Global Administrator from the group they hold it through is refused', async () => {
    const t = await tenant();
    const [x, y] = [await t.user('xena'), await t.user('yuri')];
    const group = await t.gaGroup('Admins', [x]);
    await dropDirectAdmin(t);
    const before = await auditCount(t);
    expectLastAdmin(await removeMember(t, group, x), /last Global Administrator of the tenant and holds the role through the group 'Admins'/);
    expect(await memberIds(t, group)).toEqual([x]);
    expect(await auditCount(t)).toBe(before);

    // a second member may leave, and then the first may; the last one left may not
    expect((await addMember(t, group, y)).status).toBe(204);
    expect((await removeMember(t, group, x)).status).toBe(204);
    expectLastAdmin(await removeMember(t, group, y), /holds the role through the group/);
    // a member who also holds the role directly may leave the group (and leave it empty)
    await assignGa(t, y);
    expect((await removeMember(t, group, y)).status).toBe(204);
    expect(await memberIds(t, group)).toEqual([]);
  });

  it('deleting the group the last Global Administrator holds the role through is refused', async () => {
    const t = await tenant();
    const x = await t.user('xiomara');
    const group = await t.gaGroup('Admins', [x]);
    await dropDirectAdmin(t);
    expectLastAdmin(await call('DELETE', `/v1.0/groups/${group}`, t.token), /The group 'Admins' is how the last Global Administrator/);
    expect((await call('GET', `/v1.0/groups/${group}`, t.token)).status).toBe(200);
    expect(await memberIds(t, group)).toEqual([x]);
    await assignGa(t, x);
    expect((await call('DELETE', `/v1.0/groups/${group}`, t.token)).status).toBe(204);
  });

  it("removing the group's Global Administrator assignment is refused while it holds the last admin, by either Graph shape", async () => {
    const t = await tenant();
    const x = await t.user('xander');
    const group = await t.gaGroup('Admins', [x]);
    await dropDirectAdmin(t);
    const assignment = await t.gaAssignmentOf(group);
    expectLastAdmin(await call('DELETE', `${ASSIGNMENTS}/${assignment}`, t.token), /This role assignment is how the last Global Administrator/);
    expectLastAdmin(await call('DELETE', `/v1.0/directoryRoles/${GA}/members/${group}/$ref`, t.token), /last Global Administrator/);
    expect(await t.gaAssignmentOf(group)).toBe(assignment);
    await assignGa(t, t.adminId);
    expect((await call('DELETE', `/v1.0/directoryRoles/${GA}/members/${group}/$ref`, t.token)).status).toBe(204);
  });

  it('two concurrent removals of the last two holders: exactly one goes through', async () => {
    for (let round = 0; round < 3; round += 1) {
      const t = await tenant();
      const x = await t.user('xenia');
      const group = await t.gaGroup('Admins', [x]);
      const adminAssignment = await t.gaAssignmentOf(t.adminId);
      // two holders (the admin directly, x through the group), each removal alone would be fine
      const [a, b] = await Promise.all([removeMember(t, group, x), call('DELETE', `${ASSIGNMENTS}/${adminAssignment}`, t.token)]);
      expect([a.status, b.status].sort()).toEqual([204, 400]);
      expect([a, b].find((r) => r.status === 400)!.code()).toBe('role.last_global_admin');
      const holders = (await call('GET', `/v1.0/directoryRoles/${GA}/members`, t.token)).body.value!.map((m) => m.id);
      const stillInGroup = (await memberIds(t, group)).includes(x);
      expect(holders.includes(t.adminId) || stillInGroup).toBe(true);
    }
  });
});
