import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { isSsprEnabledFor } from '../../src/domain/security-info/status.js';
import { ssprPolicyOf } from '../../src/domain/sspr-policy.js';
import { createTenant, systemContext } from '../../src/domain/tenants.js';
import { newCloudUser } from '../../src/domain/users.js';
import { upsertEmailMethod, upsertPhoneMethod, type PhoneType } from '../../src/store/auth-methods.js';
import { insertGroup, insertGroupMember } from '../../src/store/groups.js';
import { insertRoleAssignment, listRoleIdsOfPrincipal } from '../../src/store/role-assignments.js';
import { replaceSecurityAnswers } from '../../src/store/security-questions.js';
import { insertSoftwareOathMethod } from '../../src/store/software-oath.js';
import { findTenantById, updateTenantSettings, type Edition, type TenantSettings } from '../../src/store/tenants.js';
import { insertUser, type User } from '../../src/store/users.js';
import { isAdministrator } from '../../src/domain/security-info/status.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

const URL = '/v1.0/reports/authenticationMethods/userRegistrationDetails';
const BASE = 'http://localhost:8080';
const NOW = '2026-11-25T12:00:00.000Z';

type Method = 'email' | PhoneType | `questions${number}` | 'app' | 'pendingApp';

describe.each(testDialects())('Graph userRegistrationDetails on %s', (dialect) => {
  let ctx: TestContext;
  let reader: string;
  let n = 0;
  const A = () => ctx.tenant.tenant.id;

  async function user(tenantId: string, name: string, methods: Method[] = [], role: string | null = null): Promise<User> {
    n += 1;
    const domain = (await ctx.services.db.selectFrom('tenant_domains').select('domain').where('tenant_id', '=', tenantId).executeTakeFirstOrThrow()).domain;
    const u = newCloudUser(ctx.services, { tenantId, userPrincipalName: `${name}@${domain}`, displayName: `User ${name}` }, 'not-a-hash');
    await insertUser(ctx.services.db, u);
    for (const m of methods) {
      if (m === 'email') await upsertEmailMethod(ctx.services.db, { userId: u.id, address: `${name}@mail.test`, verifiedAt: NOW, createdAt: NOW });
      else if (m === 'mobile' || m === 'alternateMobile' || m === 'office') await upsertPhoneMethod(ctx.services.db, { userId: u.id, phoneType: m, number: '+14255550101', verifiedAt: NOW, createdAt: NOW });
      else if (m === 'app' || m === 'pendingApp') {
        await insertSoftwareOathMethod(ctx.services.db, { id: ctx.services.random.uuid(), userId: u.id, secretSealed: 'x', confirmedAt: m === 'app' ? NOW : null, lastUsedStep: 0, createdAt: NOW });
      } else {
        const count = Number(m.slice('questions'.length));
        const answers = Array.from({ length: count }, (_, i) => ({ position: i, questionId: `q${i}`, customQuestion: null, answerHash: 'h', createdAt: NOW }));
        await replaceSecurityAnswers(ctx.services.db, u.id, answers);
      }
    }
    if (role) await insertRoleAssignment(ctx.services.db, { id: `ra-${n}`, tenantId, principalId: u.id, roleDefinitionId: role, directoryScopeId: '/', createdDateTime: NOW });
    return u;
  }

  async function settings(tenantId: string, patch: Record<string, unknown>): Promise<void> {
    const t = (await findTenantById(ctx.services.db, tenantId))!;
    await updateTenantSettings(ctx.services.db, tenantId, { ...(t.settings as TenantSettings & Record<string, unknown>), ...patch });
  }

  async function tenant(name: string, edition: Edition): Promise<string> {
    const domain = `${name}.test`;
    const t = await createTenant(ctx.services, systemContext(ctx.services), { name, domain, adminUpn: `admin@${domain}`, adminPassword: ADMIN_PASSWORD, edition });
    return t.tenant.id;
  }

  const get = (token: string, query = '') => ctx.app.inject({ method: 'GET', url: `${URL}${query}`, headers: { authorization: `Bearer ${token}` } });
  const list = async (token: string, query = ''): Promise<Record<string, unknown>[]> => {
    const res = await get(token, query);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ value: Record<string, unknown>[] }>().value;
  };
  const upns = async (token: string, filter: string) => (await list(token, `?$filter=${encodeURIComponent(filter)}`)).map((r) => String(r.userPrincipalName).split('@')[0]).sort();

  /** Every page, following @odata.nextLink. */
  async function allPages(token: string, query: string): Promise<{ pages: number; rows: Record<string, unknown>[] }> {
    const rows: Record<string, unknown>[] = [];
    let url: string | undefined = `${URL}${query}`;
    let pages = 0;
    while (url) {
      const res: { statusCode: number; body: string; json(): unknown } = await ctx.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { value: Record<string, unknown>[]; '@odata.nextLink'?: string };
      rows.push(...body.value);
      pages += 1;
      expect(pages).toBeLessThan(20);
      const next: string | undefined = body['@odata.nextLink'];
      if (next) expect(next.startsWith(`${BASE}${URL}?`)).toBe(true);
      url = next?.slice(BASE.length);
    }
    return { pages, rows };
  }

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    await settings(A(), { sspr: { methods: ['email', 'mobileSms', 'securityQuestions', 'appCode'], securityQuestions: { toRegister: 3, toReset: 3, custom: [] } } });
    await user(A(), 'none');
    await user(A(), 'email', ['email']);
    await user(A(), 'emailmobile', ['email', 'mobile']);
    await user(A(), 'questions3', ['questions3']);
    await user(A(), 'questions2', ['questions2']);
    await user(A(), 'app', ['app']);
    await user(A(), 'pendingapp', ['pendingApp']);
    await user(A(), 'altmobile', ['alternateMobile']);
    await user(A(), 'helpdesk', ['email'], ROLE.helpdeskAdministrator);
    await user(A(), 'pwadmin', ['email', 'mobile'], ROLE.passwordAdministrator);
    await user(A(), 'adminquestions', ['email', 'questions3'], ROLE.userAdministrator);
    await user(A(), 'reportsreader', [], ROLE.reportsReader);
    reader = await ctx.userToken('reportsreader@contoso.test');
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('answers the Graph shape for each kind of registration', async () => {
    const rows = await list(reader);
    const by = new Map(rows.map((r) => [String(r.userPrincipalName).split('@')[0], r]));
    const emailMobile = by.get('emailmobile')!;
    expect(emailMobile).toStrictEqual({
      id: emailMobile.id,
      userPrincipalName: 'emailmobile@contoso.test',
      userDisplayName: 'User emailmobile',
      userType: 'member',
      isAdmin: false,
      isSsprRegistered: true,
      isSsprEnabled: true,
      isSsprCapable: true,
      isMfaRegistered: true,
      isMfaCapable: true,
      isPasswordlessCapable: false,
      isSystemPreferredAuthenticationMethodEnabled: false,
      systemPreferredAuthenticationMethods: [],
      userPreferredMethodForSecondaryAuthentication: 'sms',
      methodsRegistered: ['email', 'mobilePhone'],
      lastUpdatedDateTime: NOW,
    });
    const pick = (name: string) => {
      const r = by.get(name)!;
      return [r.isAdmin, r.isSsprRegistered, r.isSsprEnabled, r.isSsprCapable, r.isMfaRegistered, r.methodsRegistered, r.userPreferredMethodForSecondaryAuthentication];
    };
    expect(pick('none')).toEqual([false, false, true, false, false, [], 'none']);
    expect(pick('email')).toEqual([false, true, true, true, false, ['email'], 'none']);
    expect(pick('questions3')).toEqual([false, true, true, true, false, ['securityQuestion'], 'none']);
    // fewer answers than the policy's toRegister: registered as a method, not enough for reset
    expect(pick('questions2')).toEqual([false, false, true, false, false, ['securityQuestion'], 'none']);
    expect(pick('app')).toEqual([false, true, true, true, true, ['softwareOneTimePasscode'], 'oath']);
    expect(pick('pendingapp')).toEqual([false, false, true, false, false, [], 'none']);
    // the alternate mobile is a backup phone, not an SSPR method
    expect(pick('altmobile')).toEqual([false, false, true, false, true, ['alternateMobilePhone'], 'voiceAlternateMobile']);
    // admins need two methods and never count security questions
    expect(pick('helpdesk')).toEqual([true, false, true, false, false, ['email'], 'none']);
    expect(pick('pwadmin')).toEqual([true, true, true, true, true, ['email', 'mobilePhone'], 'sms']);
    expect(pick('adminquestions')).toEqual([true, false, true, false, false, ['email', 'securityQuestion'], 'none']);
    expect(pick('admin')).toEqual([true, false, true, false, false, [], 'none']);
    expect(rows).toHaveLength(13);
  });

  it.each<[string, string[]]>([
    ['isAdmin eq true', ['admin', 'adminquestions', 'helpdesk', 'pwadmin']],
    ['isSsprRegistered eq true', ['app', 'email', 'emailmobile', 'pwadmin', 'questions3']],
    ['isSsprEnabled eq false', []],
    ['isSsprCapable eq true and isAdmin eq false', ['app', 'email', 'emailmobile', 'questions3']],
    ['isMfaRegistered eq true', ['altmobile', 'app', 'emailmobile', 'pwadmin']],
    ['IsMfaCapable eq false and isAdmin eq true', ['admin', 'adminquestions', 'helpdesk']],
    ["userPrincipalName eq 'EMAIL@contoso.test'", ['email']],
    ["userDisplayName eq 'User app'", ['app']],
    ["startswith(userPrincipalName, 'question')", ['questions2', 'questions3']],
    ["startswith(userDisplayName, 'user email') and isMfaRegistered eq true", ['emailmobile']],
    ["userType eq 'member' and isSsprCapable eq true", ['app', 'email', 'emailmobile', 'pwadmin', 'questions3']],
    ["methodsRegistered/any(m: m eq 'email')", ['adminquestions', 'email', 'emailmobile', 'helpdesk', 'pwadmin']],
    ["methodsRegistered/any(x:x eq 'mobilePhone') and isAdmin eq false", ['emailmobile']],
    ["methodsRegistered/any(m: m eq 'securityQuestion') and methodsRegistered/any(m: m eq 'email')", ['adminquestions']],
    ["userDisplayName eq 'methodsRegistered/any(m: m eq ''email'')'", []],
  ])('$filter=%s', async (filter, expected) => {
    expect(await upns(reader, filter)).toEqual([...expected].sort());
  });

  it.each([
    'isAdmin ne true',
    "methodsRegistered eq 'email'",
    "methodsRegistered/any(m: m ne 'email')",
    "methodsRegistered/any(m: n eq 'email')",
    "methodsRegistered/any eq 'email'",
    "startswith(userType, 'mem')",
    "id eq 'x'",
    'isAdmin eq true or isSsprCapable eq true',
  ])('400 Request_UnsupportedQuery for %s', async (filter) => {
    const res = await get(reader, `?$filter=${encodeURIComponent(filter)}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('Request_UnsupportedQuery');
  });

  it('$select projects the properties asked for, and an unknown one is a 400', async () => {
    const res = await get(reader, `?$select=userPrincipalName,isSsprCapable&$filter=${encodeURIComponent("userPrincipalName eq 'email@contoso.test'")}`);
    expect(res.json()).toStrictEqual({
      '@odata.context': `${BASE}/v1.0/$metadata#reports/authenticationMethods/userRegistrationDetails(userPrincipalName,isSsprCapable)`,
      value: [{ userPrincipalName: 'email@contoso.test', isSsprCapable: true }],
    });
    expect((await get(reader, '?$select=password')).statusCode).toBe(400);
    expect((await get(reader, '?$orderby=userPrincipalName')).json().error.code).toBe('Request_UnsupportedQuery');
  });

  it('GET /{id} answers one row; unknown ids and other tenants are 404', async () => {
    const [row] = await list(reader, `?$filter=${encodeURIComponent("userPrincipalName eq 'app@contoso.test'")}`);
    const res = await get(reader, `/${String(row!.id)}?$select=methodsRegistered`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toStrictEqual({ '@odata.context': `${BASE}/v1.0/$metadata#reports/authenticationMethods/userRegistrationDetails(methodsRegistered)/$entity`, methodsRegistered: ['softwareOneTimePasscode'] });
    expect((await get(reader, `/${String(row!.id)}`)).json()).toMatchObject({ id: row!.id, isSsprCapable: true });
    expect((await get(reader, '/00000000-0000-0000-0000-000000000000')).statusCode).toBe(404);
    const other = await tenant(`iso-${dialect}`, 'premium');
    const otherApp = await ctx.appToken(['AuditLog.Read.All'], other);
    expect((await get(otherApp, `/${String(row!.id)}`)).statusCode).toBe(404);
    expect((await list(otherApp)).map((r) => r.userPrincipalName)).toEqual([`admin@iso-${dialect}.test`]);
  });

  it('readers of reports may list; plain users and apps without AuditLog.Read.All get 403', async () => {
    for (const role of [ROLE.securityReader, ROLE.securityAdministrator]) {
      const u = await user(A(), `role${n + 1}`, [], role);
      expect((await get(await ctx.userToken(u.userPrincipalName))).statusCode).toBe(200);
    }
    expect((await get(await ctx.userToken('admin@contoso.test'))).statusCode).toBe(200);
    expect((await get(await ctx.appToken(['AuditLog.Read.All']))).statusCode).toBe(200);
    const plain = await user(A(), 'plainreader');
    const denied = await get(await ctx.userToken(plain.userPrincipalName));
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('Authorization_RequestDenied');
    expect((await get(await ctx.appToken(['User.Read.All', 'Directory.Read.All']))).statusCode).toBe(403);
    expect((await get(await ctx.appToken(['User.Read.All']), '/00000000-0000-0000-0000-000000000000')).statusCode).toBe(403);
  });

  it('the selected-group scope follows nested groups; allowedToUseSSPR false takes admins out', async () => {
    const B = await tenant(`scope-${dialect}`, 'premium');
    const outer = ctx.services.random.uuid();
    const inner = ctx.services.random.uuid();
    for (const id of [outer, inner]) {
      await insertGroup(ctx.services.db, { id, tenantId: B, displayName: id, description: null, mailNickname: null, securityEnabled: true, mailEnabled: false, createdDateTime: NOW });
    }
    const direct = await user(B, 'direct', ['email']);
    const nested = await user(B, 'nested', ['email']);
    await user(B, 'outside', ['email']);
    await insertGroupMember(ctx.services.db, { tenantId: B, groupId: outer, member: { id: direct.id, type: 'user' }, createdAt: NOW });
    await insertGroupMember(ctx.services.db, { tenantId: B, groupId: outer, member: { id: inner, type: 'group' }, createdAt: NOW });
    await insertGroupMember(ctx.services.db, { tenantId: B, groupId: inner, member: { id: nested.id, type: 'user' }, createdAt: NOW });
    await settings(B, { sspr: { enabledFor: 'selected', groupId: outer.toUpperCase() } });
    const app = await ctx.appToken(['AuditLog.Read.All'], B);

    expect(await upns(app, 'isSsprEnabled eq true')).toEqual(['admin', 'direct', 'nested']);
    expect(await upns(app, 'isSsprCapable eq true')).toEqual(['direct', 'nested']);
    expect(await upns(app, 'isSsprRegistered eq true and isSsprEnabled eq false')).toEqual(['outside']);

    // the report agrees with the flow's own check for every user
    const t = (await findTenantById(ctx.services.db, B))!;
    for (const row of await list(app)) {
      const admin = isAdministrator(await listRoleIdsOfPrincipal(ctx.services.db, B, String(row.id)));
      expect(row.isSsprEnabled).toBe(await isSsprEnabledFor(ctx.services.db, t, ssprPolicyOf(t), String(row.id), admin));
    }

    await settings(B, { authorizationPolicy: { allowedToUseSSPR: false } });
    expect(await upns(app, 'isSsprEnabled eq true')).toEqual(['direct', 'nested']);
    expect(await upns(app, 'isAdmin eq true and isSsprEnabled eq false')).toEqual(['admin']);
  });

  it('isAdmin counts roles held through a role-assignable group, for a whole page in one go', async () => {
    const E = await tenant(`viagroup-${dialect}`, 'premium');
    const group = async (assignable: boolean, role: string | null, members: User[]) => {
      const id = ctx.services.random.uuid();
      await insertGroup(ctx.services.db, { id, tenantId: E, displayName: id, description: null, mailNickname: null, securityEnabled: true, mailEnabled: false, createdDateTime: NOW, isAssignableToRole: assignable });
      for (const m of members) await insertGroupMember(ctx.services.db, { tenantId: E, groupId: id, member: { id: m.id, type: 'user' }, createdAt: NOW });
      if (role) await insertRoleAssignment(ctx.services.db, { id: `ra-g-${id}`, tenantId: E, principalId: id, roleDefinitionId: role, directoryScopeId: '/', createdDateTime: NOW });
    };
    const viaGroup = await user(E, 'viagroup', ['email']);
    const viaGroup2 = await user(E, 'viagroup2', []);
    const both = await user(E, 'both', [], ROLE.helpdeskAdministrator);
    const noRoleGroup = await user(E, 'norolegroup', ['email']);
    const readerGroup = await user(E, 'readergroup', []);
    const plainGroup = await user(E, 'plaingroup', []);
    await group(true, ROLE.helpdeskAdministrator, [viaGroup, viaGroup2, both]);
    await group(true, null, [noRoleGroup]);
    await group(true, ROLE.reportsReader, [readerGroup]);
    // a role row on a group that is not role-assignable gives its members nothing
    await group(false, ROLE.userAdministrator, [plainGroup]);
    const app = await ctx.appToken(['AuditLog.Read.All'], E);

    expect(await upns(app, 'isAdmin eq true')).toEqual(['admin', 'both', 'viagroup', 'viagroup2']);
    const one = (await get(app, `/${viaGroup.id}`)).json<Record<string, unknown>>();
    expect(one).toMatchObject({ isAdmin: true, userPrincipalName: viaGroup.userPrincipalName });
    // the report agrees with the per-user check every authorisation decision uses
    for (const row of await list(app)) {
      expect(row.isAdmin, String(row.userPrincipalName)).toBe(isAdministrator(await listRoleIdsOfPrincipal(ctx.services.db, E, String(row.id))));
    }
  });

  it('the free edition enables no user (admins keep their own policy)', async () => {
    const C = await tenant(`free-${dialect}`, 'free');
    await user(C, 'freeuser', ['email']);
    const app = await ctx.appToken(['AuditLog.Read.All'], C);
    expect(await upns(app, 'isSsprRegistered eq true and isSsprEnabled eq false')).toEqual(['freeuser']);
    expect(await upns(app, 'isSsprEnabled eq true')).toEqual(['admin']);
  });

  it('pages of $top=50 follow nextLink with no duplicates and none missing, filtered or not', async () => {
    const D = await tenant(`paging-${dialect}`, 'premium');
    const expected = { registered: new Set<string>(), mobile: new Set<string>(), all: new Set<string>() };
    for (let i = 0; i < 120; i += 1) {
      const methods: Method[] = i % 3 === 0 ? [] : ['email'];
      if (i % 10 === 0) methods.push('mobile');
      const u = await user(D, `p${i}`, methods);
      expected.all.add(u.id);
      if (methods.length > 0) expected.registered.add(u.id);
      if (i % 10 === 0) expected.mobile.add(u.id);
    }
    const app = await ctx.appToken(['AuditLog.Read.All'], D);
    const check = async (query: string, want: Set<string>, pages: number) => {
      const got = await allPages(app, query);
      const ids = got.rows.map((r) => String(r.id));
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(want);
      expect(got.pages).toBe(pages);
    };
    const adminId = (await list(app, `?$filter=${encodeURIComponent('isAdmin eq true')}`)).map((r) => String(r.id));
    await check('?$top=50', new Set([...expected.all, ...adminId]), 3);
    // 84 matches over 121 users: the first page fills inside a batch, the second ends the list
    await check(`?$top=50&$filter=${encodeURIComponent('isSsprRegistered eq true')}`, expected.registered, 2);
    expect(expected.registered.size).toBe(84);
    await check(`?$top=5&$filter=${encodeURIComponent("methodsRegistered/any(m: m eq 'mobilePhone')")}&$select=id`, expected.mobile, 3);
    const first = (await get(app, `?$top=50&$filter=${encodeURIComponent("methodsRegistered/any(m: m eq 'email')")}`)).json<Record<string, string>>();
    expect(decodeURIComponent(first['@odata.nextLink']!)).toContain("$filter=methodsRegistered/any(m: m eq 'email')");
  });
});
