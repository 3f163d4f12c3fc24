import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { insertRoleAssignment } from '../../src/store/role-assignments.js';
import { findUserById } from '../../src/store/users.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

const PASSWORD = 'Plinth-Quokka-Vortex-8';
const BASE = 'http://localhost:8080';

function newUser(upn: string, displayName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    accountEnabled: true,
    displayName,
    mailNickname: upn.split('@')[0],
    userPrincipalName: upn,
    passwordProfile: { password: PASSWORD, forceChangePasswordNextSignIn: true },
    ...extra,
  };
}

function graph(ctx: TestContext) {
  return (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token?: string, payload?: unknown): Promise<LightMyRequestResponse> =>
    ctx.app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
}

interface UserJson {
  id: string;
  displayName: string;
  userPrincipalName: string;
  [property: string]: unknown;
}
interface UserList {
  value: UserJson[];
  '@odata.nextLink'?: string;
}
const listOf = (res: LightMyRequestResponse): UserList => res.json<UserList>();

async function auditRows(ctx: TestContext, activity: string, targetId: string) {
  const rows = await ctx.services.db.selectFrom('audit_events').selectAll().where('activity_display_name', '=', activity).execute();
  return rows.filter((r) => r.target_resources.includes(targetId));
}

describe.each(testDialects())('Graph users resource on %s', (dialect) => {
  let ctx: TestContext;
  let call: ReturnType<typeof graph>;
  let writer: string;
  let reader: string;
  let admin: string;
  let megan: { id: string; userPrincipalName: string };

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    call = graph(ctx);
    writer = await ctx.appToken(['User.ReadWrite.All']);
    reader = await ctx.appToken(['User.Read.All']);
    admin = await ctx.userToken('admin@contoso.test');
  });
  afterAll(async () => ctx.close());

  it('creates a user (201, Graph default shape, no secret anywhere) and audits "Add user"', async () => {
    const res = await call('POST', '/v1.0/users', writer, newUser('Megan.Bowen@contoso.test', 'Megan Bowen', { jobTitle: 'Marketing', '@odata.type': '#microsoft.graph.user' }));
    expect(res.statusCode).toBe(201);
    const body = res.json<UserJson>();
    expect(body['@odata.context']).toBe(`${BASE}/v1.0/$metadata#users/$entity`);
    expect(Object.keys(body).sort()).toEqual(
      ['@odata.context', 'businessPhones', 'displayName', 'givenName', 'id', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName'].sort(),
    );
    expect(body).toMatchObject({ userPrincipalName: 'Megan.Bowen@contoso.test', displayName: 'Megan Bowen', jobTitle: 'Marketing', businessPhones: [], officeLocation: null });
    expect(res.body).not.toContain(PASSWORD);
    expect(res.body).not.toContain('argon2');
    megan = body;

    const audit = await auditRows(ctx, 'Add user', megan.id);
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);
    expect(JSON.parse(audit[0]!.initiated_by).app.displayName).toContain('User.ReadWrite.All');
  });

  it('reads the user by id, by UPN in another case, and by URL-encoded UPN', async () => {
    for (const key of [megan.id, megan.id.toUpperCase(), 'megan.bowen@CONTOSO.TEST', encodeURIComponent('Megan.Bowen@contoso.test')]) {
      const res = await call('GET', `/v1.0/users/${key}`, reader);
      expect(res.statusCode, key).toBe(200);
      expect(res.json().id).toBe(megan.id);
    }
  });

  it('projects $select, with passwordProfile flags only and password always null', async () => {
    const res = await call('GET', `/v1.0/users/${megan.id}?$select=id,accountEnabled,passwordProfile,createdDateTime`, reader);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body['@odata.context']).toBe(`${BASE}/v1.0/$metadata#users(id,accountEnabled,passwordProfile,createdDateTime)/$entity`);
    expect(body).toEqual({
      '@odata.context': body['@odata.context'],
      id: megan.id,
      accountEnabled: true,
      passwordProfile: { password: null, forceChangePasswordNextSignIn: true, forceChangePasswordNextSignInWithMfa: false },
      createdDateTime: '2026-11-25T12:00:00.000Z',
    });
  });

  it("lists with startswith(displayName,'a') case-insensitively, and combines clauses with and", async () => {
    for (const [upn, name] of [['alex@contoso.test', 'alex Wilber'], ['adele@contoso.test', 'Adele Vance'], ['bianca@contoso.test', 'Bianca Pisani']] as const) {
      expect((await call('POST', '/v1.0/users', writer, newUser(upn, name))).statusCode).toBe(201);
    }
    const res = await call('GET', `/v1.0/users?$filter=${encodeURIComponent("startswith(displayName,'A')")}&$select=displayName`, reader);
    expect(res.statusCode).toBe(200);
    expect(res.json()['@odata.context']).toBe(`${BASE}/v1.0/$metadata#users(displayName)`);
    expect(listOf(res).value.map((u) => u.displayName).sort()).toEqual(['Adele Vance', 'alex Wilber']);
    expect(res.json()).not.toHaveProperty('@odata.nextLink');

    const both = await call('GET', `/v1.0/users?$filter=${encodeURIComponent("startswith(userPrincipalName,'a') and accountEnabled eq true and displayName eq 'ADELE VANCE'")}`, reader);
    expect(listOf(both).value.map((u) => u.userPrincipalName)).toEqual(['adele@contoso.test']);
  });

  it('updates with PATCH (204) and audits "Update user" with old and new values', async () => {
    const res = await call('PATCH', `/v1.0/users/${megan.id}`, writer, { displayName: 'Megan B.', mobilePhone: '+1 425 555 0109', passwordPolicies: 'DisablePasswordExpiration' });
    expect(res.statusCode).toBe(204);
    const read = await call('GET', `/v1.0/users/${megan.id}?$select=displayName,mobilePhone,passwordPolicies`, reader);
    expect(read.json()).toMatchObject({ displayName: 'Megan B.', mobilePhone: '+1 425 555 0109', passwordPolicies: 'DisablePasswordExpiration' });
    const [event] = await auditRows(ctx, 'Update user', megan.id);
    const props = (JSON.parse(event!.target_resources) as { modifiedProperties: { displayName: string }[] }[])[0]!.modifiedProperties;
    expect(props).toContainEqual({ displayName: 'DisplayName', oldValue: '["Megan Bowen"]', newValue: '["Megan B."]' });
    expect(props.map((p) => p.displayName).sort()).toEqual(['DisplayName', 'MobilePhone', 'PasswordPolicies']);
  });

  it('lets a delegated Global Administrator create; a plain user may read and see /me but not create', async () => {
    expect((await call('POST', '/v1.0/users', admin, newUser('nestor@contoso.test', 'Nestor Wilke'))).statusCode).toBe(201);
    const plain = await ctx.userToken('nestor@contoso.test');
    const denied = await call('POST', '/v1.0/users', plain, newUser('irvin@contoso.test', 'Irvin Sayers'));
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('Authorization_RequestDenied');
    expect((await call('GET', '/v1.0/users', plain)).statusCode).toBe(200);
    const me = await call('GET', '/v1.0/me?$select=userPrincipalName,accountEnabled', plain);
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({ '@odata.context': `${BASE}/v1.0/$metadata#users(userPrincipalName,accountEnabled)/$entity`, userPrincipalName: 'nestor@contoso.test', accountEnabled: true });
  });

  it('answers /me for an application token with a clear refusal', async () => {
    const res = await call('GET', '/v1.0/me', writer);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toBe('/me request is only valid with delegated authentication flow.');
  });

  it('refuses an app without User.ReadWrite.All to create, update or delete, but lets it list', async () => {
    for (const [method, url, body] of [['POST', '/v1.0/users', newUser('x@contoso.test', 'X')], ['PATCH', `/v1.0/users/${megan.id}`, { jobTitle: 'x' }], ['DELETE', `/v1.0/users/${megan.id}`, undefined]] as const) {
      const res = await call(method, url, reader, body);
      expect(res.statusCode, method).toBe(403);
      expect(res.json().error.code).toBe('Authorization_RequestDenied');
      expect(res.json().error.message).toContain('User.ReadWrite.All');
    }
    expect((await call('GET', '/v1.0/users', reader)).statusCode).toBe(200);
  });

  it('refuses missing and garbage tokens with 401 InvalidAuthenticationToken', async () => {
    for (const token of [undefined, 'garbage', `${writer.slice(0, -4)}AAAA`]) {
      const res = await call('GET', '/v1.0/users', token);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('InvalidAuthenticationToken');
    }
  });

  it("keeps tenants apart: tenant B's token cannot see, change or delete tenant A's users", async () => {
    const fabrikam = await createTenant(ctx.services, systemContext(ctx.services), { name: 'Fabrikam', domain: 'fabrikam.test', adminUpn: 'admin@fabrikam.test', adminPassword: ADMIN_PASSWORD });
    const b = await ctx.appToken(['User.ReadWrite.All', 'User-PasswordProfile.ReadWrite.All'], fabrikam.tenant.id);
    for (const key of [megan.id, 'megan.bowen@contoso.test']) {
      expect((await call('GET', `/v1.0/users/${key}`, b)).statusCode).toBe(404);
      expect((await call('PATCH', `/v1.0/users/${key}`, b, { displayName: 'pwned', passwordProfile: { password: 'Fjord-Quasar-71!x' } })).statusCode).toBe(404);
      expect((await call('DELETE', `/v1.0/users/${key}`, b)).statusCode).toBe(404);
    }
    const list = await call('GET', `/v1.0/users?$filter=${encodeURIComponent("startswith(userPrincipalName,'')")}`, b);
    expect(listOf(list).value.map((u) => u.userPrincipalName)).toEqual(['admin@fabrikam.test']);
    const steal = await call('POST', '/v1.0/users', b, newUser('thief@contoso.test', 'Thief'));
    expect(steal.statusCode).toBe(400);
    expect(steal.json().error.innerError.code).toBe('user.upn_domain_unverified');
    expect((await call('GET', `/v1.0/users/${fabrikam.admin.id}`, writer)).statusCode).toBe(404);
    expect((await findUserById(ctx.services.db, ctx.tenant.tenant.id, megan.id))?.displayName).toBe('Megan B.');
  });

  it('lets a Helpdesk Administrator reset a normal user, not a Global Administrator nor themself', async () => {
    const created = await call('POST', '/v1.0/users', writer, newUser('helpdesk@contoso.test', 'Help Desk'));
    const helpdeskId = created.json().id as string;
    await insertRoleAssignment(ctx.services.db, { id: 'ra-helpdesk', tenantId: ctx.tenant.tenant.id, principalId: helpdeskId, roleDefinitionId: ROLE.helpdeskAdministrator, directoryScopeId: '/', createdDateTime: '2026-11-25T12:00:00.000Z' });
    const helpdesk = await ctx.userToken('helpdesk@contoso.test');
    const meganToken = await ctx.userToken('megan.bowen@contoso.test');
    ctx.clock.advance(5_000);

    const reset = await call('PATCH', `/v1.0/users/${megan.id}`, helpdesk, { passwordProfile: { password: 'Tangerine-Quokka-93!' } });
    expect(reset.statusCode).toBe(204);
    const after = await findUserById(ctx.services.db, ctx.tenant.tenant.id, megan.id);
    expect(await ctx.services.hasher.verify(after!.passwordHash!, 'Tangerine-Quokka-93!')).toBe(true);
    expect(after!.forceChangePasswordNextSignIn).toBe(true);
    expect(after!.lastPasswordChangeDateTime).toBe(ctx.clock.now().toISOString());
    // sessions issued before the reset are dead
    expect((await call('GET', '/v1.0/me', meganToken)).statusCode).toBe(401);
    const [event] = await auditRows(ctx, 'Reset user password', megan.id);
    expect(JSON.parse(event!.target_resources)[0].modifiedProperties).toEqual([]);
    expect(JSON.stringify(event)).not.toContain('Tangerine-Quokka-93!');

    const overAdmin = await call('PATCH', `/v1.0/users/${ctx.tenant.admin.id}`, helpdesk, { passwordProfile: { password: 'Tangerine-Quokka-93!' } });
    expect(overAdmin.statusCode).toBe(403);
    expect(overAdmin.json().error.code).toBe('Authorization_RequestDenied');
    const self = await call('PATCH', `/v1.0/users/${helpdeskId}`, helpdesk, { passwordProfile: { password: 'Tangerine-Quokka-93!' } });
    expect(self.statusCode).toBe(403);
    expect(self.json().error.message).toContain('changePassword');
    // the password role does not allow profile edits
    expect((await call('PATCH', `/v1.0/users/${megan.id}`, helpdesk, { displayName: 'x' })).statusCode).toBe(403);
    // a weak password is refused before anything is hashed or written
    const weak = await call('PATCH', `/v1.0/users/${megan.id}`, helpdesk, { passwordProfile: { password: 'short' } });
    expect(weak.json().error.innerError.code).toBe('password.policy_violation');
  });

  it("lets a User Administrator edit an admin's job title but not their sign-in properties", async () => {
    const created = await call('POST', '/v1.0/users', writer, newUser('useradmin@contoso.test', 'User Admin'));
    await insertRoleAssignment(ctx.services.db, { id: 'ra-useradmin', tenantId: ctx.tenant.tenant.id, principalId: created.json().id, roleDefinitionId: ROLE.userAdministrator, directoryScopeId: '/', createdDateTime: '2026-11-25T12:00:00.000Z' });
    const userAdmin = await ctx.userToken('useradmin@contoso.test');
    expect((await call('PATCH', `/v1.0/users/${ctx.tenant.admin.id}`, userAdmin, { jobTitle: 'CEO' })).statusCode).toBe(204);
    for (const patch of [{ mobilePhone: '+1 555 0100' }, { accountEnabled: false }, { userPrincipalName: 'boss@contoso.test' }]) {
      expect((await call('PATCH', `/v1.0/users/${ctx.tenant.admin.id}`, userAdmin, patch)).statusCode).toBe(403);
    }
    expect((await call('DELETE', `/v1.0/users/${ctx.tenant.admin.id}`, userAdmin)).statusCode).toBe(403);
    expect((await call('PATCH', `/v1.0/users/${megan.id}`, userAdmin, { mobilePhone: '+1 555 0101' })).statusCode).toBe(204);
  });

  it('maps a UPN race lost at the unique index to user.upn_taken, never a 500', async () => {
    const results = await Promise.all(
      ['race@contoso.test', 'RACE@contoso.test', 'Race@Contoso.test'].map((upn) => call('POST', '/v1.0/users', writer, newUser(upn, 'Racer'))),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 400, 400]);
    for (const r of results.filter((x) => x.statusCode === 400)) expect(r.json().error.innerError.code).toBe('user.upn_taken');
  });

  it('deletes (204, audited); refuses deleting yourself and the last Global Administrator', async () => {
    const del = await call('DELETE', `/v1.0/users/${encodeURIComponent('alex@contoso.test')}`, writer);
    expect(del.statusCode).toBe(204);
    const gone = await call('GET', '/v1.0/users/alex@contoso.test', reader);
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error.code).toBe('Request_ResourceNotFound');
    expect(gone.json().error.message).toBe("Resource 'alex@contoso.test' does not exist or one of its queried reference-property objects are not present.");
    expect(await ctx.services.db.selectFrom('audit_events').select('id').where('activity_display_name', '=', 'Delete user').where('target_resources', 'like', '%alex@contoso.test%').execute()).toHaveLength(1);

    const self = await call('DELETE', `/v1.0/users/${ctx.tenant.admin.id}`, admin);
    expect(self.json().error.innerError.code).toBe('user.cannot_delete_self');
    const last = await call('DELETE', `/v1.0/users/${ctx.tenant.admin.id}`, writer);
    expect(last.statusCode).toBe(400);
    expect(last.json().error.innerError.code).toBe('role.last_global_admin');

    await insertRoleAssignment(ctx.services.db, { id: 'ra-ga2', tenantId: ctx.tenant.tenant.id, principalId: megan.id, roleDefinitionId: ROLE.globalAdministrator, directoryScopeId: '/', createdDateTime: '2026-11-25T12:00:00.000Z' });
    expect((await call('DELETE', `/v1.0/users/${ctx.tenant.admin.id}`, writer)).statusCode).toBe(204);
  });
});

describe.each(testDialects())('Graph users paging on %s', (dialect) => {
  let ctx: TestContext;
  let token: string;
  const created = new Set<string>();

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    token = await ctx.appToken(['User.Read.All']);
    const system = systemContext(ctx.services);
    for (let i = 0; i < 250; i += 1) {
      const n = String(i).padStart(3, '0');
      const user = await createUser(ctx.services, system, { tenantId: ctx.tenant.tenant.id, userPrincipalName: `bulk.${n}@contoso.test`, displayName: `Bulk ${n}`, password: PASSWORD });
      created.add(user.id);
    }
  }, 120_000);
  afterAll(async () => ctx.close());

  async function follow(firstUrl: string): Promise<{ ids: string[]; sizes: number[]; links: string[] }> {
    const ids: string[] = [];
    const sizes: number[] = [];
    const links: string[] = [];
    let url: string | undefined = firstUrl;
    while (url !== undefined && sizes.length < 10) {
      const res = await ctx.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(200);
      const body = listOf(res);
      sizes.push(body.value.length);
      ids.push(...body.value.map((u) => u.id));
      const next = body['@odata.nextLink'];
      if (next !== undefined) {
        expect(next.startsWith(`${BASE}/v1.0/users?`)).toBe(true);
        links.push(next);
      }
      url = next?.slice(BASE.length);
    }
    return { ids, sizes, links };
  }

  it('pages through 250 users and the admin with $top=100 following @odata.nextLink, each once', async () => {
    const { ids, sizes, links } = await follow('/v1.0/users?$top=100');
    expect(sizes).toEqual([100, 100, 51]);
    expect(new Set(ids).size).toBe(251);
    expect(new Set(ids)).toEqual(new Set([...created, ctx.tenant.admin.id]));
    for (const link of links) expect(new URL(link).searchParams.get('$top')).toBe('100');
  });

  it('keeps $filter and $select across pages', async () => {
    const filter = encodeURIComponent("startswith(displayName,'bulk')");
    const { ids, sizes, links } = await follow(`/v1.0/users?$filter=${filter}&$select=id,displayName&$top=100`);
    expect(sizes).toEqual([100, 100, 50]);
    expect(new Set(ids)).toEqual(created);
    expect(new URL(links[0]!).searchParams.get('$filter')).toBe("startswith(displayName,'bulk')");
    expect(new URL(links[0]!).searchParams.get('$select')).toBe('id,displayName');
  });

  it('defaults to pages of 100', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/v1.0/users', headers: { authorization: `Bearer ${token}` } });
    expect(res.json().value).toHaveLength(100);
    expect(res.json()['@odata.nextLink']).toContain('$skiptoken=');
  });
});
