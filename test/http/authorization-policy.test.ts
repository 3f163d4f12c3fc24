import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSsprAllowedForAdmins } from '../../src/domain/authorization-policy.js';
import { ROLE } from '../../src/domain/roles.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { insertRoleAssignment } from '../../src/store/role-assignments.js';
import { findTenantById } from '../../src/store/tenants.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

const URL = '/v1.0/policies/authorizationPolicy';

describe.each(testDialects())('Graph authorizationPolicy on %s', (dialect) => {
  let ctx: TestContext;
  let admin: string;
  let n = 0;

  const call = (method: 'GET' | 'PATCH', token: string, payload?: unknown): Promise<LightMyRequestResponse> =>
    ctx.app.inject({ method, url: URL, headers: { authorization: `Bearer ${token}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });

  async function userWithRole(role: string | null): Promise<string> {
    n += 1;
    const user = await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: `authz${n}@contoso.test`,
      displayName: `Authz ${n}`,
      password: 'Zephyr-Marmot-Quill-47',
    });
    if (role) {
      await insertRoleAssignment(ctx.services.db, { id: `ra-authz-${n}`, tenantId: ctx.tenant.tenant.id, principalId: user.id, roleDefinitionId: role, directoryScopeId: '/', createdDateTime: '2026-11-25T12:00:00.000Z' });
    }
    return ctx.userToken(user.userPrincipalName);
  }

  const events = (tenantId = ctx.tenant.tenant.id) =>
    ctx.services.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId).where('activity_display_name', '=', 'Update authorization policy').orderBy('seq').execute();
  const allowedForAdmins = async (tenantId = ctx.tenant.tenant.id) => isSsprAllowedForAdmins((await findTenantById(ctx.services.db, tenantId))!);

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    admin = await ctx.userToken('admin@contoso.test');
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('GET answers the Graph shape with allowedToUseSSPR true by default', async () => {
    const res = await call('GET', admin);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toStrictEqual({
      '@odata.context': 'http://localhost:8080/v1.0/$metadata#policies/authorizationPolicy/$entity',
      id: 'authorizationPolicy',
      displayName: 'Authorization Policy',
      description: 'Used to manage authorization related settings across the company.',
      allowInvitesFrom: 'none',
      allowedToSignUpEmailBasedSubscriptions: false,
      allowedToUseSSPR: true,
      allowEmailVerifiedUsersToJoinOrganization: false,
      allowUserConsentForRiskyApps: false,
      blockMsolPowerShell: false,
      guestUserRoleId: '10dae51f-b6af-4016-8d66-8c2a99b929b3',
      defaultUserRolePermissions: {
        allowedToCreateApps: false,
        allowedToCreateSecurityGroups: false,
        allowedToCreateTenants: false,
        allowedToReadBitlockerKeysForOwnedDevice: false,
        allowedToReadOtherUsers: true,
        permissionGrantPoliciesAssigned: [],
      },
    });
    expect(await allowedForAdmins()).toBe(true);
  });

  it('PATCH allowedToUseSSPR answers 204, is read back, reaches the flow, and is audited with old and new', async () => {
    const res = await call('PATCH', admin, { '@odata.type': '#microsoft.graph.authorizationPolicy', allowedToUseSSPR: false });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await call('GET', admin)).json().allowedToUseSSPR).toBe(false);
    expect(await allowedForAdmins()).toBe(false);

    const rows = await events();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ category: 'Policy', operation_type: 'Update', result: 'success' });
    const [target] = JSON.parse(rows[0]!.target_resources) as { id: string; type: string; modifiedProperties: unknown[] }[];
    expect(target).toMatchObject({ id: 'authorizationPolicy', type: 'Policy' });
    expect(target!.modifiedProperties).toEqual([{ displayName: 'allowedToUseSSPR', oldValue: 'true', newValue: 'false' }]);
    expect(JSON.parse(rows[0]!.initiated_by)).toMatchObject({ user: { userPrincipalName: 'admin@contoso.test' } });
  });

  it('a PATCH that changes nothing records nothing, and the SSPR policy is untouched', async () => {
    expect((await call('PATCH', admin, { allowedToUseSSPR: false })).statusCode).toBe(204);
    expect((await call('PATCH', admin, {})).statusCode).toBe(204);
    expect(await events()).toHaveLength(1);
    const sspr = await ctx.app.inject({ method: 'GET', url: '/api/v1/policies/sspr', headers: { authorization: `Bearer ${admin}` } });
    expect(sspr.json().enabledFor).toBe('all');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a read-only property', { blockMsolPowerShell: true }, 'blockMsolPowerShell'],
    ['a nested read-only property', { defaultUserRolePermissions: { allowedToCreateApps: true } }, 'defaultUserRolePermissions'],
    ['an unknown property', { allowedToUseSspr: true }, 'allowedToUseSspr'],
    ['allowedToUseSSPR as a string', { allowedToUseSSPR: 'false' }, 'allowedToUseSSPR'],
    ['another @odata.type', { '@odata.type': '#microsoft.graph.user', allowedToUseSSPR: true }, '@odata.type'],
  ])('400 in the Graph error shape naming it: %s', async (_name, body, name) => {
    const res = await call('PATCH', admin, body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('Request_BadRequest');
    expect(res.json().error.message).toContain(name);
    expect((await call('GET', admin)).json()).toMatchObject({ allowedToUseSSPR: false, blockMsolPowerShell: false });
  });

  it('readers may read, only Global and Privileged Role Administrators may write', async () => {
    const security = await userWithRole(ROLE.securityAdministrator);
    expect((await call('GET', security)).statusCode).toBe(200);
    expect((await call('PATCH', security, { allowedToUseSSPR: true })).statusCode).toBe(403);
    const plain = await userWithRole(null);
    expect((await call('GET', plain)).statusCode).toBe(403);
    expect((await call('PATCH', plain, { allowedToUseSSPR: true })).statusCode).toBe(403);

    const privileged = await userWithRole(ROLE.privilegedRoleAdministrator);
    expect((await call('PATCH', privileged, { allowedToUseSSPR: true })).statusCode).toBe(204);
    expect(await allowedForAdmins()).toBe(true);
    expect(await events()).toHaveLength(2);
  });

  it('apps: Policy.Read.All reads, Policy.ReadWrite.Authorization writes', async () => {
    const reader = await ctx.appToken(['Policy.Read.All']);
    expect((await call('GET', reader)).statusCode).toBe(200);
    expect((await call('PATCH', reader, { allowedToUseSSPR: false })).statusCode).toBe(403);
    expect((await call('GET', await ctx.appToken(['Policy.ReadWrite.AuthenticationMethod']))).statusCode).toBe(403);
    const writer = await ctx.appToken(['Policy.ReadWrite.Authorization']);
    expect((await call('PATCH', writer, { allowedToUseSSPR: false })).statusCode).toBe(204);
    expect(JSON.parse((await events()).at(-1)!.initiated_by)).toHaveProperty('app');
    expect((await call('GET', writer)).json().allowedToUseSSPR).toBe(false);
  });

  it("one tenant's switch does not touch another's", async () => {
    const domain = `authz-${dialect}.test`;
    const other = await createTenant(ctx.services, systemContext(ctx.services), { name: 'Other', domain, adminUpn: `admin@${domain}`, adminPassword: ADMIN_PASSWORD });
    const token = await ctx.userToken(other.admin.userPrincipalName);
    expect((await call('GET', token)).json().allowedToUseSSPR).toBe(true);
    expect(await allowedForAdmins(other.tenant.id)).toBe(true);
    expect(await allowedForAdmins()).toBe(false);
    expect(await events(other.tenant.id)).toHaveLength(0);
  });
});
