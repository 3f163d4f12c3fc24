import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { SECURITY_QUESTIONS } from '../../src/domain/security-questions-catalog.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import type { Edition } from '../../src/store/tenants.js';
import { insertRoleAssignment } from '../../src/store/role-assignments.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

const URL = '/api/v1/policies/sspr';

const DEFAULTS = {
  enabledFor: 'all',
  groupId: null,
  methodsRequired: 1,
  methods: ['email', 'mobileSms', 'appCode'],
  securityQuestions: { toRegister: 3, toReset: 3, custom: [] as string[], predefined: SECURITY_QUESTIONS.map((q) => q.id) },
  requireRegistrationOnSignIn: true,
  reconfirmAfterDays: 180,
  notifyUserOnReset: true,
  notifyAdminsOnAdminReset: true,
  helpdeskUrl: null,
  helpdeskEmail: null,
  allowUnlockWithoutReset: true,
  writebackEnabled: false,
};

type Modified = { displayName: string; oldValue: string; newValue: string };

describe.each(testDialects())('SSPR policy API on %s', (dialect) => {
  let ctx: TestContext;
  let admin: string;
  let n = 0;

  const call = (method: 'GET' | 'PATCH', token: string, payload?: unknown): Promise<LightMyRequestResponse> =>
    ctx.app.inject({ method, url: URL, headers: { authorization: `Bearer ${token}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });

  async function userWithRole(role: string | null): Promise<string> {
    n += 1;
    const user = await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: `sspr${n}@contoso.test`,
      displayName: `Sspr ${n}`,
      password: 'Zephyr-Marmot-Quill-47',
    });
    if (role) {
      await insertRoleAssignment(ctx.services.db, { id: `ra-sspr-${n}`, tenantId: ctx.tenant.tenant.id, principalId: user.id, roleDefinitionId: role, directoryScopeId: '/', createdDateTime: '2026-11-25T12:00:00.000Z' });
    }
    return ctx.userToken(user.userPrincipalName);
  }

  async function otherTenant(edition: Edition): Promise<{ id: string; token: string }> {
    n += 1;
    const domain = `t${n}-${edition}-${dialect}.test`;
    const t = await createTenant(ctx.services, systemContext(ctx.services), { name: `Tenant ${n}`, domain, adminUpn: `admin@${domain}`, adminPassword: ADMIN_PASSWORD, edition });
    return { id: t.tenant.id, token: await ctx.userToken(t.admin.userPrincipalName) };
  }

  async function createGroup(token: string, name: string): Promise<string> {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1.0/groups',
      headers: { authorization: `Bearer ${token}` },
      payload: { displayName: name, mailEnabled: false, mailNickname: name.replace(/\W/g, ''), securityEnabled: true },
    });
    expect(res.statusCode).toBe(201);
    return res.json().id as string;
  }

  const events = (tenantId = ctx.tenant.tenant.id) =>
    ctx.services.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId).where('logged_by_service', '=', 'Self-service Password Management').orderBy('seq').execute();
  const modifiedOf = (row: { target_resources: string }) => (JSON.parse(row.target_resources) as { modifiedProperties: Modified[] }[])[0]!.modifiedProperties;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    admin = await ctx.userToken('admin@contoso.test');
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('GET answers the defaults of a new tenant, exactly in the SPEC shape', async () => {
    const res = await call('GET', admin);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toStrictEqual(DEFAULTS);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['enabledFor unknown', { enabledFor: 'everybody' }, 'enabledFor'],
    ['methodsRequired 3', { methodsRequired: 3 }, 'methodsRequired'],
    ['methodsRequired as a string', { methodsRequired: '1' }, 'methodsRequired'],
    ['no methods', { methods: [] }, 'methods'],
    ['a method twice', { methods: ['email', 'email'] }, 'methods'],
    ['an unknown method', { methods: ['email', 'pigeon'] }, 'methods'],
    ['methods not an array', { methods: 'email' }, 'methods'],
    ['the app as the only method', { methods: ['appCode'] }, 'methods'],
    ['app notification with one method required', { methods: ['email', 'appNotification'] }, 'methods'],
    ['methodsRequired 2 with one method', { methodsRequired: 2, methods: ['email'] }, 'methods'],
    ['methodsRequired 2 with the app and only one other', { methodsRequired: 2, methods: ['email', 'appCode'] }, 'methods'],
    ['methodsRequired 2 with only app methods', { methodsRequired: 2, methods: ['appCode', 'appNotification'] }, 'methods'],
    ['toRegister 2', { securityQuestions: { toRegister: 2 } }, 'securityQuestions.toRegister'],
    ['toRegister 6', { securityQuestions: { toRegister: 6 } }, 'securityQuestions.toRegister'],
    ['toReset 6', { securityQuestions: { toReset: 6 } }, 'securityQuestions.toReset'],
    ['toReset > toRegister', { securityQuestions: { toRegister: 3, toReset: 4 } }, 'securityQuestions.toReset'],
    ['21 custom questions', { securityQuestions: { custom: Array.from({ length: 21 }, (_, i) => `Custom question number ${i}?`) } }, 'securityQuestions.custom'],
    ['a 201-character question', { securityQuestions: { custom: [`${'q'.repeat(200)}?`] } }, 'securityQuestions.custom'],
    ['a 2-character question', { securityQuestions: { custom: ['  ab  '] } }, 'securityQuestions.custom'],
    ['a question twice, ignoring case', { securityQuestions: { custom: ['What is your quest?', 'what is your QUEST? '] } }, 'securityQuestions.custom'],
    ['reconfirmAfterDays 731', { reconfirmAfterDays: 731 }, 'reconfirmAfterDays'],
    ['reconfirmAfterDays -1', { reconfirmAfterDays: -1 }, 'reconfirmAfterDays'],
    ['helpdeskUrl not a URL', { helpdeskUrl: 'help desk' }, 'helpdeskUrl'],
    ['helpdeskUrl with another scheme', { helpdeskUrl: 'javascript:alert(1)' }, 'helpdeskUrl'],
    ['helpdeskUrl of 2049 characters', { helpdeskUrl: `https://help.contoso.test/${'a'.repeat(2023)}` }, 'helpdeskUrl'],
    ['helpdeskEmail not an email', { helpdeskEmail: 'helpdesk' }, 'helpdeskEmail'],
    ['a boolean as a string', { notifyUserOnReset: 'yes' }, 'notifyUserOnReset'],
    ['selected without a group', { enabledFor: 'selected' }, 'groupId'],
    ['selected with an unknown group', { enabledFor: 'selected', groupId: '6c7a1b7e-2f4e-4c55-9d7c-000000000000' }, 'groupId'],
  ])('400 naming the field: %s', async (_name, body, field) => {
    const res = await call('PATCH', admin, body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('request.invalid');
    expect(res.json().error.message).toContain(`'${field}`);
  });

  it('refused patches left the policy and the audit log untouched', async () => {
    expect((await call('GET', admin)).json()).toStrictEqual(DEFAULTS);
    expect(await events()).toHaveLength(0);
  });

  it('unknown properties are refused by name, also inside securityQuestions', async () => {
    for (const [body, name] of [
      [{ methodRequired: 2 }, 'methodRequired'],
      [{ securityQuestions: { optional: [] } }, 'optional'],
    ] as const) {
      const res = await call('PATCH', admin, body);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('request.unknown_property');
      expect(res.json().error.message).toContain(name);
    }
  });

  it('PATCH merges (securityQuestions field by field) and audits old and new values of each changed field', async () => {
    const res = await call('PATCH', admin, {
      methodsRequired: 2,
      methods: ['email', 'mobileSms', 'securityQuestions'],
      securityQuestions: { toRegister: 5, custom: ['  What was the name of your first robot?  '] },
      helpdeskEmail: 'help@contoso.test',
    });
    expect(res.statusCode).toBe(200);
    const expected = {
      ...DEFAULTS,
      methodsRequired: 2,
      methods: ['email', 'mobileSms', 'securityQuestions'],
      securityQuestions: { ...DEFAULTS.securityQuestions, toRegister: 5, toReset: 3, custom: ['What was the name of your first robot?'] },
      helpdeskEmail: 'help@contoso.test',
    };
    expect(res.json()).toStrictEqual(expected);
    const second = await call('PATCH', admin, { securityQuestions: { toReset: 4 } });
    expect(second.json().securityQuestions).toStrictEqual({ ...DEFAULTS.securityQuestions, toRegister: 5, toReset: 4, custom: ['What was the name of your first robot?'] });
    expect((await call('GET', admin)).json()).toStrictEqual({ ...expected, securityQuestions: { ...expected.securityQuestions, toReset: 4 } });

    const rows = await events();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      activity_display_name: 'Self-service password reset policy changes',
      logged_by_service: 'Self-service Password Management',
      category: 'Policy',
      operation_type: 'Update',
      result: 'success',
    });
    expect(modifiedOf(rows[0]!)).toEqual([
      { displayName: 'methodsRequired', oldValue: '1', newValue: '2' },
      { displayName: 'methods', oldValue: '["email","mobileSms","appCode"]', newValue: '["email","mobileSms","securityQuestions"]' },
      { displayName: 'helpdeskEmail', oldValue: 'null', newValue: '"help@contoso.test"' },
      { displayName: 'securityQuestions.toRegister', oldValue: '3', newValue: '5' },
      { displayName: 'securityQuestions.custom', oldValue: '[]', newValue: '["What was the name of your first robot?"]' },
    ]);
    expect(modifiedOf(rows[1]!)).toEqual([{ displayName: 'securityQuestions.toReset', oldValue: '3', newValue: '4' }]);
    expect(JSON.parse(rows[0]!.initiated_by)).toMatchObject({ user: { userPrincipalName: 'admin@contoso.test' } });
  });

  it('a PATCH that changes nothing records nothing', async () => {
    const before = (await events()).length;
    expect((await call('PATCH', admin, { methodsRequired: 2, securityQuestions: { toReset: 4 } })).statusCode).toBe(200);
    expect((await call('PATCH', admin, {})).statusCode).toBe(200);
    expect(await events()).toHaveLength(before);
  });

  it('a rule between fields blames the field the caller sent', async () => {
    // stored: two methods required; dropping to email + the app breaks the app rule: blame methods
    const res = await call('PATCH', admin, { methodsRequired: 1, methods: ['appCode'] });
    expect(res.json().error.message).toContain("'methods'");
    await call('PATCH', admin, { methodsRequired: 1, methods: ['email', 'appCode'] });
    const raise = await call('PATCH', admin, { methodsRequired: 2 });
    expect(raise.statusCode).toBe(400);
    expect(raise.json().error).toMatchObject({ code: 'request.invalid', details: { field: 'methodsRequired' } });
    const shrink = await call('PATCH', admin, { securityQuestions: { toRegister: 3 } });
    expect(shrink.json().error).toMatchObject({ details: { field: 'securityQuestions.toRegister' } });
  });

  it('selected scopes to one group of this tenant, kept when switching away (as Azure does)', async () => {
    const group = await createGroup(admin, 'SSPR Pilot');
    const res = await call('PATCH', admin, { enabledFor: 'selected', groupId: group.toUpperCase() });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ enabledFor: 'selected', groupId: group });
    const all = await call('PATCH', admin, { enabledFor: 'all' });
    expect(all.json()).toMatchObject({ enabledFor: 'all', groupId: group });
    // explicitly clearing while selected is refused; while 'all' it is allowed
    await call('PATCH', admin, { enabledFor: 'selected' });
    expect((await call('PATCH', admin, { groupId: null })).json().error.details).toMatchObject({ field: 'groupId' });
    expect((await call('PATCH', admin, { enabledFor: 'all', groupId: null })).json()).toMatchObject({ enabledFor: 'all', groupId: null });
  });

  it("another tenant's group is refused, and tenants' policies are their own", async () => {
    const other = await otherTenant('premium');
    const foreign = await createGroup(other.token, 'Foreign Pilot');
    const res = await call('PATCH', admin, { enabledFor: 'selected', groupId: foreign });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toMatchObject({ field: 'groupId' });
    // the other tenant may use its own group, and still sees its own defaults otherwise
    expect((await call('PATCH', other.token, { enabledFor: 'selected', groupId: foreign })).statusCode).toBe(200);
    expect((await call('GET', other.token)).json()).toStrictEqual({ ...DEFAULTS, enabledFor: 'selected', groupId: foreign });
    expect((await call('GET', admin)).json()).toMatchObject({ enabledFor: 'all', methodsRequired: 1, helpdeskEmail: 'help@contoso.test' });
    expect(await events(other.id)).toHaveLength(1);
  });

  it('turning writeback on and off records Azure’s writeback events as well', async () => {
    const before = (await events()).length;
    expect((await call('PATCH', admin, { writebackEnabled: true })).json().writebackEnabled).toBe(true);
    expect((await call('PATCH', admin, { writebackEnabled: false })).json().writebackEnabled).toBe(false);
    const rows = (await events()).slice(before);
    expect(rows.map((r) => [r.activity_display_name, r.category, r.logged_by_service])).toEqual([
      ['Self-service password reset policy changes', 'Policy', 'Self-service Password Management'],
      ['Enable password writeback for directory', 'DirectoryManagement', 'Self-service Password Management'],
      ['Self-service password reset policy changes', 'Policy', 'Self-service Password Management'],
      ['Disable password writeback for directory', 'DirectoryManagement', 'Self-service Password Management'],
    ]);
    expect(modifiedOf(rows[1]!)).toEqual([{ displayName: 'writebackEnabled', oldValue: 'false', newValue: 'true' }]);
    expect(JSON.parse(rows[1]!.target_resources)[0]).toMatchObject({ type: 'Directory', id: ctx.tenant.tenant.id });
  });

  it('edition gates: users need basic or premium (409), writeback needs premium', async () => {
    const free = await otherTenant('free');
    const refused = await call('PATCH', free.token, { enabledFor: 'all' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({ code: 'policy.edition_required', details: { field: 'enabledFor', edition: 'free' } });
    expect(refused.json().error.message).toContain('basic or premium');
    expect((await call('PATCH', free.token, { enabledFor: 'none' })).json().enabledFor).toBe('none');
    expect((await call('PATCH', free.token, { enabledFor: 'selected' })).statusCode).toBe(409);

    const basic = await otherTenant('basic');
    expect((await call('PATCH', basic.token, { enabledFor: 'all', notifyUserOnReset: false })).statusCode).toBe(200);
    const writeback = await call('PATCH', basic.token, { writebackEnabled: true });
    expect(writeback.statusCode).toBe(409);
    expect(writeback.json().error).toMatchObject({ code: 'policy.premium_required', details: { field: 'writebackEnabled' } });
  });

  it('admins only: Security Administrator may, a Helpdesk Administrator and a plain user may not', async () => {
    const security = await userWithRole(ROLE.securityAdministrator);
    expect((await call('GET', security)).statusCode).toBe(200);
    expect((await call('PATCH', security, { reconfirmAfterDays: 90 })).json().reconfirmAfterDays).toBe(90);
    for (const token of [await userWithRole(ROLE.helpdeskAdministrator), await userWithRole(ROLE.passwordAdministrator), await userWithRole(null)]) {
      const res = await call('PATCH', token, { reconfirmAfterDays: 30 });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('auth.forbidden');
      expect((await call('GET', token)).statusCode).toBe(403);
    }
    expect((await ctx.app.inject({ method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await call('GET', admin)).json().reconfirmAfterDays).toBe(90);
  });

  it('an app needs Policy.ReadWrite.AuthenticationMethod', async () => {
    const allowed = await ctx.appToken(['Policy.ReadWrite.AuthenticationMethod']);
    const res = await call('PATCH', allowed, { helpdeskUrl: 'https://help.contoso.test/reset' });
    expect(res.statusCode).toBe(200);
    expect(res.json().helpdeskUrl).toBe('https://help.contoso.test/reset');
    const last = (await events()).at(-1)!;
    expect(JSON.parse(last.initiated_by)).toHaveProperty('app');
    for (const permissions of [['User.ReadWrite.All'], ['Policy.ReadWrite.Authorization']]) {
      expect((await call('GET', await ctx.appToken(permissions))).statusCode).toBe(403);
    }
  });

  it('works with the session cookie only together with its CSRF token', async () => {
    const signIn = await ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: 'admin@contoso.test', password: ADMIN_PASSWORD } });
    expect(signIn.statusCode).toBe(200);
    const cookies = { postern_session: signIn.cookies.find((c) => c.name === 'postern_session')!.value };
    const csrf = signIn.json().csrfToken as string;
    const without = await ctx.app.inject({ method: 'PATCH', url: URL, cookies, payload: { allowUnlockWithoutReset: false } });
    expect(without.statusCode).toBe(403);
    expect(without.json().error.code).toBe('auth.csrf_failed');
    expect((await call('GET', admin)).json().allowUnlockWithoutReset).toBe(true);
    const withToken = await ctx.app.inject({ method: 'PATCH', url: URL, cookies, headers: { 'x-csrf-token': csrf }, payload: { allowUnlockWithoutReset: false } });
    expect(withToken.statusCode).toBe(200);
    expect(withToken.json().allowUnlockWithoutReset).toBe(false);
  });
});
