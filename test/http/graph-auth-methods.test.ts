import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { upsertEmailMethod, upsertPhoneMethod } from '../../src/store/auth-methods.js';
import { insertRoleAssignment } from '../../src/store/role-assignments.js';
import { insertSoftwareOathMethod } from '../../src/store/software-oath.js';
import type { User } from '../../src/store/users.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { call, newUser, PASSWORD, SI } from './security-info-helpers.js';

const AT = '2026-11-25T12:00:00.000Z';
/** a stable uuid-shaped id per user */
const oathId = (userId: string) => `0a7${userId.slice(3)}`;

describe.each(testDialects())('Graph authentication methods and the sign-in registration prompt on %s', (dialect) => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext(dialect);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  async function withMethods(): Promise<{ user: User; token: string }> {
    const u = await newUser(ctx, 'graph');
    await upsertEmailMethod(ctx.services.db, { userId: u.user.id, address: 'adele@example.test', verifiedAt: AT, createdAt: AT });
    await upsertPhoneMethod(ctx.services.db, { userId: u.user.id, phoneType: 'mobile', number: '+14255550101', verifiedAt: AT, createdAt: AT });
    await upsertPhoneMethod(ctx.services.db, { userId: u.user.id, phoneType: 'office', number: '+4930123456', verifiedAt: null, createdAt: AT });
    await insertSoftwareOathMethod(ctx.services.db, { id: oathId(u.user.id), userId: u.user.id, secretSealed: ctx.services.secretBox.seal('JBSWY3DPEHPK3PXP'), confirmedAt: AT, lastUsedStep: 0, createdAt: AT });
    return u;
  }

  it('lists the password, email, phones (full numbers, Azure ids) and authenticator for /me, without secrets', async () => {
    const { user, token } = await withMethods();
    const res = await call(ctx, token, 'GET', '/v1.0/me/authentication/methods');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      '@odata.context': `http://localhost:8080/v1.0/$metadata#users('${user.id}')/authentication/methods`,
      value: [
        { '@odata.type': '#microsoft.graph.passwordAuthenticationMethod', id: '28c10230-6103-485e-b985-444c60001490', password: null, createdDateTime: user.lastPasswordChangeDateTime },
        { '@odata.type': '#microsoft.graph.emailAuthenticationMethod', id: '3ddfcfc8-9383-446f-83cc-3ab9be4be18f', emailAddress: 'adele@example.test' },
        { '@odata.type': '#microsoft.graph.phoneAuthenticationMethod', id: '3179e48a-750b-4051-897c-87b9720928f7', phoneNumber: '+1 4255550101', phoneType: 'mobile', smsSignInState: 'notSupported' },
        { '@odata.type': '#microsoft.graph.phoneAuthenticationMethod', id: 'e37fc753-ff3b-4958-9484-eaa9425c82bc', phoneNumber: '+49 30123456', phoneType: 'office', smsSignInState: 'notSupported' },
        { '@odata.type': '#microsoft.graph.softwareOathAuthenticationMethod', id: oathId(user.id), secretKey: null },
      ],
    });
    expect(res.body).not.toContain('JBSWY3DPEHPK3PXP');
    expect((await call(ctx, token, 'GET', '/v1.0/me/authentication/phoneMethods')).json<{ value: { phoneType: string }[] }>().value.map((p: { phoneType: string }) => p.phoneType)).toEqual(['mobile', 'office']);
    expect((await call(ctx, token, 'GET', '/v1.0/me/authentication/emailMethods')).json().value).toHaveLength(1);
    expect((await call(ctx, token, 'GET', '/v1.0/me/authentication/softwareOathMethods')).json().value).toEqual([
      { '@odata.type': '#microsoft.graph.softwareOathAuthenticationMethod', id: oathId(user.id), secretKey: null },
    ]);
    // while the Postern API masks them for the user
    expect((await call(ctx, token, 'GET', SI)).json<{ phones: { number: string }[] }>().phones.map((p: { number: string }) => p.number)).toEqual(['+1 •••• ••• 0101', '+49 •••• ••• 3456']);
  });

  it('lets admins who may reset the user and apps with UserAuthenticationMethod.ReadWrite.All read /users/{id}; nobody else', async () => {
    const { user, token: own } = await withMethods();
    const url = `/v1.0/users/${user.id}/authentication/phoneMethods`;
    const admin = await ctx.userToken('admin@contoso.test');
    const adminView = await call(ctx, admin, 'GET', url);
    expect(adminView.statusCode).toBe(200);
    expect(adminView.json().value[0].phoneNumber).toBe('+1 4255550101');
    expect((await call(ctx, own, 'GET', url)).statusCode).toBe(200);
    expect((await call(ctx, await ctx.appToken(['UserAuthenticationMethod.ReadWrite.All']), 'GET', url)).statusCode).toBe(200);
    expect((await call(ctx, await ctx.appToken(['User.Read.All']), 'GET', url)).statusCode).toBe(403);
    const { token: peer } = await newUser(ctx, 'peer');
    expect((await call(ctx, peer, 'GET', url)).statusCode).toBe(403);
    // a helpdesk admin may not read a global admin's methods
    const { user: helpdesk } = await newUser(ctx, 'helpdesk');
    await insertRoleAssignment(ctx.services.db, { id: `ra-hd-${helpdesk.id}`, tenantId: helpdesk.tenantId, principalId: helpdesk.id, roleDefinitionId: ROLE.helpdeskAdministrator, directoryScopeId: '/', createdDateTime: AT });
    const hd = await ctx.userToken(helpdesk.userPrincipalName);
    expect((await call(ctx, hd, 'GET', url)).statusCode).toBe(200);
    expect((await call(ctx, hd, 'GET', `/v1.0/users/${ctx.tenant.admin.id}/authentication/methods`)).statusCode).toBe(403);
    expect((await call(ctx, admin, 'GET', '/v1.0/users/00000000-0000-0000-0000-000000000000/authentication/methods')).statusCode).toBe(404);
  });

  it('refuses /me with an application token', async () => {
    const app = await ctx.appToken(['UserAuthenticationMethod.ReadWrite.All']);
    const res = await call(ctx, app, 'GET', '/v1.0/me/authentication/methods');
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('Authorization_RequestDenied');
  });

  const signIn = (upn: string, password: string) => ctx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: upn, password } });

  it('tells an unregistered user at web sign-in that registration is required, and stops once registered', async () => {
    const { user, token } = await newUser(ctx, 'prompt');
    const before = await signIn(user.userPrincipalName, PASSWORD);
    expect(before.statusCode).toBe(200);
    expect(before.json()).toMatchObject({ registrationRequired: true, registrationReason: 'notRegistered' });

    await upsertEmailMethod(ctx.services.db, { userId: user.id, address: 'p@example.test', verifiedAt: AT, createdAt: AT });
    // enough methods (pre-populated), but never confirmed by the user: reconfirmation is due
    expect((await signIn(user.userPrincipalName, PASSWORD)).json()).toMatchObject({ registrationRequired: true, registrationReason: 'reconfirm' });

    // a registration through the session cookie + CSRF counts as confirming
    const cookie = before.cookies.find((c) => c.name === 'postern_session')!.value;
    const noCsrf = await ctx.app.inject({ method: 'POST', url: `${SI}/recovery-codes`, cookies: { postern_session: cookie } });
    expect(noCsrf.statusCode).toBe(403);
    const viaSession = await ctx.app.inject({ method: 'POST', url: `${SI}/recovery-codes`, cookies: { postern_session: cookie }, headers: { 'x-csrf-token': before.json().csrfToken } });
    expect(viaSession.statusCode).toBe(201);
    const after = (await signIn(user.userPrincipalName, PASSWORD)).json();
    expect(after.registrationRequired).toBeUndefined();
    expect(after.registrationReason).toBeUndefined();

    // 180 days later (the default) the user is asked to reconfirm
    ctx.clock.advance(180 * 86_400_000);
    expect((await signIn(user.userPrincipalName, PASSWORD)).json()).toMatchObject({ registrationRequired: true, registrationReason: 'reconfirm' });
    // "looks good" restarts the clock, audited
    // (a fresh token: the first one expired during those days)
    expect((await call(ctx, await ctx.userToken(user.userPrincipalName), 'POST', `${SI}/confirm`)).statusCode).toBe(204);
    expect((await call(ctx, token, 'GET', SI)).statusCode).toBe(401);
    expect((await signIn(user.userPrincipalName, PASSWORD)).json().registrationRequired).toBeUndefined();
    const reviewed = await ctx.services.db.selectFrom('audit_events').select('logged_by_service').where('activity_display_name', '=', 'User reviewed security info').where('target_resources', 'like', `%${user.id}%`).execute();
    expect(reviewed).toEqual([{ logged_by_service: 'Authentication Methods' }]);
  });

  it('asks an administrator for two methods', async () => {
    const res = await signIn('admin@contoso.test', ADMIN_PASSWORD);
    expect(res.json()).toMatchObject({ registrationRequired: true, registrationReason: 'notRegistered' });
    await upsertEmailMethod(ctx.services.db, { userId: ctx.tenant.admin.id, address: 'boss@example.test', verifiedAt: AT, createdAt: AT });
    expect((await signIn('admin@contoso.test', ADMIN_PASSWORD)).json()).toMatchObject({ registrationRequired: true, registrationReason: 'notRegistered' });
    await upsertPhoneMethod(ctx.services.db, { userId: ctx.tenant.admin.id, phoneType: 'mobile', number: '+14255550199', verifiedAt: AT, createdAt: AT });
    expect((await signIn('admin@contoso.test', ADMIN_PASSWORD)).json()).toMatchObject({ registrationReason: 'reconfirm' });
  });
});
